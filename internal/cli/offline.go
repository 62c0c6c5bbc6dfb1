package cli

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/protocol"
)

type offlineResult struct {
	licet.OfflineIssue
	Location string `json:"location"`
}

func (p *Program) offlineIssue(ctx context.Context, args []string) error {
	c := p.opCmd("offline issue", withOrg)
	out := c.String("out", "", "also write the document to this file")
	if err := c.parse(args); err != nil {
		return err
	}
	org := c.org
	var res offlineResult
	if err := c.call(ctx, "POST", "/v1/orgs/"+org+"/offline/issue", nil, &res); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "issued offline license %d for %s: %s, valid until %s\n", res.Serial, org, plural(res.Users, "user", "users"), res.ValidUntil.UTC().Format(time.RFC3339))
	if *out != "" {
		resp, err := c.api.get(ctx, "/v1/orgs/"+org+"/offline/license")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := writeAtomic(*out, resp); err != nil {
			return err
		}
		fmt.Fprintf(p.Stdout, "wrote %s\n", *out)
	}
	switch res.UploadStatus {
	case "uploaded":
		fmt.Fprintf(p.Stdout, "saved to the organization's backend; apps read it at %s\n", res.Location)
	case "failed":
		return fmt.Errorf("offline license %d was issued but saving it to the backend failed: %s", res.Serial, res.UploadDetail)
	default:
		fmt.Fprintf(p.Stdout, "no backend configured: place the file at %s\n", res.Location)
	}
	return nil
}

func (p *Program) offlineSet(ctx context.Context, args []string) error {
	c := p.opCmd("offline set", withOrg)
	backend := c.String("backend", "", `the file's URL on the organization's WebDAV server ("" for none)`)
	user := c.String("backend-user", "", "basic auth user for the backend")
	passFile := c.String("backend-password-file", "", "file holding the backend password")
	tokenFile := c.String("backend-token-file", "", "file holding a bearer token for the backend")
	clear := c.Bool("clear-credentials", false, "remove the backend credentials")
	days := c.Int("valid-days", 0, "how many days an issued offline license is valid")
	location := c.String("location", "", `where apps read the license ("" for <organization URL>/licet-offline.lic)`)
	autoAllowed := c.Bool("auto-update-allowed", false, "the vendor allows automatic Update (operator only)")
	autoUpdate := c.Bool("auto-update", false, "reissue and save the file automatically after changes and before it expires")
	if err := c.parse(args); err != nil {
		return err
	}
	f := c.flagSet
	req := payload.Offline{BackendURL: ifSet(f, "backend", backend), Location: ifSet(f, "location", location), ValidDays: ifSet(f, "valid-days", days),
		AutoAllowed: ifSet(f, "auto-update-allowed", autoAllowed), AutoUpdate: ifSet(f, "auto-update", autoUpdate)}
	changed := req != (payload.Offline{})
	readSecret := func(path string) (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	var err error
	switch {
	case *clear:
		req.ClearCredentials, changed = true, true
	case *tokenFile != "":
		if req.BearerToken, err = readSecret(*tokenFile); err != nil {
			return err
		}
		changed = true
	case *user != "":
		if *passFile == "" {
			return usagef("--backend-user needs --backend-password-file")
		}
		if req.Password, err = readSecret(*passFile); err != nil {
			return err
		}
		req.Username, changed = *user, true
	}
	if !changed {
		return usagef("nothing to change")
	}
	var v payload.OfflineView
	if err := c.call(ctx, "PUT", "/v1/orgs/"+c.org+"/offline", req, &v); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "offline settings of %s saved\n", c.org)
	return nil
}

func (p *Program) offlineShow(ctx context.Context, args []string) error {
	c := p.opCmd("offline show", withOrg|withJSON)
	if err := c.parse(args); err != nil {
		return err
	}
	var v payload.OfflineView
	if err := c.call(ctx, "GET", "/v1/orgs/"+c.org+"/offline", nil, &v); err != nil {
		return err
	}
	if *c.asJSON {
		return p.printJSON(v)
	}
	w := table(p.Stdout)
	fmt.Fprintf(w, "Offline licenses\t%s\n", onOff(v.Enabled))
	fmt.Fprintf(w, "Backend\t%s (credentials: %s)\n", dash(v.Backend), map[bool]string{true: "set", false: "none"}[v.HasAuth])
	where := v.DeviceLocation
	if v.Location == "" {
		where += " (the default, beside the organization's URL)"
	}
	fmt.Fprintf(w, "Apps read it at\t%s\n", where)
	fmt.Fprintf(w, "Valid for\t%s\n", plural(v.ValidDays, "day", "days"))
	auto := "not allowed by the vendor"
	if v.AutoAllowed {
		auto = onOff(v.AutoUpdate)
	}
	fmt.Fprintf(w, "Automatic Update\t%s\n", auto)
	if c := v.Changes; c != nil {
		if c.Serial == 0 {
			fmt.Fprintf(w, "Changes\tnone issued yet: %s would be in the first\n", plural(c.Licensed, "licensed user", "licensed users"))
		} else {
			fmt.Fprintf(w, "Changes since the last Update\t%d licensed, %d unassigned, %d disabled (offline license %d, %s)\n",
				c.Licensed, c.Unassigned, c.Disabled, c.Serial, c.IssuedAt.UTC().Format(time.RFC3339))
		}
		if c.AutoAssign {
			fmt.Fprintf(w, "\tlicenses are assigned automatically: users assigned after the last Update are not in the file\n")
		}
	}
	if t := v.LastTest; t != nil {
		fmt.Fprintf(w, "Last backend test\t%s by %s: %s\n", t.At.UTC().Format(time.RFC3339), t.By, map[bool]string{true: "passed", false: "failed"}[t.OK])
	}
	w.Flush()
	if len(v.History) > 0 {
		fmt.Fprintln(p.Stdout)
		w = table(p.Stdout)
		fmt.Fprintln(w, "SERIAL\tISSUED\tBY\tUSERS\tVALID UNTIL\tUPLOAD")
		for _, h := range v.History {
			up := dash(h.UploadStatus)
			if h.UploadDetail != "" {
				up += ": " + h.UploadDetail
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\n", h.Serial, h.IssuedAt.UTC().Format(time.RFC3339), h.IssuedBy, h.Users, h.ValidUntil.UTC().Format(time.RFC3339), up)
		}
		w.Flush()
	}
	return nil
}

// offlineTest tests the organization's backend and prints each step; it
// fails when a step that matters failed.
func (p *Program) offlineTest(ctx context.Context, args []string) error {
	c := p.opCmd("offline test", withOrg|withJSON)
	if err := c.parse(args); err != nil {
		return err
	}
	var rep licet.OfflineTest
	if err := c.call(ctx, "POST", "/v1/orgs/"+c.org+"/offline/test", nil, &rep); err != nil {
		return err
	}
	err := c.jsonOr(rep, func() error {
		w := table(p.Stdout)
		for _, st := range rep.Steps {
			res := "ok"
			if st.Skipped {
				res = "skipped"
			} else if !st.OK {
				res = "FAILED"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", st.Name, res, st.Detail)
		}
		w.Flush()
		return nil
	})
	if err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("the backend test failed")
	}
	return nil
}

// offlineVerify checks a file as a device would, without the service:
// exit 0 only when the user is licensed by it.
func (p *Program) offlineVerify(ctx context.Context, args []string) error {
	c := p.opCmd("offline verify", noToken)
	fs := c.flagSet
	org := fs.String("org", "", "the organization's GUID")
	u := fs.String("url", "", "the organization's URL")
	user := fs.String("user", "", "the user's GUID")
	keyFile := fs.String("key", "", "PEM file of the trusted public key(s) (default: fetch from --server)")
	drift := fs.Duration("drift", 5*time.Minute, "tolerated clock difference")
	at := fs.String("at", "", "verify as of this time, RFC 3339 (default now)")
	insecure := fs.Bool("insecure-key-fetch", false, "allow fetching the keys from a plain http --server (testing only)")
	// The file may come before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.parseWithArgs(args); err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if file == "" {
		return usagef("give the offline license FILE")
	}
	if _, err := guid("org", *org); err != nil {
		return err
	}
	if _, err := guid("user", *user); err != nil {
		return err
	}
	if *u == "" {
		return usagef("--url is required")
	}
	clock, err := p.at(*at)
	if err != nil {
		return err
	}
	now := clock()
	doc, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var keys map[string]ed25519.PublicKey
	var revoked []string
	if *keyFile != "" {
		pem, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		if keys, err = protocol.ParsePublicKeys(pem); err != nil {
			return fmt.Errorf("public keys: %v", err)
		}
	} else {
		// The server's signed key set: its keys, and the revoked IDs a
		// device refuses.
		if err := c.connect(); err != nil {
			return err
		}
		if !strings.HasPrefix(c.api.base, "https://") && !*insecure {
			return usagef("--server %s is not https: keys fetched over plain http are whoever answers; give --key FILE (from licet keys public) or an https --server", c.api.base)
		}
		var out payload.Keys
		if err := c.call(ctx, "GET", "/v1/keys", nil, &out); err != nil {
			return err
		}
		ks, err := protocol.VerifyKeySet(out.KeySet, nil, nil)
		if err != nil {
			return fmt.Errorf("public keys: %v", err)
		}
		keys, revoked = ks.PublicKeys(), ks.RevokedIDs()
	}
	if kid, _, _, err := protocol.SplitOffline(doc); err == nil && slices.Contains(revoked, kid) {
		return fmt.Errorf("offline license: %w (key %s)", protocol.ErrRevokedKey, kid)
	}
	l, typ, err := protocol.VerifyOffline(doc, keys, protocol.OfflineCheck{Org: *org, URL: *u, User: *user, Now: now, Drift: *drift})
	if err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "licensed: %s holds %s license in offline license %d of %s, valid until %s\n", strings.ToUpper(*user), licet.Article(typ), l.Serial, l.Org, l.ValidUntil)
	return nil
}

// plural says "1 user", "2 users".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
