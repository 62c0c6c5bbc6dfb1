package protocol

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

// testKey is fixed so that the committed fuzz corpus holds valid documents.
var testKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

func testKeys() map[string]ed25519.PublicKey {
	pub := testKey.Public().(ed25519.PublicKey)
	return map[string]ed25519.PublicKey{KeyID(pub): pub}
}

// sign makes a document the way the server does (internal/offline.Build
// is tested against this format from the server side).
func sign(l OfflineLicense, key ed25519.PrivateKey) []byte {
	l.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	payload, _ := json.Marshal(l)
	return fmt.Appendf(nil, "%s %s %s\n%s", OfflineMagic, l.KeyID, base64.StdEncoding.EncodeToString(ed25519.Sign(key, payload)), payload)
}

var sample = OfflineLicense{Version: 1, Kind: "offline", Serial: 3, Org: "4F767AFF-B33F-437C-A7CB-00249948C82B",
	URL: "https://testcrm.example.net", IssuedAt: "2026-03-01T08:00:00Z", ValidFrom: "2026-03-01T08:00:00Z", ValidUntil: "2026-03-31T08:00:00Z",
	Users: map[string][]string{"Standard": {"661BAC34-1128-40B1-9653-00B9F54158CD"}, "Inspections": {"761BAC34-1128-40B1-9653-00B9F54158CD"}}}

var check = OfflineCheck{Org: "{4f767aff-b33f-437c-a7cb-00249948c82b}", URL: "HTTPS://TestCRM.example.net:443/", User: "661bac34-1128-40b1-9653-00b9f54158cd",
	Now: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), Drift: 5 * time.Minute}

func TestVerifyOffline(t *testing.T) {
	doc := sign(sample, testKey)
	if _, typ, err := VerifyOffline(doc, testKeys(), check); err != nil || typ != "Standard" {
		t.Fatalf("the right user: %q %v", typ, err)
	}
	other := ed25519.NewKeyFromSeed([]byte("another key's seed, 32 bytes!!!!"))
	cases := map[string]struct {
		doc  []byte
		mod  func(*OfflineCheck)
		want error
	}{
		"stranger":      {doc, func(c *OfflineCheck) { c.User = "00000000-0000-0000-0000-000000000000" }, ErrUserNotLicensed},
		"another org":   {doc, func(c *OfflineCheck) { c.Org = "5F767AFF-B33F-437C-A7CB-00249948C82B" }, ErrWrongOrganization},
		"another URL":   {doc, func(c *OfflineCheck) { c.URL = "https://evil.example.net" }, ErrWrongURL},
		"another path":  {doc, func(c *OfflineCheck) { c.URL = "https://testcrm.example.net/other" }, ErrWrongURL},
		"expired":       {doc, func(c *OfflineCheck) { c.Now = time.Date(2026, 3, 31, 8, 6, 0, 0, time.UTC) }, ErrExpired},
		"not yet":       {doc, func(c *OfflineCheck) { c.Now = time.Date(2026, 3, 1, 7, 50, 0, 0, time.UTC) }, ErrNotYetValid},
		"another key":   {sign(sample, other), nil, ErrUnknownKey},
		"not a license": {[]byte("hello\nworld"), nil, ErrMalformed},
		"empty":         {nil, nil, ErrMalformed},
	}
	for name, tc := range cases {
		c := check
		if tc.mod != nil {
			tc.mod(&c)
		}
		if _, _, err := VerifyOffline(tc.doc, testKeys(), c); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v; want %v", name, err, tc.want)
		}
	}
	// Within the drift tolerance the edges still pass.
	c := check
	c.Now = time.Date(2026, 3, 31, 8, 4, 0, 0, time.UTC)
	if _, _, err := VerifyOffline(doc, testKeys(), c); err != nil {
		t.Errorf("within drift after the end: %v", err)
	}
}

func TestEverySingleByteChangeIsRefused(t *testing.T) {
	doc := sign(sample, testKey)
	for i := range doc {
		for _, delta := range []byte{1, 0x20, 0x80} {
			bad := append([]byte(nil), doc...)
			bad[i] ^= delta
			if _, _, err := VerifyOffline(bad, testKeys(), check); err == nil {
				t.Fatalf("a change of byte %d (%q→%q) was accepted", i, doc[i], bad[i])
			}
		}
	}
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://TestCRM.Example.net/":         "https://testcrm.example.net",
		"HTTPS://testcrm.example.net:443":      "https://testcrm.example.net",
		"http://testcrm.example.net:80/crm/":   "http://testcrm.example.net/crm",
		"https://testcrm.example.net:8443/Crm": "https://testcrm.example.net:8443/Crm",
	} {
		if got := NormalizeURL(in); got != want {
			t.Errorf("NormalizeURL(%q) = %q; want %q", in, got, want)
		}
	}
}

// FuzzParseOffline feeds anything to the parser and verifier: no panic,
// and nothing but the documents the key signed is accepted.
func FuzzParseOffline(f *testing.F) {
	f.Add(sign(sample, testKey))
	f.Add([]byte(OfflineMagic + " x AAAA\n{}"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, doc []byte) {
		l, typ, err := VerifyOffline(doc, testKeys(), check)
		if err != nil {
			return
		}
		kid, sig, payload, _ := SplitOffline(doc)
		pub := testKeys()[kid]
		if !ed25519.Verify(pub, payload, sig) || typ == "" || l == nil {
			t.Fatalf("accepted a document the key did not sign: %q", doc)
		}
	})
}

// The server licenses GUIDs in any form and stores URLs canonical; a device
// compares its own inputs in whatever form the app holds them.
func TestVerifyOfflineCanonicalForms(t *testing.T) {
	l := sample
	l.URL = "https://xn--bcher-kva.example"
	doc := sign(l, testKey)
	for _, c := range []OfflineCheck{
		{Org: "4F767AFFB33F437CA7CB00249948C82B", URL: "https://Bücher.Example.", User: "661bac34112840b1965300b9f54158cd"},
		{Org: "{4F767AFF-B33F-437C-A7CB-00249948C82B}", URL: "https://BÜCHER.example:443/", User: "{661BAC34112840B1965300B9F54158CD}"},
		{Org: "4f767aff-b33f-437c-a7cb-00249948c82b", URL: "https://xn--bcher-kva.example", User: "661BAC34-1128-40B1-9653-00B9F54158CD"},
	} {
		c.Now, c.Drift = check.Now, check.Drift
		if _, typ, err := VerifyOffline(doc, testKeys(), c); err != nil || typ != "Standard" {
			t.Errorf("%+v: %q %v", c, typ, err)
		}
	}
	c := check
	c.URL = "https://bucher.example"
	if _, _, err := VerifyOffline(doc, testKeys(), c); !errors.Is(err, ErrWrongURL) {
		t.Errorf("a look-alike host: %v", err)
	}
}

// A signed document whose keys repeat, or differ only in case, means one
// thing to Go and another to JavaScript: no verifier reads it.
func TestOfflineDuplicateKeysRefused(t *testing.T) {
	l := sample
	l.KeyID = KeyID(testKey.Public().(ed25519.PublicKey))
	payload, _ := json.Marshal(l)
	for _, extra := range []string{`,"USERS":{"Standard":["00000000-0000-0000-0000-000000000001"]}`, `,"users":{"Standard":["00000000-0000-0000-0000-000000000001"]}`, `,"Exp":"9999-12-31T00:00:00Z"`} {
		bad := append(append([]byte(nil), payload[:len(payload)-1]...), extra+"}"...)
		doc := fmt.Appendf(nil, "%s %s %s\n%s", OfflineMagic, l.KeyID, base64.StdEncoding.EncodeToString(ed25519.Sign(testKey, bad)), bad)
		if _, _, err := VerifyOffline(doc, testKeys(), check); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", extra, err)
		}
	}
}

// Signed times a device cannot believe: issued after its clock, or valid
// for longer than any offline license may be.
func TestOfflineSignedTimesOutOfBounds(t *testing.T) {
	ahead := sample
	ahead.IssuedAt = "2026-03-12T00:00:00Z" // two days after check.Now
	if _, _, err := VerifyOffline(sign(ahead, testKey), testKeys(), check); !errors.Is(err, ErrFromFuture) {
		t.Errorf("iat two days ahead: %v", err)
	}
	forever := sample
	forever.ValidUntil = "9999-12-31T00:00:00Z"
	if _, _, err := VerifyOffline(sign(forever, testKey), testKeys(), check); !errors.Is(err, ErrTooLong) {
		t.Errorf("valid until 9999: %v", err)
	}
	c := check
	c.MaxValidity = 7 * 24 * time.Hour
	if _, _, err := VerifyOffline(sign(sample, testKey), testKeys(), c); !errors.Is(err, ErrTooLong) {
		t.Errorf("30 days where the app allows 7: %v", err)
	}
	year := sample
	year.ValidUntil = "2027-03-01T08:00:00Z"
	if _, _, err := VerifyOffline(sign(year, testKey), testKeys(), check); err != nil {
		t.Errorf("a year's validity: %v", err)
	}
}
