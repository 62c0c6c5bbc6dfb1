package console

import (
	"testing"
	"time"
)

func TestSourceOfGroupsIPv6By64(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":               "192.0.2.7",
		"2001:db8:1:2:aaaa::1":    "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:1:2:3": "2001:db8:1:2::/64",
		"::ffff:192.0.2.7":        "::ffff:192.0.2.7",
		"not an address":          "not an address",
	} {
		if got := sourceOf(in); got != want {
			t.Errorf("sourceOf(%q) = %q; want %q", in, got, want)
		}
	}
}

// An attacker rotating addresses inside one IPv6 /64 is one source.
func TestThrottleCountsAnIPv6SubnetOnce(t *testing.T) {
	lt, now := newLoginThrottle(), time.Now()
	for i := range 25 {
		ip := "2001:db8:1:2::" + string(rune('a'+i%6)) + "1"
		if ok, _ := lt.allowed("victim@x.example", ip, false, now); !ok {
			if i < 5 {
				t.Fatalf("refused after %d failures", i)
			}
			return
		}
		lt.failed("victim@x.example", ip, now)
	}
	t.Error("25 failures from one /64 were never throttled")
}
