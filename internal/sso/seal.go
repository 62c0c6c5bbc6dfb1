package sso

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/licet/licet/internal/atomicfile"
)

// KeySealer seals secrets with AES-256-GCM under a 32-byte key kept in a
// file of the data folder (mode 0600), never in the database: a copy of
// the database alone does not give the client secrets away.
type KeySealer struct{ aead cipher.AEAD }

const sealPrefix = "v1:"

// LoadKey reads the key file, creating it with a new random key when it
// does not exist.
func LoadKey(path string) (*KeySealer, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		// Written whole beside it, then linked: of two processes starting
		// at once, one key wins and both use it.
		key = make([]byte, 32)
		rand.Read(key)
		tmp := path + ".new"
		if err := atomicfile.WriteBytes(tmp, key); err != nil {
			return nil, fmt.Errorf("secrets key: %w", err)
		}
		defer os.Remove(tmp)
		err := os.Link(tmp, path)
		if errors.Is(err, os.ErrExist) {
			key, err = os.ReadFile(path)
		}
		if err != nil {
			return nil, fmt.Errorf("secrets key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("secrets key %s: want 32 bytes, have %d", path, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &KeySealer{aead: aead}, nil
}

// Seal encrypts plain.
func (k *KeySealer) Seal(plain []byte) (string, error) {
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	return sealPrefix + base64.RawStdEncoding.EncodeToString(k.aead.Seal(nonce, nonce, plain, nil)), nil
}

// Open decrypts what Seal made.
func (k *KeySealer) Open(sealed string) ([]byte, error) {
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, sealPrefix))
	if err != nil || !strings.HasPrefix(sealed, sealPrefix) || len(b) < k.aead.NonceSize() {
		return nil, errors.New("not a sealed secret")
	}
	plain, err := k.aead.Open(nil, b[:k.aead.NonceSize()], b[k.aead.NonceSize():], nil)
	if err != nil {
		return nil, errors.New("the secret was sealed under another key")
	}
	return plain, nil
}
