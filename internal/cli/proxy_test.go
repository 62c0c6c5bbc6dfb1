package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Behind a reverse proxy every check comes from the proxy's address. With
// --trusted-proxies naming it, each client's address (X-Forwarded-For)
// gets its own new-device bucket and its own log entry; from a peer that
// is not named, the header changes nothing, so a client cannot write
// itself a fresh bucket.
func TestTrustedProxiesNameTheClient(t *testing.T) {
	// --rate-new-ip 3: bursts of 10 checks from devices without a license.
	limits := []string{"--rate-new-ip", "3", "--rate-org", "0", "--rate-admissions", "0"}
	n := 0
	checkFrom := func(s *server, xff string) int {
		t.Helper()
		n++
		// An organization nobody created: only the per-address limit applies.
		body, _ := json.Marshal(map[string]string{"organizationId": guid('o', 1000+n), "userId": guid('u', n), "deviceId": fmt.Sprintf("proxy-%d", n)})
		req, _ := http.NewRequest("POST", s.url+"/v1/license/check", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	spend := func(s *server, xff string) {
		t.Helper()
		for i := range 10 {
			if code := checkFrom(s, xff); code == http.StatusTooManyRequests {
				t.Fatalf("check %d from %q: 429 before the burst of 10 was spent", i+1, xff)
			}
		}
		if code := checkFrom(s, xff); code != http.StatusTooManyRequests {
			t.Fatalf("the 11th check from %q: %d; want 429", xff, code)
		}
	}

	behind := start(t, "", nil, append(limits, "--trusted-proxies", "127.0.0.1, ::1")...)
	spend(behind, "198.51.100.77, 203.0.113.1") // the left entry is the client's own claim
	if code := checkFrom(behind, "198.51.100.78, 203.0.113.1"); code != http.StatusTooManyRequests {
		t.Errorf("another claim left of the same client: %d; want 429 (the proxy's entry counts)", code)
	}
	if code := checkFrom(behind, "203.0.113.2"); code == http.StatusTooManyRequests {
		t.Errorf("another client behind the proxy was refused: its address has a bucket of its own")
	}
	if code := checkFrom(behind, ""); code == http.StatusTooManyRequests {
		t.Errorf("the proxy's own check was refused: its address has a bucket of its own")
	}
	// Request lines are written in batches: wait for all 14.
	lines := func(s *server, want int) []requestLine {
		t.Helper()
		var got []requestLine
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			got = got[:0]
			for line := range strings.Lines(s.logs.String()) {
				var l requestLine
				if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request" {
					got = append(got, l)
				}
			}
			if len(got) >= want {
				break
			}
		}
		if len(got) != want {
			t.Fatalf("%d request lines logged; want %d:\n%s", len(got), want, s.logs)
		}
		return got
	}
	var vias []string
	for _, l := range lines(behind, 14) {
		if l.Remote == "203.0.113.2" && strings.HasPrefix(l.Via, "127.0.0.1:") {
			vias = append(vias, l.Via)
		}
		if l.Remote == "127.0.0.1" || (strings.HasPrefix(l.Remote, "127.0.0.1:") && l.Via != "") {
			t.Errorf("request line %+v: the proxy's own check names no client", l)
		}
	}
	if len(vias) != 1 {
		t.Errorf("request lines with remote 203.0.113.2 via 127.0.0.1:…: %d; want 1:\n%s", len(vias), behind.logs)
	}

	// A peer that is not a named proxy: X-Forwarded-For is its own claim.
	direct := start(t, "", nil, append(limits, "--trusted-proxies", "10.0.0.0/8")...)
	spend(direct, "203.0.113.1")
	if code := checkFrom(direct, "203.0.113.2"); code != http.StatusTooManyRequests {
		t.Errorf("a client that is no proxy wrote itself a new address: %d; want 429", code)
	}
	for _, l := range lines(direct, 12) {
		if !strings.HasPrefix(l.Remote, "127.0.0.1:") || l.Via != "" {
			t.Errorf("request line %+v: the log believed a client's X-Forwarded-For", l)
		}
	}
	// A line names a proxy only when one forwarded the request.
	for line := range strings.Lines(direct.logs.String()) {
		if strings.Contains(line, `"via"`) {
			t.Errorf("a direct request's line has a via: %s", line)
		}
	}
}

type requestLine struct{ Msg, Remote, Via string }
