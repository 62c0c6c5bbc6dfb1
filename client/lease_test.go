package client

import (
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/licet/licet/protocol"
)

// testKey is fixed so that the committed fuzz corpus holds valid documents.
var testKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

func testKeys() map[string]ed25519.PublicKey {
	pub := testKey.Public().(ed25519.PublicKey)
	return map[string]ed25519.PublicKey{protocol.KeyID(pub): pub}
}

// FuzzVerifyLease feeds any payload and signature to the lease verifier:
// no panic, and only bytes the trusted key signed are believed.
func FuzzVerifyLease(f *testing.F) {
	pub := testKey.Public().(ed25519.PublicKey)
	good := fmt.Appendf(nil, `{"v":1,"org":"4F767AFF-B33F-437C-A7CB-00249948C82B","user":"661BAC34-1128-40B1-9653-00B9F54158CD","device":"d","type":"Standard","status":"Licensed","iat":"2026-03-01T08:00:00Z","exp":"2026-03-08T08:00:00Z","kid":%q,"role":"primary","server":"s"}`, protocol.KeyID(pub))
	f.Add(good, ed25519.Sign(testKey, good))
	f.Add([]byte(`{}`), []byte{})
	f.Add([]byte(`not json`), make([]byte, 64))
	c := New(Config{Keys: testKeys(), Request: Request{OrganizationID: "4F767AFF-B33F-437C-A7CB-00249948C82B", UserID: "661BAC34-1128-40B1-9653-00B9F54158CD", DeviceID: "d"}})
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, payload, sig []byte) {
		l, err := c.verifyLease(payload, sig, testKeys(), nil, now)
		if err == nil && (!ed25519.Verify(pub, payload, sig) || l == nil) {
			t.Fatalf("believed a lease the key did not sign: %q", payload)
		}
	})
}
