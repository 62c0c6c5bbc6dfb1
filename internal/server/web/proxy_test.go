package web

import (
	"strings"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"  ", ""},
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"192.0.2.7, ::1 ,10.1.2.3/8", "192.0.2.7/32 ::1/128 10.0.0.0/8"}, // host bits masked
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"2001:db8::/32", "2001:db8::/32"},
	} {
		got, err := ParseTrustedProxies(c.in)
		if err != nil {
			t.Errorf("ParseTrustedProxies(%q): %v", c.in, err)
			continue
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		if strings.Join(s, " ") != c.want {
			t.Errorf("ParseTrustedProxies(%q) = %v; want %s", c.in, s, c.want)
		}
	}
	for _, in := range []string{"proxy.example", "10.0.0.0/33", "10.0.0.0/", "10.0.0.1,", "fe80::1%eth0", "::ffff:10.0.0.0/90",
		"10.0.0.1:8080", "*", "0.0.0.0/0", "::/0", "::ffff:0.0.0.0/96", "10.0.0.0/8,::/0", strings.Repeat("10.0.0.1,", 100) + "10.0.0.1"} {
		if got, err := ParseTrustedProxies(in); err == nil {
			t.Errorf("ParseTrustedProxies(%.40q) = %v; want an error", in, got)
		}
	}
}

// A client's own X-Forwarded-For is believed from nobody but a trusted
// proxy, and from a proxy only as far as trusted proxies wrote it.
func TestTrustedProxiesClient(t *testing.T) {
	trusted, err := ParseTrustedProxies("127.0.0.1, 10.0.0.0/8, 2001:db8:ffff::/48, fe80::1")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("10.0.0.9, ", 40) + "10.0.0.8"
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string // "" for the peer
	}{
		{"no header", "127.0.0.1:4000", nil, ""},
		{"untrusted peer", "192.0.2.50:4000", []string{"203.0.113.9"}, ""},
		{"one proxy", "127.0.0.1:4000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"the client's own entry on the left is not believed", "127.0.0.1:4000", []string{"198.51.100.1, 203.0.113.9"}, "203.0.113.9"},
		{"two proxies", "127.0.0.1:4000", []string{"203.0.113.9, 10.1.1.1"}, "203.0.113.9"},
		{"header lines in order", "127.0.0.1:4000", []string{"198.51.100.1", "203.0.113.9, 10.1.1.1"}, "203.0.113.9"},
		{"ports and brackets", "127.0.0.1:4000", []string{"[2001:db8::9]:443"}, "2001:db8::9"},
		{"brackets without a port", "127.0.0.1:4000", []string{"[2001:db8::9]"}, "2001:db8::9"},
		{"a proxy on a link-local address", "[fe80::1%eth0]:4000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"an IPv4 address with a port", "127.0.0.1:4000", []string{"203.0.113.9:4711"}, "203.0.113.9"},
		{"IPv4-mapped", "[::ffff:127.0.0.1]:4000", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		{"IPv6 proxy", "[2001:db8:ffff::2]:4000", []string{"2001:db8:1::7"}, "2001:db8:1::7"},
		{"empty entries", "127.0.0.1:4000", []string{"203.0.113.9, ,"}, "203.0.113.9"},
		{"every hop trusted: the first", "127.0.0.1:4000", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"garbage from the proxy", "127.0.0.1:4000", []string{"unknown"}, ""},
		{"garbage left of the client's address is never read", "127.0.0.1:4000", []string{"<script>, 203.0.113.9"}, "203.0.113.9"},
		{"garbage after a trusted hop", "127.0.0.1:4000", []string{"x\x00y, 10.0.0.2"}, ""},
		{"a zone", "127.0.0.1:4000", []string{"fe80::1%eth0"}, ""},
		{"empty header", "127.0.0.1:4000", []string{""}, ""},
		{"too many hops", "127.0.0.1:4000", []string{long}, ""},
		{"a peer that is no address", "@", []string{"203.0.113.9"}, ""},
	} {
		got, ok := trusted.Client(c.peer, c.xff)
		if ok != (c.want != "") || got != c.want {
			t.Errorf("%s: Client(%q, %q) = %q, %v; want %q", c.name, c.peer, c.xff, got, ok, c.want)
		}
	}
	if got, ok := TrustedProxies(nil).Client("127.0.0.1:4000", []string{"203.0.113.9"}); ok {
		t.Errorf("no trusted proxies: Client = %q; want the peer", got)
	}
}

// A header of a megabyte is read from the right, only as far as needed.
func TestTrustedProxiesClientReadsFromTheRight(t *testing.T) {
	trusted, _ := ParseTrustedProxies("127.0.0.1")
	huge := strings.Repeat("198.51.100.1, ", 70_000) + "203.0.113.9"
	allocs := testing.AllocsPerRun(10, func() {
		if got, ok := trusted.Client("127.0.0.1:4000", []string{huge}); !ok || got != "203.0.113.9" {
			t.Fatalf("Client = %q, %v", got, ok)
		}
	})
	if allocs > 2 {
		t.Errorf("%v allocations for a %d-byte header; want at most 2 (it must not be split)", allocs, len(huge))
	}
}

func TestSourceGroupsIPv6By64(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":               "192.0.2.7",
		"2001:db8:1:2:aaaa::1":    "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:1:2:3": "2001:db8:1:2::/64",
		"::ffff:192.0.2.7":        "::ffff:192.0.2.7",
		"fe80::1%eth0":            "fe80::/64",
		"not an address":          "not an address",
	} {
		if got := Source(in); got != want {
			t.Errorf("Source(%q) = %q; want %q", in, got, want)
		}
	}
}
