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
	if !p.has(attackerOrg, "seat0", "device0") {
		t.Error("the attacker's first device is not remembered")
	}
}

// TestPairsAStrangerCannotPushOutAUsersDevices: a stranger who knows a
// licensed user's ID gets leases for devices of their own; the devices the
// process remembered for that user before stay remembered, however many
// the stranger sends. A user's devices are remembered up to devicesPerUser.
func TestPairsAStrangerCannotPushOutAUsersDevices(t *testing.T) {
	p := newPairSet()
	p.add("org", "user", "phone")
	p.add("org", "user", "phone") // seen again: still one
	for i := range 100 {
		p.add("org", "user", fmt.Sprint("stranger", i))
	}
	if !p.has("org", "user", "phone") {
		t.Error("the user's phone is forgotten after a stranger's devices for the same user")
	}
	n := 0
	for i := range 100 {
		if p.has("org", "user", fmt.Sprint("stranger", i)) {
			n++
		}
	}
	if n != devicesPerUser-1 {
		t.Errorf("%d of the stranger's devices remembered; want %d", n, devicesPerUser-1)
	}
	if p.has("org", "other", "phone") || p.has("other", "user", "phone") {
		t.Error("devices are not remembered per organization and user")
	}
}

// BenchmarkPairsAddKnown measures what a check from a user's last device
// pays to be remembered: the device is already remembered.
func BenchmarkPairsAddKnown(b *testing.B) {
	p := newPairSet()
	for b.Loop() {
		p.add(req.OrganizationID, req.UserID, req.DeviceID)
	}
}
