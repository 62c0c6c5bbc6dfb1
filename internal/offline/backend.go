package offline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/licet/licet"
)

// Why a backend call failed. The administrator sees one of these and the
// status code, never text the other side sent: a backend's banner, a
// reason phrase or "connection refused" would make licet a scanner's
// oracle for whatever the URL names.
const (
	FailUnreachable = "unreachable"
	FailTimeout     = "timed out"
	FailTLS         = "TLS"
	FailCredentials = "refused credentials"
	FailNotFound    = "not found"
	FailServer      = "server error"
	FailRedirect    = "redirected"
	FailNotHTTP     = "not HTTP"
	FailRejected    = "rejected"
	FailAddress     = "address refused"
	FailReadBack    = "read back differs"
)

var failText = map[string]string{
	FailUnreachable: "the backend cannot be reached",
	FailTimeout:     "the backend did not answer in time",
	FailTLS:         "the TLS connection to the backend failed (certificate or handshake)",
	FailCredentials: "the backend refused the credentials",
	FailNotFound:    "the backend answered not found",
	FailServer:      "the backend had a server error",
	FailRedirect:    "the backend redirected (licet never follows redirects: give the final URL)",
	FailNotHTTP:     "the backend does not speak HTTP",
	FailRejected:    "the backend rejected the request",
	FailReadBack:    "the file read back is not the one sent",
}

// Failure is why one call to a backend failed, in licet's words only.
type Failure struct {
	Step     string // the method: PUT, MOVE, GET…
	URL      string // the URL called, without credentials
	Category string
	Status   int    // the HTTP status, when an answer came
	why      string // for FailAddress: which range
}

func (f *Failure) Error() string {
	msg := failText[f.Category]
	if f.Category == FailAddress {
		msg = f.why + " is not allowed as a backend; see --offline-allow-private"
	}
	if f.Status != 0 {
		return fmt.Sprintf("%s (%s %s: HTTP %d)", msg, f.Step, f.URL, f.Status)
	}
	return fmt.Sprintf("%s (%s %s)", msg, f.Step, f.URL)
}

// Refusal names the range an address is in when backends may not be
// there ("a loopback address"), or "" when it may be used.
func Refusal(ip netip.Addr) string {
	ip = ip.Unmap()
	// Addresses that carry an IPv4 address inside (NAT64, IPv4-compatible,
	// 6to4) are judged by the address they carry: a NAT64 gateway would
	// otherwise take licet to 64:ff9b::10.0.0.1's private 10.0.0.1.
	if ip.Is6() {
		a := ip.As16()
		var v4 [4]byte
		switch {
		case nat64.Contains(ip), ipv4Compatible.Contains(ip) && ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback():
			copy(v4[:], a[12:])
		case sixToFour.Contains(ip):
			copy(v4[:], a[2:6])
		}
		if v4 != [4]byte{} {
			if why := Refusal(netip.AddrFrom4(v4)); why != "" {
				return why
			}
		}
	}
	switch {
	case ip.Is4() && thisNetwork.Contains(ip) && !ip.IsUnspecified():
		return "a this-network address (0.0.0.0/8)"
	case ip.Is4() && sharedCGNAT.Contains(ip):
		return "a shared (CGNAT) address (100.64.0.0/10)"
	case !ip.IsValid():
		return "an invalid address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast(), ip.IsLinkLocalMulticast():
		return "a multicast address"
	case ip.IsPrivate():
		return "a private address"
	case ip.Is4() && ip.As4() == [4]byte{255, 255, 255, 255}:
		return "a broadcast address"
	}
	return ""
}

var (
	thisNetwork    = netip.MustParsePrefix("0.0.0.0/8")
	sharedCGNAT    = netip.MustParsePrefix("100.64.0.0/10")
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	ipv4Compatible = netip.MustParsePrefix("::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
)

type refused struct{ why string }

func (r *refused) Error() string { return r.why + " is not allowed as a backend" }

// NewHTTPClient is the client that talks to backends: no redirects, no
// proxy from the environment, bounded times, and (unless allowPrivate) a
// dialer that refuses private destinations at connect time, after DNS, so
// that a name resolving elsewhere later cannot get around the check made
// when the URL was set.
func NewHTTPClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &refused{"an unparsable address"}
			}
			if why := Refusal(ap.Addr()); why != "" {
				return &refused{why}
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  20 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
		MaxIdleConns:           10,
		IdleConnTimeout:        30 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// CheckURL refuses a backend or device URL whose host is, or resolves to,
// an address backends may not have. A name that does not resolve now is
// accepted: the dialer checks again at every connection.
func (s *Service) CheckURL(ctx context.Context, name, raw string) error {
	if s.AllowPrivate {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return licet.Errorf(licet.EINVALID, "%s cannot be parsed", name)
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		addrs, _ = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	for _, ip := range addrs {
		if why := Refusal(ip); why != "" {
			return licet.Errorf(licet.EINVALID, "%s: %s is not allowed as a backend; see --offline-allow-private", name, why)
		}
	}
	return nil
}

// call makes one request and classifies its failure. The body of the
// answer is read up to max bytes and returned on success.
func (s *Service) call(ctx context.Context, auth, method, u string, body []byte, h http.Header, max int64) ([]byte, error) {
	shown := redact(u)
	fail := func(cat string, status int) error {
		return &Failure{Step: method, URL: shown, Category: cat, Status: status}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fail(FailUnreachable, 0)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	setAuth(req, auth)
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return nil, classify(err, method, shown)
	}
	defer resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 300 && c < 400:
		return nil, fail(FailRedirect, c)
	case c == http.StatusUnauthorized || c == http.StatusForbidden:
		return nil, fail(FailCredentials, c)
	case c == http.StatusNotFound || c == http.StatusGone:
		return nil, fail(FailNotFound, c)
	case c >= 500:
		return nil, fail(FailServer, c)
	case c >= 400 || c < 200:
		return nil, fail(FailRejected, c)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max))
	if err != nil {
		return nil, classify(err, method, shown)
	}
	return b, nil
}

func classify(err error, method, shown string) error {
	f := &Failure{Step: method, URL: shown}
	var ref *refused
	var ne net.Error
	var dns *net.DNSError
	var op *net.OpError
	var rh tls.RecordHeaderError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var alert tls.AlertError
	switch {
	case errors.As(err, &ref):
		f.Category, f.why = FailAddress, ref.why
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		f.Category = FailTimeout
	case errors.As(err, &dns):
		f.Category = FailUnreachable
	case errors.As(err, &op) && op.Op == "dial":
		f.Category = FailUnreachable
	case errors.As(err, &rh), errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &hn), errors.As(err, &ci), errors.As(err, &alert):
		f.Category = FailTLS
	default:
		f.Category = FailNotHTTP
	}
	return f
}

func setAuth(req *http.Request, auth string) {
	kind, secret, ok := cutSpace(auth)
	if !ok {
		return
	}
	switch kind {
	case "basic":
		user, pass, _ := cutColon(secret)
		req.SetBasicAuth(user, pass)
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+secret)
	}
}

// upload writes the document to a temporary name beside the target, then
// moves it over the target in one WebDAV MOVE, so readers see the old
// document or the new one, never a part; then reads the target back and
// accepts only the bytes it sent. A failure leaves the target as it was
// (or as the backend made it) and removes the temporary file when it can.
func (s *Service) upload(ctx context.Context, cfg *licet.OfflineConfig, suffix string, doc []byte) error {
	return s.uploadTo(ctx, cfg.Auth, cfg.Backend, suffix, doc)
}

func (s *Service) uploadTo(ctx context.Context, auth, target, suffix string, doc []byte) error {
	tmp := withSuffix(target, suffix)
	if _, err := s.call(ctx, auth, "PUT", tmp, doc, nil, 64<<10); err != nil {
		return err
	}
	_, err := s.call(ctx, auth, "MOVE", tmp, nil, http.Header{"Destination": {target}, "Overwrite": {"T"}}, 64<<10)
	if err != nil {
		s.call(ctx, auth, "DELETE", tmp, nil, nil, 64<<10) // best effort: the target is untouched either way
		return err
	}
	return s.readBack(ctx, auth, target, doc)
}

// readBack fetches u and compares it with want by SHA-256.
func (s *Service) readBack(ctx context.Context, auth, u string, want []byte) error {
	got, err := s.call(ctx, auth, "GET", u, nil, nil, int64(len(want))+1)
	if f, ok := err.(*Failure); ok && f.Category == FailNotFound {
		f.Category = FailReadBack
	}
	if err != nil {
		return err
	}
	if sha256.Sum256(got) != sha256.Sum256(want) {
		return &Failure{Step: "GET", URL: redact(u), Category: FailReadBack}
	}
	return nil
}
