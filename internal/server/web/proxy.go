package web

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// TrustedProxies are the reverse proxies and load balancers in front of
// licet whose X-Forwarded-For it believes (serve --trusted-proxies). From
// anybody else the header is ignored: a client that writes it names no
// address but its own TCP peer's.
type TrustedProxies []netip.Prefix

// maxTrustedProxies bounds the list an operator gives.
const maxTrustedProxies = 100

// maxForwardHops is how many addresses of X-Forwarded-For are looked at,
// from the right: more proxies than that in a row is not a deployment.
const maxForwardHops = 32

// ParseTrustedProxies reads a comma-separated list of IP addresses and
// CIDR prefixes ("10.0.0.0/8, 192.0.2.7, ::1"). An empty list trusts
// nobody.
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxTrustedProxies {
		return nil, fmt.Errorf("at most %d addresses and prefixes", maxTrustedProxies)
	}
	t := make(TrustedProxies, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		var pre netip.Prefix
		var err error
		if strings.Contains(p, "/") {
			pre, err = netip.ParsePrefix(p)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(p); err == nil && a.Zone() == "" {
				pre = netip.PrefixFrom(a, a.BitLen())
			} else if err == nil {
				err = fmt.Errorf("a zone") // PrefixFrom would drop it
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR prefix", p)
		}
		if pre.Addr().Is4In6() {
			// ::ffff:10.0.0.0/104 is 10.0.0.0/8: peers are compared unmapped.
			if pre.Bits() < 96 {
				return nil, fmt.Errorf("%q mixes IPv4-mapped and IPv6 addresses", p)
			}
			pre = netip.PrefixFrom(pre.Addr().Unmap(), pre.Bits()-96)
		}
		if pre.Bits() == 0 {
			return nil, fmt.Errorf("%q is every address: name the proxies themselves", p)
		}
		t = append(t, pre.Masked())
	}
	return t, nil
}

func (t TrustedProxies) trusts(a netip.Addr) bool {
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the address a request came from when its TCP peer
// (remoteAddr) is a trusted proxy: the rightmost address of
// X-Forwarded-For (its header lines in order) that is not itself a
// trusted proxy, since each proxy appends the peer it saw and everything
// to the left of the last trusted one was written by the client. It
// reports false (use the peer) when the peer is not trusted, the header
// is missing, or an address the proxies wrote cannot be read.
func (t TrustedProxies) Client(remoteAddr string, xff []string) (string, bool) {
	if len(t) == 0 || len(xff) == 0 {
		return "", false
	}
	peer, ok := parseHop(remoteAddr, true)
	if !ok || !t.trusts(peer) {
		return "", false
	}
	var last netip.Addr
	hops := 0
	for i := len(xff) - 1; i >= 0; i-- {
		rest := xff[i]
		for rest != "" {
			hop := rest
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				hop, rest = rest[j+1:], rest[:j]
			} else {
				rest = ""
			}
			hop = strings.TrimSpace(hop)
			if hop == "" {
				continue // "a, , b" and a trailing comma are seen in the wild
			}
			if hops++; hops > maxForwardHops {
				return "", false
			}
			a, ok := parseHop(hop, false)
			if !ok {
				return "", false
			}
			if !t.trusts(a) {
				return a.String(), true
			}
			last = a
		}
	}
	if last.IsValid() {
		// Every hop a trusted proxy: the leftmost, the first one asked.
		// (So a client inside a trusted range names itself: name the
		// proxies, never a range clients sit in.)
		return last.String(), true
	}
	return "", false
}

// parseHop reads one address as proxies write them: 192.0.2.1,
// 192.0.2.1:4711, 2001:db8::1, [2001:db8::1] or [2001:db8::1]:443. A zone
// is dropped from the TCP peer (a proxy on a link-local address) and
// refused in the header.
func parseHop(s string, peer bool) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		host, _, serr := net.SplitHostPort(s)
		if serr != nil {
			host = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
		}
		if a, err = netip.ParseAddr(host); err != nil {
			return netip.Addr{}, false
		}
	}
	if a.Zone() != "" {
		if !peer {
			return netip.Addr{}, false
		}
		a = a.WithZone("")
	}
	return a.Unmap(), true
}
