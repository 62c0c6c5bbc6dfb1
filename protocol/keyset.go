package protocol

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The signed key set (docs/PROTOCOL.md, "The signed key set"): the keys a
// server signs with and the IDs of the keys it revoked, in one payload that
// every listed key signs. A device that trusts one of the signers learns
// the new keys and, above all, the revocations.

// KeySetKind is the payload's "kind".
const KeySetKind = "keyset"

// Errors a key set is refused with.
var (
	ErrKeySetMalformed = errors.New("key set: not a licet key set")
	ErrKeySetUntrusted = errors.New("key set: not signed by any key this device trusts")
)

// KeySetEnvelope is how GET /v1/keys carries the signed key set: the
// payload bytes and one signature of exactly those bytes per listed key.
type KeySetEnvelope struct {
	Payload    string            `json:"payload"` // base64 (standard, padded) of the payload bytes
	Signatures []KeySetSignature `json:"signatures"`
}

// KeySetSignature is one key's signature of the payload.
type KeySetSignature struct {
	KeyID     string `json:"kid"`
	Signature string `json:"sig"` // base64 of the 64-byte Ed25519 signature
}

// KeySet is a key set's payload.
type KeySet struct {
	Version  int          `json:"v"`
	Kind     string       `json:"kind"`
	IssuedAt string       `json:"iat"`
	Keys     []KeySetKey  `json:"keys"`
	Revoked  []RevokedKey `json:"revoked"`
}

// KeySetKey is one trusted key in a key set.
type KeySetKey struct {
	KeyID     string `json:"kid"`
	Alg       string `json:"alg"`     // "Ed25519"
	PublicKey string `json:"pub"`     // base64 of the raw 32-byte key
	State     string `json:"state"`   // "active" (signs now) or "retired" (signs no more; what it signed stays valid)
	Created   string `json:"created"` // RFC 3339, UTC
}

// RevokedKey is a key trusted for nothing any more.
type RevokedKey struct {
	KeyID     string `json:"kid"`
	RevokedAt string `json:"revokedAt"` // RFC 3339, UTC
}

// Key state names in a key set.
const (
	KeyActive  = "active"
	KeyRetired = "retired"
)

// PublicKeys returns the set's keys by ID.
func (ks *KeySet) PublicKeys() map[string]ed25519.PublicKey {
	out := make(map[string]ed25519.PublicKey, len(ks.Keys))
	for _, k := range ks.Keys {
		b, _ := base64.StdEncoding.DecodeString(k.PublicKey)
		out[k.KeyID] = ed25519.PublicKey(b)
	}
	return out
}

// RevokedIDs returns the IDs of the revoked keys.
func (ks *KeySet) RevokedIDs() []string {
	out := make([]string, 0, len(ks.Revoked))
	for _, r := range ks.Revoked {
		out = append(out, r.KeyID)
	}
	return out
}

// SignKeySet builds the envelope: the payload marshalled once and signed by
// each of signers (key ID → private key), in the order given by ids.
func SignKeySet(ks *KeySet, ids []string, signers map[string]ed25519.PrivateKey) (*KeySetEnvelope, error) {
	payload, err := json.Marshal(ks)
	if err != nil {
		return nil, err
	}
	env := &KeySetEnvelope{Payload: base64.StdEncoding.EncodeToString(payload)}
	for _, id := range ids {
		env.Signatures = append(env.Signatures, KeySetSignature{KeyID: id,
			Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(signers[id], payload))})
	}
	return env, nil
}

// ParseKeySet decodes and checks a key set's shape without trusting it:
// the payload decodes strictly, every key's ID is its key's ID, no key is
// both listed and revoked, and every listed key signed the payload.
// VerifyKeySet then decides whether the device trusts it.
func ParseKeySet(env *KeySetEnvelope) (*KeySet, []byte, error) {
	if env == nil {
		return nil, nil, ErrKeySetMalformed
	}
	payload, err := DecodeBase64(env.Payload)
	if err != nil || len(payload) == 0 || len(payload) > 1<<20 || CheckStrictJSON(payload) != nil || keySetExact(payload) != nil {
		return nil, nil, ErrKeySetMalformed
	}
	var ks KeySet
	d := json.NewDecoder(bytes.NewReader(payload))
	d.DisallowUnknownFields()
	if err := d.Decode(&ks); err != nil || d.More() || ks.Version != 1 || ks.Kind != KeySetKind || len(ks.Keys) == 0 {
		return nil, nil, ErrKeySetMalformed
	}
	if _, err := time.Parse(time.RFC3339, ks.IssuedAt); err != nil {
		return nil, nil, ErrKeySetMalformed
	}
	sigs := map[string][]byte{}
	for _, s := range env.Signatures {
		b, err := base64.StdEncoding.DecodeString(s.Signature)
		if err != nil || len(b) != ed25519.SignatureSize {
			return nil, nil, ErrKeySetMalformed
		}
		sigs[s.KeyID] = b
	}
	revoked := ks.RevokedIDs()
	for _, k := range ks.Keys {
		pub, err := base64.StdEncoding.DecodeString(k.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize || KeyID(pub) != k.KeyID || k.Alg != "Ed25519" ||
			(k.State != KeyActive && k.State != KeyRetired) || slices.Contains(revoked, k.KeyID) {
			return nil, nil, ErrKeySetMalformed
		}
		if sig, ok := sigs[k.KeyID]; !ok || !ed25519.Verify(pub, payload, sig) {
			return nil, nil, fmt.Errorf("%w: key %s did not sign it", ErrKeySetMalformed, k.KeyID)
		}
	}
	return &ks, payload, nil
}

// VerifyKeySet parses env and accepts it when one of its signers is a key
// the device trusts (trusted, minus the revoked IDs the device already
// knows). With no trusted key at all (a device's first fetch, over TLS),
// the set is accepted on its own signatures. A set that lists a key the
// device knows to be revoked is refused: revocation is for ever, so such
// a set is stale or forged.
func VerifyKeySet(env *KeySetEnvelope, trusted map[string]ed25519.PublicKey, revoked []string) (*KeySet, error) {
	ks, _, err := ParseKeySet(env)
	if err != nil {
		return nil, err
	}
	if err := ks.CheckRevoked(revoked); err != nil {
		return nil, err
	}
	if usable(trusted, revoked) == 0 || ks.SignedBy(trusted, revoked) {
		return ks, nil
	}
	return nil, ErrKeySetUntrusted
}

// CheckRevoked refuses a set that lists a key the device already knows to
// be revoked: revocation is for ever, so such a set is stale or forged.
func (ks *KeySet) CheckRevoked(revoked []string) error {
	for _, k := range ks.Keys {
		if slices.Contains(revoked, k.KeyID) {
			return fmt.Errorf("%w: it lists key %s, which was revoked", ErrKeySetUntrusted, k.KeyID)
		}
	}
	return nil
}

// SignedBy reports whether a key of trusted (not revoked) signed the set.
// ParseKeySet checked that every listed key signed it, so one listed key
// that the device trusts, with the same bytes, is enough.
func (ks *KeySet) SignedBy(trusted map[string]ed25519.PublicKey, revoked []string) bool {
	pubs := ks.PublicKeys()
	for _, k := range ks.Keys {
		if pub, ok := trusted[k.KeyID]; ok && !slices.Contains(revoked, k.KeyID) && bytes.Equal(pub, pubs[k.KeyID]) {
			return true
		}
	}
	return false
}

func usable(trusted map[string]ed25519.PublicKey, revoked []string) int {
	n := 0
	for id := range trusted {
		if !slices.Contains(revoked, id) {
			n++
		}
	}
	return n
}

// keySetExact applies exactMembers to the set and to each of its keys and
// revocations.
func keySetExact(payload []byte) error {
	if err := exactMembers(payload, "v", "kind", "iat", "keys", "revoked"); err != nil {
		return err
	}
	var parts struct{ Keys, Revoked []json.RawMessage }
	if err := json.Unmarshal(payload, &parts); err != nil {
		return err
	}
	for _, k := range parts.Keys {
		if err := exactMembers(k, "kid", "alg", "pub", "state", "created"); err != nil {
			return err
		}
	}
	for _, r := range parts.Revoked {
		if err := exactMembers(r, "kid", "revokedAt"); err != nil {
			return err
		}
	}
	return nil
}
