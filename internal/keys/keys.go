// Package keys keeps the operator's Ed25519 signing keys: one file per key
// (mode 0600) in a folder, one of them active. Old keys stay so that leases
// they signed still verify and their public halves stay published.
package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/licet/licet/client"
	"github.com/licet/licet/internal/atomicfile"
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
	dir    string
	mu     sync.RWMutex
	keys   []*Key // oldest first
	active *Key
}

// ID derives a key's ID from its public key: the first 8 bytes of its
// SHA-256, in hex.
func ID(pub ed25519.PublicKey) string { return client.KeyID(pub) }

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
	if b, err := os.ReadFile(filepath.Join(r.dir, "active")); err == nil {
		active = strings.TrimSpace(string(b))
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	r.keys, r.active = keys, nil
	for _, k := range keys {
		if k.ID == active {
			r.active = k
		}
	}
	if r.active == nil && len(keys) > 0 {
		r.active = keys[len(keys)-1]
	}
	return nil
}

func readKey(path string) (*Key, error) {
	b, err := os.ReadFile(path)
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
	return k, nil
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

// Retire stops publishing a key that no longer signs: leases and offline
// licenses it signed stop verifying once devices refresh their keys, so
// retire a key only after everything it signed has expired. Its file moves
// to retired/ in the folder, kept for the record. The active key cannot be
// retired.
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
	return nil
}
