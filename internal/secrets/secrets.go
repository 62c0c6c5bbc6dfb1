// Package secrets seals the secrets licet keeps in its database (backend
// credentials, the mail-link secret) with a key kept in the data folder,
// <data>/secrets.key (mode 0600), and never in the database: a dump or a
// snapshot alone reveals no credential and forges no link.
//
// The file holds one key per line, "ID BASE64", the active key first. A
// sealed value is "sealed:v1:ID:BASE64(nonce || AES-256-GCM ciphertext)",
// bound to where it is kept (the additional data), so a sealed value moved
// to another row does not open.
package secrets

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/licet/licet/internal/atomicfile"
)

const prefix = "sealed:v1:"

// Box seals and opens values with the keys of one file.
type Box struct {
	path string
	mu   sync.RWMutex
	keys []key // the active key first
}

type key struct {
	id   string
	raw  []byte
	aead cipher.AEAD
}

func newKey(raw []byte) (key, error) {
	if len(raw) != 32 {
		return key{}, errors.New("a key must be 32 bytes")
	}
	b, err := aes.NewCipher(raw)
	if err != nil {
		return key{}, err
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return key{}, err
	}
	sum := sha256.Sum256(append([]byte("licet secrets key id\x00"), raw...))
	return key{id: hex.EncodeToString(sum[:8]), raw: raw, aead: g}, nil
}

// Open reads the key file. A missing file is made with a new key when
// create is set; otherwise the box has no key and every Seal or Open
// fails, saying so.
func Open(path string, create bool) (*Box, error) {
	b := &Box{path: path}
	if err := checkFile(path); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && create:
		if err := b.Rotate(); err != nil {
			return nil, err
		}
		return b, nil
	case errors.Is(err, os.ErrNotExist):
		return b, nil
	case err != nil:
		return nil, err
	}
	if len(data) == 32 && !bytes.HasPrefix(data, []byte("#")) {
		// The first form of the file: one raw key. It is written again in
		// this form when the server may write.
		k, err := newKey(data)
		if err != nil {
			return nil, err
		}
		b.keys = []key{k}
		if create {
			if err := write(path, b.keys); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, enc, ok := strings.Cut(line, " ")
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
		if !ok || err != nil {
			return nil, fmt.Errorf("%s:%d: want \"ID BASE64-KEY\"", path, n)
		}
		k, err := newKey(raw)
		if err != nil || k.id != id {
			return nil, fmt.Errorf("%s:%d: not a key of this file's form (or its ID does not match)", path, n)
		}
		b.keys = append(b.keys, k)
	}
	if len(b.keys) == 0 {
		return nil, fmt.Errorf("%s holds no key", path)
	}
	return b, nil
}

// checkFile refuses a key file that is a symbolic link, not a regular
// file, not owned by the user licet runs as, or open to group or others,
// as the data folder's other secrets are refused (internal/cli): another
// local user could otherwise have licet seal with, or read, a key they hold.
// A missing file is not refused.
func checkFile(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link: licet does not follow links in its data folder; put the file itself there", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s belongs to uid %d, not to uid %d that runs licet: another user could have planted it; chown it (or use another --data)", path, st.Uid, os.Geteuid())
	}
	if bad := fi.Mode().Perm() & 0o077; bad != 0 {
		what := "readable by group or others"
		if bad&0o022 != 0 {
			what = "writable by group or others"
		}
		return fmt.Errorf("%s is %s (mode %04o): chmod 600 %s", path, what, fi.Mode().Perm(), path)
	}
	return nil
}

// Path is the key file's path.
func (b *Box) Path() string { return b.path }

// ActiveID is the ID of the key that seals, "" when the box has none.
func (b *Box) ActiveID() string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.keys) == 0 {
		return ""
	}
	return b.keys[0].id
}

// Has reports whether the box holds the key id.
func (b *Box) Has(id string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, k := range b.keys {
		if k.id == id {
			return true
		}
	}
	return false
}

// Seal encrypts plain for the place named by where (the additional data).
func (b *Box) Seal(plain []byte, where string) (string, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.keys) == 0 {
		return "", b.missing()
	}
	k := b.keys[0]
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	ct := k.aead.Seal(nonce, nonce, plain, []byte(where))
	return prefix + k.id + ":" + base64.StdEncoding.EncodeToString(ct), nil
}

// Sealed reports whether v is a sealed value, and with which key.
func Sealed(v string) (id string, ok bool) {
	rest, ok := strings.CutPrefix(v, prefix)
	if !ok {
		return "", false
	}
	id, _, ok = strings.Cut(rest, ":")
	return id, ok
}

// legacyPrefix marks values sealed by the first form (single sign-on's
// client secrets): no key ID, no additional data.
const legacyPrefix = "v1:"

// Open decrypts a sealed value kept at where.
func (b *Box) Open(v, where string) ([]byte, error) {
	if enc, ok := strings.CutPrefix(v, legacyPrefix); ok {
		return b.openLegacy(enc)
	}
	rest, ok := strings.CutPrefix(v, prefix)
	id, enc, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return nil, errors.New("secrets: not a sealed value")
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, k := range b.keys {
		if k.id != id {
			continue
		}
		ct, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(ct) < k.aead.NonceSize() {
			return nil, errors.New("secrets: a sealed value is damaged")
		}
		plain, err := k.aead.Open(nil, ct[:k.aead.NonceSize()], ct[k.aead.NonceSize():], []byte(where))
		if err != nil {
			return nil, errors.New("secrets: a sealed value does not open (damaged, or moved from elsewhere)")
		}
		return plain, nil
	}
	if len(b.keys) == 0 {
		return nil, b.missing()
	}
	return nil, fmt.Errorf("secrets: a value is sealed with key %s, which %s does not hold; copy secrets.key from the server that sealed it", id, b.path)
}

func (b *Box) openLegacy(enc string) ([]byte, error) {
	ct, err := base64.RawStdEncoding.DecodeString(enc)
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.keys) == 0 {
		return nil, b.missing()
	}
	for _, k := range b.keys {
		if err != nil || len(ct) < k.aead.NonceSize() {
			return nil, errors.New("secrets: a sealed value is damaged")
		}
		if plain, err := k.aead.Open(nil, ct[:k.aead.NonceSize()], ct[k.aead.NonceSize():], nil); err == nil {
			return plain, nil
		}
	}
	return nil, errors.New("secrets: a value is sealed under a key secrets.key does not hold")
}

// Place seals and opens the values kept in one place.
type Place struct {
	box   *Box
	where string
}

// At is the box for values kept at where.
func (b *Box) At(where string) *Place { return &Place{box: b, where: where} }

// Seal encrypts plain for the place.
func (p *Place) Seal(plain []byte) (string, error) { return p.box.Seal(plain, p.where) }

// Open decrypts a value of the place.
func (p *Place) Open(v string) ([]byte, error) { return p.box.Open(v, p.where) }

func (b *Box) missing() error {
	return fmt.Errorf("secrets: %s is missing; copy secrets.key from the primary's data folder", b.path)
}

// Rotate makes a new key the active one and writes the file, keeping the
// older keys so that values sealed with them still open until Retain.
func (b *Box) Rotate() error {
	raw := make([]byte, 32)
	rand.Read(raw)
	k, err := newKey(raw)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	keys := append([]key{k}, b.keys...)
	if err := write(b.path, keys); err != nil {
		return err
	}
	b.keys = keys
	return nil
}

// Retain drops every key but the active one from the file, once nothing
// is sealed with them any more.
func (b *Box) Retain() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.keys) < 2 {
		return nil
	}
	if err := write(b.path, b.keys[:1]); err != nil {
		return err
	}
	b.keys = b.keys[:1]
	return nil
}

func write(path string, keys []key) error {
	var buf bytes.Buffer
	buf.WriteString("# licet's key for the secrets in its database; keep it like the signing keys (mode 0600)\n")
	for _, k := range keys {
		fmt.Fprintf(&buf, "%s %s\n", k.id, base64.StdEncoding.EncodeToString(k.raw))
	}
	if err := atomicfile.WriteBytes(path, buf.Bytes()); err != nil {
		return fmt.Errorf("secrets key: %w", err)
	}
	return nil
}
