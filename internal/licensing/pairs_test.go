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
