package licensing

import (
	"fmt"
	"testing"
)

// TestPairsAStrangerCannotEvictOthers: an attacker who holds a few licensed
// users (in an organization of their own) can send checks for them from
// ever-new device IDs, each of which gets a lease. That must not make the
// server forget other users' devices, which would then count as new pairs
// and be held to the limits a flood exhausts (issue 13, "known devices
// first").
func TestPairsAStrangerCannotEvictOthers(t *testing.T) {
	p := newPairSet()
	const victimOrg, attackerOrg = "4F767AFF-B33F-437C-A7CB-00249948C82B", "11111111-2222-3333-4444-555555555555"
	p.add(victimOrg, "victim", "phone")
	p.add(victimOrg, "victim", "tablet")
	for i := range 2 * 16 * maxPairs {
		p.add(attackerOrg, fmt.Sprint("seat", i%5), fmt.Sprint("device", i))
	}
	for _, d := range []string{"phone", "tablet"} {
		if !p.has(victimOrg, "victim", d) {
			t.Errorf("the victim's %s is forgotten after a stranger's flood of new devices", d)
		}
	}
	last := 2*16*maxPairs - 1
	if !p.has(attackerOrg, fmt.Sprint("seat", last%5), fmt.Sprint("device", last)) {
		t.Error("the newest device is not remembered")
	}
}

// TestPairsKeepEachUsersNewestDevices: a user's devices are remembered up to
// devicesPerUser; a device seen again is newest again; the oldest goes.
func TestPairsKeepEachUsersNewestDevices(t *testing.T) {
	p := newPairSet()
	for i := range devicesPerUser {
		p.add("org", "user", fmt.Sprint("d", i))
	}
	p.add("org", "user", "d0") // seen again: the newest now
	p.add("org", "user", "new")
	for i := range devicesPerUser {
		if want := i != 1; p.has("org", "user", fmt.Sprint("d", i)) != want {
			t.Errorf("device d%d remembered: %v; want %v", i, !want, want)
		}
	}
	if !p.has("org", "user", "new") || p.has("org", "other", "new") || p.has("other", "user", "d0") {
		t.Error("devices are not remembered per organization and user")
	}
}

// BenchmarkPairsAddKnown measures what a check from a user's last device
// pays to be remembered: the device is already the newest.
func BenchmarkPairsAddKnown(b *testing.B) {
	p := newPairSet()
	for b.Loop() {
		p.add(req.OrganizationID, req.UserID, req.DeviceID)
	}
}
