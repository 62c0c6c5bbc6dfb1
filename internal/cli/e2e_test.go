package cli_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/cli"
	"github.com/licet/licet/internal/storetest"
	_ "modernc.org/sqlite"
)

// server is the real licet program serving on 127.0.0.1:0 in-process, with
// a clock the test moves.
type server struct {
	t     testing.TB
	dir   string
	url   string
	clock *storetest.Clock
	logs  *syncBuffer
	stop  func()
	kill  func(os.Signal) // a process started by startProcess: send a signal, wait for the exit
	pid   int             // a process started by startProcess
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// start runs "licet serve" on dir (a new temporary folder when "").
func start(t testing.TB, dir string, clock *storetest.Clock, flags ...string) *server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if clock == nil {
		clock = storetest.NewClock(time.Now().UTC().Truncate(time.Second))
	}
	s := &server{t: t, dir: dir, clock: clock, logs: &syncBuffer{}}
	addr := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	p := &cli.Program{Stdout: io.Discard, Stderr: s.logs, Clock: clock, OnListen: func(a string) { addr <- a }}
	go func() {
		done <- p.Run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--data", dir}, flags...))
	}()
	select {
	case a := <-addr:
		s.url = "http://" + a
	case code := <-done:
		cancel()
		t.Fatalf("serve exited %d:\n%s", code, s.logs)
	case <-time.After(time.Minute): // a start takes seconds under -race on a loaded machine
		cancel()
		t.Fatal("serve did not start")
	}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			// Connections the client opened but never used count as busy
			// for five seconds in a graceful shutdown: close them first.
			http.DefaultTransport.(*http.Transport).CloseIdleConnections()
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve exited %d:\n%s", code, s.logs)
			}
		})
	}
	t.Cleanup(s.stop)
	return s
}

// licet runs a CLI command against the server.
func (s *server) licet(args ...string) (string, error) {
	var out, errb bytes.Buffer
	env := map[string]string{"LICET_SERVER": s.url, "LICET_TOKEN_FILE": filepath.Join(s.dir, "operator-token")}
	p := &cli.Program{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	if code := p.Run(context.Background(), args); code != 0 {
		return out.String(), fmt.Errorf("exit %d: %s", code, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func (s *server) mustLicet(args ...string) string {
	s.t.Helper()
	out, err := s.licet(args...)
	if err != nil {
		s.t.Fatalf("licet %s: %v", strings.Join(args, " "), err)
	}
	return out
}

type answer struct {
	HTTP        int
	Status      licet.Status `json:"status"`
	Licensed    bool         `json:"licensed"`
	LicenseType string       `json:"licenseType"`
	Message     string       `json:"message"`
	Lease       string       `json:"lease"`
	Signature   string       `json:"signature"`
	KeyID       string       `json:"keyId"`
	Error       struct{ Code, Message string }
}

// check posts a JSON license check.
func (s *server) check(org, user string) answer {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"organizationId": org, "userId": user, "deviceId": "dev-" + user, "version": "6.1.0.0"})
	return s.post("application/json", body)
}

func (s *server) post(ctype string, body []byte) answer {
	s.t.Helper()
	resp, err := http.Post(s.url+"/v1/license/check", ctype, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var a answer
	a.HTTP = resp.StatusCode
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(b, &a)
		json.Unmarshal(b, &e)
		a.Error = e.Error
	} else if err := xml.Unmarshal(b, &a.Error); err != nil {
		s.t.Fatalf("answer in %s is neither JSON nor an XML Error: %s", resp.Header.Get("Content-Type"), b)
	}
	return a
}

// lease decodes and verifies an answer's lease with the server's published key.
func (s *server) lease(a answer) licet.Lease {
	s.t.Helper()
	payload, err := base64.StdEncoding.DecodeString(a.Lease)
	if err != nil {
		s.t.Fatal(err)
	}
	sig, _ := base64.StdEncoding.DecodeString(a.Signature)
	if !ed25519.Verify(s.publicKey(a.KeyID), payload, sig) {
		s.t.Fatalf("lease signature does not verify: %s", payload)
	}
	var l licet.Lease
	if err := json.Unmarshal(payload, &l); err != nil {
		s.t.Fatal(err)
	}
	return l
}

func (s *server) publicKey(kid string) ed25519.PublicKey {
	s.t.Helper()
	resp, err := http.Get(s.url + "/v1/keys")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var keys struct {
		Keys []struct{ ID, PublicKeyPem string }
	}
	json.NewDecoder(resp.Body).Decode(&keys)
	for _, k := range keys.Keys {
		if k.ID == kid {
			blk, _ := pem.Decode([]byte(k.PublicKeyPem))
			pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				s.t.Fatal(err)
			}
			return pub.(ed25519.PublicKey)
		}
	}
	s.t.Fatalf("key %s not published", kid)
	return nil
}

func guid(kind byte, n int) string { return storetest.GUID(kind, n) }

// newOrg creates an organization with seats of Standard through the CLI.
func (s *server) newOrg(n, seats int, settings ...string) string {
	org := guid('o', n)
	s.mustLicet("org", "create", "--id", org, "--name", fmt.Sprintf("org%d", n), "--url", "https://crm.example.net")
	if seats > 0 {
		s.mustLicet("pool", "add", "--org", org, "--type", "Standard", "--seats", fmt.Sprint(seats))
	}
	if len(settings) > 0 {
		s.mustLicet(append([]string{"org", "set", "--org", org}, settings...)...)
	}
	return org
}

func (s *server) orgShow(org string) map[string]licet.SeatCount {
	var d struct{ Seats []licet.SeatCount }
	if err := json.Unmarshal([]byte(s.mustLicet("org", "show", "--org", org, "--json")), &d); err != nil {
		s.t.Fatal(err)
	}
	out := map[string]licet.SeatCount{}
	for _, c := range d.Seats {
		out[c.LicenseType] = c
	}
	return out
}

func jsonDecode(resp *http.Response, v any) {
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(v)
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
}
