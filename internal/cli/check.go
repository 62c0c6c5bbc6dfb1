package cli

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/licet/licet/client"
	"github.com/licet/licet/protocol"
)

// Exit codes of licet check.
const (
	exitLicensed    = 0
	exitNotLicensed = 1
	exitUndecided   = 3
)

// errExit ends a command with a given exit code after it printed its own
// output.
type errExit struct {
	code int
	msg  string
}

func (e errExit) Error() string { return e.msg }

// checkDevice acts as a device: the client package's whole check order.
func (p *Program) checkDevice(ctx context.Context, args []string) error {
	fs := p.flags("check")
	primary := fs.String("server", "http://127.0.0.1:8080", "the primary licensing server")
	backup := fs.String("backup", "", "the backup licensing server")
	org := fs.String("org", "", "OrganizationId")
	user := fs.String("user", "", "UserId")
	device := fs.String("device", "", "DeviceId")
	orgURL := fs.String("url", "", "OrganizationUrl (also where the offline license is looked for)")
	orgName := fs.String("org-name", "", "OrganizationName")
	version := fs.String("app-version", "", "Version")
	edition := fs.String("edition", "", "Edition")
	offlineURL := fs.String("offline-url", "", "where the offline license is (default <url>/licet-offline.lic)")
	keyFile := fs.String("key", "", "PEM file of the trusted public key(s) (default: fetch once over https and pin)")
	storePath := fs.String("store", "", "the device's encrypted local store file (default: none)")
	storeKeyFile := fs.String("store-key-file", "", "file holding the store's 32-byte key, hex or base64 (or LICET_STORE_KEY)")
	insecure := fs.Bool("insecure-key-fetch", false, "allow fetching the keys over plain http (testing only)")
	stepTimeout := fs.Duration("step-timeout", 5*time.Second, "time for each source, from connecting to the answer")
	connectTimeout := fs.Duration("connect-timeout", 3*time.Second, "time to connect to a source")
	deadline := fs.Duration("deadline", 15*time.Second, "time for the whole check")
	asJSON := fs.Bool("json", false, "print the outcome as JSON")
	at := fs.String("at", "", "the device's clock reads this time, RFC 3339 (default now)")
	maxLease := fs.Duration("max-lease", protocol.DefaultLeaseLength, "the longest lease believed: the server's --lease-duration")
	if err := fs.parse(args); err != nil {
		return err
	}
	for name, v := range map[string]string{"org": *org, "user": *user} {
		if _, err := guid(name, v); err != nil {
			return err
		}
	}
	if *device == "" {
		return usagef("--device is required")
	}
	now, err := p.at(*at)
	if err != nil {
		return err
	}
	if *maxLease < time.Minute || *maxLease > protocol.MaxLeaseLength {
		return usagef("--max-lease must be between 1m and %s", protocol.MaxLeaseLength)
	}
	cfg := client.Config{Primary: *primary, Backup: *backup, OfflineURL: *offlineURL, AllowInsecureKeyFetch: *insecure,
		StepTimeout: *stepTimeout, ConnectTimeout: *connectTimeout, Deadline: *deadline, Now: now, MaxLease: *maxLease,
		Request: client.Request{OrganizationID: *org, UserID: *user, DeviceID: *device, OrganizationURL: *orgURL,
			OrganizationName: *orgName, Version: *version, Edition: *edition}}
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		if cfg.Keys, err = protocol.ParsePublicKeys(b); err != nil {
			return fmt.Errorf("--key: %v", err)
		}
	}
	if *storePath != "" {
		key, err := p.storeKey(*storeKeyFile)
		if err != nil {
			return err
		}
		if cfg.Store, err = client.OpenStore(*storePath, key); err != nil {
			return err
		}
	}
	o, err := client.New(cfg).Check(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		p.printJSON(o)
	} else {
		fmt.Fprintf(p.Stdout, "%s (%s) from %s", o.Status, dash(o.LicenseType), o.Source)
		if !o.Expires.IsZero() {
			fmt.Fprintf(p.Stdout, ", until %s", o.Expires.UTC().Format(time.RFC3339))
		}
		fmt.Fprintln(p.Stdout)
		if o.Message != "" {
			fmt.Fprintf(p.Stdout, "  %s\n", o.Message)
		}
		for _, s := range o.Steps {
			fmt.Fprintf(p.Stdout, "  %s: %s\n", s.Source, s.Reason)
		}
	}
	switch {
	case o.Licensed:
		return nil
	case o.Decided():
		return errExit{exitNotLicensed, "not licensed: " + o.Status}
	}
	return errExit{exitUndecided, "could not decide: no licensing server, offline license or stored lease answered"}
}

// at returns the clock a device command runs on: the program's, or the
// fixed time --at names.
func (p *Program) at(v string) (func() time.Time, error) {
	if v == "" {
		return p.Clock.Now, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, usagef("--at %q is not an RFC 3339 time (like 2026-03-01T08:00:00Z)", v)
	}
	return func() time.Time { return t }, nil
}

// storeKey reads the local store's key: 32 bytes as hex or base64.
func (p *Program) storeKey(file string) ([]byte, error) {
	v := p.Getenv("LICET_STORE_KEY")
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		v = string(b)
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, usagef("--store needs a key: --store-key-file or LICET_STORE_KEY")
	}
	if b, err := hex.DecodeString(v); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(v); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, errors.New("the store key must be 32 bytes, hex or base64")
}
