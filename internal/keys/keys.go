// Package keys keeps the operator's Ed25519 signing keys: one file per key
// (mode 0600) in a folder, one of them active. Old keys stay so that leases
// they signed still verify and their public halves stay published. A key
// has one of three states: active (signs now), retired (signs no more; what
// it signed stays valid) and revoked (compromised: trusted for nothing).
// The published key set (protocol.KeySet) names the active and retired keys
// and the revoked IDs, signed by every key it lists.
package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/licet/licet/internal/atomicfile"
	"github.com/licet/licet/protocol"
)

// Key is one signing key.
type Key struct {
	ID      string
	Created time.Time
	Private ed25519.PrivateKey
}

// Public is a key's public half as published.
type Public struct {
	ID      string    `json:"id"`
	Alg     string    `json:"alg"`
	PEM     string    `json:"publicKeyPem"`
	Active  bool      `json:"active"`
	Created time.Time `json:"created"`
}

// Ring is the set of keys in a folder.
type Ring struct {
	dir     string
	mu      sync.RWMutex
	keys    []*Key // oldest first; never a revoked one
	active  *Key
	revoked []protocol.RevokedKey
	keySet  *protocol.KeySetEnvelope // rebuilt on every change
}

// revokedFile lists the revoked key IDs, one "KID TIME" a line.
const revokedFile = "revoked.txt"

// ID derives a key's ID from its public key: the first 8 bytes of its
// SHA-256, in hex.
func ID(pub ed25519.PublicKey) string { return protocol.KeyID(pub) }

// Open loads the keys in dir. With create, an empty or missing folder gets
// a new key; without, it is an error.
func Open(dir string, create bool) (*Ring, error) {
	r := &Ring{dir: dir}
	if err := r.load(); err != nil {
		return nil, err
	}
	if len(r.keys) == 0 {
		if !create {
			return nil, fmt.Errorf("no signing key in %s", dir)
		}
		if _, err := r.Rotate(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Ring) load() error {
	paths, err := filepath.Glob(filepath.Join(r.dir, "*.pem"))
	if err != nil {
		return err
	}
	var keys []*Key
	for _, p := range paths {
		k, err := readKey(p)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Created.Before(keys[j].Created) })
	active := ""
	if b, err := readFile(filepath.Join(r.dir, "active")); err == nil {
		active = strings.TrimSpace(string(b))
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	revoked, err := readRevoked(filepath.Join(r.dir, revokedFile))
	if err != nil {
		return err
	}
	keys = slices.DeleteFunc(keys, func(k *Key) bool {
		return slices.ContainsFunc(revoked, func(rk protocol.RevokedKey) bool { return rk.KeyID == k.ID })
	})
	if active != "" && slices.ContainsFunc(revoked, func(rk protocol.RevokedKey) bool { return rk.KeyID == active }) {
		return fmt.Errorf("%s: the active key %s is revoked; put the ID of a key that is not in %s", filepath.Join(r.dir, "active"), active, revokedFile)
	}
	r.keys, r.active, r.revoked = keys, nil, revoked
	for _, k := range keys {
		if k.ID == active {
			r.active = k
		}
	}
	if r.active == nil && len(keys) > 0 {
		r.active = keys[len(keys)-1]
	}
	return r.buildKeySet()
}

func readRevoked(path string) ([]protocol.RevokedKey, error) {
	b, err := readFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []protocol.RevokedKey
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"KEYID TIME\"", path, i+1)
		}
		if _, err := time.Parse(time.RFC3339, f[1]); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		out = append(out, protocol.RevokedKey{KeyID: f[0], RevokedAt: f[1]})
	}
	return out, nil
}

// buildKeySet signs the key set anew with every key it lists. Called with
// r.mu held (or before r is shared).
func (r *Ring) buildKeySet() error {
	if len(r.keys) == 0 {
		r.keySet = nil
		return nil
	}
	ks := &protocol.KeySet{Version: 1, Kind: protocol.KeySetKind, IssuedAt: time.Now().UTC().Format(time.RFC3339),
		Revoked: slices.Clone(r.revoked)}
	if ks.Revoked == nil {
		ks.Revoked = []protocol.RevokedKey{}
	}
	signers := map[string]ed25519.PrivateKey{}
	var ids []string
	for _, p := range r.public() {
		k := r.find(p.ID)
		state := protocol.KeyRetired
		if p.Active {
			state = protocol.KeyActive
		}
		ks.Keys = append(ks.Keys, protocol.KeySetKey{KeyID: k.ID, Alg: "Ed25519",
			PublicKey: base64.StdEncoding.EncodeToString(k.Private.Public().(ed25519.PublicKey)), State: state,
			Created: k.Created.UTC().Format(time.RFC3339)})
		signers[k.ID] = k.Private
		ids = append(ids, k.ID)
	}
	env, err := protocol.SignKeySet(ks, ids, signers)
	if err != nil {
		return err
	}
	r.keySet = env
	return nil
}

func (r *Ring) find(kid string) *Key {
	for _, k := range r.keys {
		if k.ID == kid {
			return k
		}
	}
	return nil
}

// KeySet returns the signed key set that GET /v1/keys publishes.
func (r *Ring) KeySet() *protocol.KeySetEnvelope {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.keySet
}

// Revoked lists the revoked keys, oldest revocation first.
func (r *Ring) Revoked() []protocol.RevokedKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.revoked)
}

// readFile reads a file of the key folder without following a symbolic
// link (licet serve also refuses to start when it finds one).
func readFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func readKey(path string) (*Key, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	created := time.Time{}
	if v := blk.Headers["Created"]; v != "" {
		created, _ = time.Parse(time.RFC3339, v)
	}
	if created.IsZero() {
		if fi, err := os.Stat(path); err == nil {
			created = fi.ModTime().UTC()
		}
	}
	return &Key{ID: ID(priv.Public().(ed25519.PublicKey)), Created: created, Private: priv}, nil
}

// Rotate creates a new key and makes it the active one. The files are
// written with mode 0600, each renamed into place whole.
func (r *Ring) Rotate() (*Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	k := &Key{ID: ID(priv.Public().(ed25519.PublicKey)), Created: time.Now().UTC().Truncate(time.Second), Private: priv}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return nil, err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Created": k.Created.Format(time.RFC3339)}, Bytes: der})
	if err := atomicfile.WriteBytes(filepath.Join(r.dir, k.ID+".pem"), b); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(r.dir, "active"), []byte(k.ID+"\n")); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, k)
	r.active = k
	return k, r.buildKeySet()
}

// Active returns the key that signs now.
func (r *Ring) Active() *Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.active
}

// Verify checks a signature made by the key kid.
func (r *Ring) Verify(kid string, msg, sig []byte) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range r.keys {
		if k.ID == kid {
			return ed25519.Verify(k.Private.Public().(ed25519.PublicKey), msg, sig)
		}
	}
	return false
}

// Public lists every key's public half, the active one first.
func (r *Ring) Public() []Public {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.public()
}

func (r *Ring) public() []Public {
	out := make([]Public, 0, len(r.keys))
	for i := len(r.keys) - 1; i >= 0; i-- {
		k := r.keys[i]
		out = append(out, Public{ID: k.ID, Alg: "Ed25519", PEM: PublicPEM(k.Private.Public().(ed25519.PublicKey)),
			Active: k == r.active, Created: k.Created})
	}
	if len(out) > 1 {
		for i, p := range out {
			if p.Active {
				out[0], out[i] = out[i], out[0]
			}
		}
	}
	return out
}

// PublicPEM encodes a public key as a PEM "PUBLIC KEY" (SubjectPublicKeyInfo),
// the form OpenSSL and WebCrypto read.
func PublicPEM(pub ed25519.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Retire stops publishing a key that no longer signs. Devices that pinned
// it keep trusting what it signed (a retired key is not a revoked one);
// devices that never saw it will not, so retire a key only after
// everything it signed has expired. Its file moves to retired/ in the
// folder, kept for the record. The active key cannot be retired.
func (r *Ring) Retire(kid string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := -1
	for j, k := range r.keys {
		if k.ID == kid {
			i = j
		}
	}
	switch {
	case i < 0:
		return fmt.Errorf("no key %q", kid)
	case r.keys[i] == r.active:
		return fmt.Errorf("key %s is the one signing now; rotate first", kid)
	}
	if err := os.MkdirAll(filepath.Join(r.dir, "retired"), 0o700); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(r.dir, kid+".pem"), filepath.Join(r.dir, "retired", kid+".pem")); err != nil {
		return err
	}
	r.keys = append(r.keys[:i], r.keys[i+1:]...)
	return r.buildKeySet()
}

// Revoke marks a key compromised: it is published as revoked, no server
// with this folder signs or verifies with it, and devices that fetch the
// key set stop trusting anything it signed. The key may be published or
// retired; the active key cannot be revoked (rotate first). Its file moves
// to revoked/ in the folder, kept for the record.
func (r *Ring) Revoke(kid string, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.ContainsFunc(r.revoked, func(rk protocol.RevokedKey) bool { return rk.KeyID == kid }) {
		return fmt.Errorf("key %s is revoked already", kid)
	}
	src := filepath.Join(r.dir, kid+".pem")
	k := r.find(kid)
	switch {
	case k != nil && k == r.active:
		return fmt.Errorf("key %s is the one signing now; rotate first, then revoke it", kid)
	case k == nil:
		src = filepath.Join(r.dir, "retired", kid+".pem")
		if !validKID(kid) {
			return fmt.Errorf("no key %q", kid)
		}
		if _, err := os.Stat(src); err != nil {
			return fmt.Errorf("no key %q", kid)
		}
	}
	revoked := append(slices.Clone(r.revoked), protocol.RevokedKey{KeyID: kid, RevokedAt: now.UTC().Format(time.RFC3339)})
	var b strings.Builder
	for _, rk := range revoked {
		fmt.Fprintf(&b, "%s %s\n", rk.KeyID, rk.RevokedAt)
	}
	// The list is written first: a crash before the move leaves the key
	// revoked (load skips it), never a revoked key that still signs.
	if err := atomicfile.WriteBytes(filepath.Join(r.dir, revokedFile), []byte(b.String())); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(r.dir, "revoked"), 0o700); err != nil {
		return err
	}
	if err := os.Rename(src, filepath.Join(r.dir, "revoked", kid+".pem")); err != nil {
		return err
	}
	r.revoked = revoked
	r.keys = slices.DeleteFunc(r.keys, func(k *Key) bool { return k.ID == kid })
	return r.buildKeySet()
}

// validKID reports whether s looks like a key ID (16 hex digits), so that
// it can name a file.
func validKID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
