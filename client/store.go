package client

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ErrStoreCorrupt means the local file could not be decrypted or read: it
// was damaged, tampered with, or encrypted under another key. It is then
// treated as empty.
var ErrStoreCorrupt = errors.New("local store: corrupted, tampered with, or under another key; starting empty")

// storeMagic starts the file and is authenticated with it.
const storeMagic = "licet-store-v1\n"

// State is what a device keeps between checks.
type State struct {
	Request Request `json:"request"`
	// The last verified lease: the exact payload bytes and signature.
	Lease     []byte `json:"lease,omitempty"`
	Signature []byte `json:"signature,omitempty"`
	// LatestTrusted is the latest time a signed document vouched for: the
	// device clock may not go back before it (by more than a tolerance).
	LatestTrusted time.Time `json:"latestTrusted,omitzero"`
	// LatestSeen is the latest time the device has seen: the highest of its
	// clock's readings at each check and of every believed signed iat. A
	// clock earlier than that (beyond the drift) was set back: neither the
	// stored lease nor an offline license is trusted then.
	LatestSeen time.Time `json:"latestSeen,omitzero"`
	// PinnedKeys are public keys fetched once from the server (key ID →
	// raw 32-byte key), when the app configured none.
	PinnedKeys map[string][]byte `json:"pinnedKeys,omitempty"`
	// RevokedKeys are key IDs a verified key set revoked: never trusted
	// again, whatever is configured or pinned.
	RevokedKeys []string `json:"revokedKeys,omitempty"`
	// KeysFetched is when the key set was last fetched and verified.
	KeysFetched time.Time `json:"keysFetched,omitzero"`
}

// saw records a believed signed issue time.
func (st *State) saw(iat time.Time) {
	if iat.After(st.LatestTrusted) {
		st.LatestTrusted = iat
	}
	if iat.After(st.LatestSeen) {
		st.LatestSeen = iat
	}
}

// StateStore keeps a device's State between checks. Check loads it once
// before the walk and saves it once after (outside the walk's deadline), so
// an implementation is called from one goroutine per Client at a time
// unless the app shares it. Load returns the zero State when nothing was
// saved yet; a state that cannot be read is the zero State and an error
// (the walk goes on with it and reports the error as a step, as the file
// store's ErrStoreCorrupt). Save replaces the whole state, atomically: a
// crash must leave the old state or the new one.
//
// Store, the encrypted file of OpenStore, is the default. An app that
// keeps its data in its own encrypted database implements StateStore
// there; it must keep every field (LatestSeen and RevokedKeys above all:
// losing them re-opens clock rollback and revoked keys) and should encrypt
// it, since the state holds the pinned keys the device trusts.
type StateStore interface {
	Load() (State, error)
	Save(State) error
}

// Store is the encrypted local file, the default StateStore. The app
// supplies the 32-byte key, typically from the device keystore.
type Store struct {
	path string
	aead cipher.AEAD
}

// OpenStore prepares the store at path under key (32 bytes, AES-256-GCM).
func OpenStore(path string, key []byte) (*Store, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("local store: the key must be 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Store{path: path, aead: aead}, nil
}

// Load reads the state. A missing file is an empty state; a file that does
// not decrypt or decode is an empty state and ErrStoreCorrupt.
func (s *Store) Load() (State, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return State{}, nil
	} else if err != nil {
		return State{}, err
	}
	n := s.aead.NonceSize()
	if len(b) < len(storeMagic)+n || string(b[:len(storeMagic)]) != storeMagic {
		return State{}, ErrStoreCorrupt
	}
	nonce, sealed := b[len(storeMagic):len(storeMagic)+n], b[len(storeMagic)+n:]
	plain, err := s.aead.Open(nil, nonce, sealed, []byte(storeMagic))
	if err != nil {
		return State{}, ErrStoreCorrupt
	}
	var st State
	if err := json.Unmarshal(plain, &st); err != nil {
		return State{}, ErrStoreCorrupt
	}
	return st, nil
}

// Save writes the state whole: a temporary file, synced, renamed over the
// old one, so a crash leaves the old state or the new, never a part.
func (s *Store) Save(st State) error {
	plain, err := json.Marshal(st)
	if err != nil {
		return err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	out := append([]byte(storeMagic), nonce...)
	out = s.aead.Seal(out, nonce, plain, []byte(storeMagic))
	f, err := os.CreateTemp(filepath.Dir(s.path), "."+filepath.Base(s.path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(out); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), s.path)
}

var _ StateStore = (*Store)(nil)
