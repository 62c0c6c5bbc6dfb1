package protocol

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"testing"
)

// keySetOf signs a set listing keys (the first active), revoking revoked.
func keySetOf(t *testing.T, keys []ed25519.PrivateKey, revoked ...string) *KeySetEnvelope {
	t.Helper()
	ks := &KeySet{Version: 1, Kind: KeySetKind, IssuedAt: "2026-11-27T02:00:00Z", Revoked: []RevokedKey{}}
	signers := map[string]ed25519.PrivateKey{}
	var ids []string
	for i, k := range keys {
		pub := k.Public().(ed25519.PublicKey)
		state := KeyRetired
		if i == 0 {
			state = KeyActive
		}
		ks.Keys = append(ks.Keys, KeySetKey{KeyID: KeyID(pub), Alg: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub), State: state, Created: "2026-11-01T00:00:00Z"})
		signers[KeyID(pub)] = k
		ids = append(ids, KeyID(pub))
	}
	for _, id := range revoked {
		ks.Revoked = append(ks.Revoked, RevokedKey{KeyID: id, RevokedAt: "2026-11-27T01:00:00Z"})
	}
	env, err := SignKeySet(ks, ids, signers)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestKeySet(t *testing.T) {
	k1 := testKey
	k2 := ed25519.NewKeyFromSeed(append(make([]byte, 31), 2))
	k3 := ed25519.NewKeyFromSeed(append(make([]byte, 31), 3))
	id := func(k ed25519.PrivateKey) string { return KeyID(k.Public().(ed25519.PublicKey)) }
	pubs := func(ks ...ed25519.PrivateKey) map[string]ed25519.PublicKey {
		m := map[string]ed25519.PublicKey{}
		for _, k := range ks {
			m[id(k)] = k.Public().(ed25519.PublicKey)
		}
		return m
	}
	good := keySetOf(t, []ed25519.PrivateKey{k2, k1}, id(k3))

	ks, err := VerifyKeySet(good, pubs(k1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks.PublicKeys()) != 2 || ks.RevokedIDs()[0] != id(k3) || ks.Keys[0].State != KeyActive {
		t.Errorf("parsed %+v", ks)
	}
	if _, err := VerifyKeySet(good, nil, nil); err != nil {
		t.Errorf("first fetch (no trusted key): %v", err)
	}
	if _, err := VerifyKeySet(good, pubs(k3), nil); !errors.Is(err, ErrKeySetUntrusted) {
		t.Errorf("signed by no trusted key: %v", err)
	}
	if _, err := VerifyKeySet(good, pubs(k1, k3), []string{id(k1)}); !errors.Is(err, ErrKeySetUntrusted) {
		t.Errorf("lists a key the device knows revoked: %v", err)
	}

	tamper := func(f func(e *KeySetEnvelope)) *KeySetEnvelope {
		e := *good
		e.Signatures = append([]KeySetSignature(nil), good.Signatures...)
		f(&e)
		return &e
	}
	payload, _ := base64.StdEncoding.DecodeString(good.Payload)
	for name, env := range map[string]*KeySetEnvelope{
		"nil": nil,
		"payload changed": tamper(func(e *KeySetEnvelope) {
			b := append([]byte(nil), payload...)
			b[len(b)-3] ^= 1
			e.Payload = base64.StdEncoding.EncodeToString(b)
		}),
		"a signature gone":   tamper(func(e *KeySetEnvelope) { e.Signatures = e.Signatures[:1] }),
		"a signature wrong":  tamper(func(e *KeySetEnvelope) { e.Signatures[1].Signature = e.Signatures[0].Signature }),
		"not base64":         tamper(func(e *KeySetEnvelope) { e.Payload = "%%%" }),
		"listed and revoked": keySetOf(t, []ed25519.PrivateKey{k1}, id(k1)),
		"unknown member": tamper(func(e *KeySetEnvelope) {
			e.Payload = base64.StdEncoding.EncodeToString(append(payload[:len(payload)-1:len(payload)-1], []byte(`,"x":1}`)...))
			e.Signatures = []KeySetSignature{{KeyID: id(k2), Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(k2, []byte("x")))}}
		}),
	} {
		if _, err := VerifyKeySet(env, pubs(k1), nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
