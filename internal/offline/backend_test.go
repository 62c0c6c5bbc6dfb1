package offline

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/licet/licet"
)

// A name that resolved to a public address when it was set may resolve
// to a private one later (DNS rebinding): the dialer refuses it at
// connect time, before a byte is sent.
func TestDialerRefusesPrivateAddressesAtConnectTime(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	s := &Service{HTTP: NewHTTPClient(false)}
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	for _, u := range []string{srv.URL + "/x.lic", "http://localhost" + port + "/x.lic"} {
		err := s.uploadTo(context.Background(), "", u, ".upload-1", []byte("doc"))
		var f *Failure
		if !errors.As(err, &f) || f.Category != FailAddress || !strings.Contains(err.Error(), "a loopback address is not allowed as a backend; see --offline-allow-private") {
			t.Errorf("%s: %v; want the connection refused for its address", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the private server got %d requests", hits.Load())
	}
	// With --offline-allow-private the same server is reached.
	s = &Service{HTTP: NewHTTPClient(true), AllowPrivate: true}
	s.call(context.Background(), "", "GET", srv.URL+"/x.lic", nil, nil, 10)
	if hits.Load() != 1 {
		t.Errorf("allowed: %d requests; want 1", hits.Load())
	}
}

// Every address range the issue names is refused, and public ones pass.
func TestRefusal(t *testing.T) {
	s := &Service{}
	for u, want := range map[string]string{
		"http://127.0.0.2/x":        "loopback",
		"http://10.0.0.1/x":         "private",
		"http://[fc00::1]/x":        "private",
		"http://169.254.169.254/x":  "link-local",
		"http://[fe80::1%25eth0]/x": "link-local",
		"http://0.0.0.0/x":          "unspecified",
		"http://[ff02::1]/x":        "multicast",
		"http://93.184.215.14/x":    "",
		"http://[2606:4700::1]/x":   "",
		// Found in review: ranges that are not the internet either.
		"http://[::ffff:127.0.0.1]/x":   "loopback",
		"http://[::ffff:10.1.2.3]/x":    "private",
		"http://0.1.2.3/x":              "this-network",
		"http://100.64.0.1/x":           "shared (CGNAT)",
		"http://100.127.255.254/x":      "shared (CGNAT)",
		"http://[64:ff9b::10.0.0.1]/x":  "private",
		"http://[64:ff9b::7f00:1]/x":    "loopback",
		"http://[::127.0.0.1]/x":        "loopback",
		"http://[2002:7f00:1::]/x":      "loopback",
		"http://100.128.0.1/x":          "",
		"http://[64:ff9b::93b8:d70e]/x": "",
	} {
		err := s.CheckURL(context.Background(), "backendUrl", u)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want) || licet.ErrorCode(err) != licet.EINVALID) {
			t.Errorf("%s: %v; want %q", u, err, want)
		}
	}
}
