package datadir

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/licet/licet/internal/atomicfile"
)

// TokenStore is what the operator token needs of the store.
type TokenStore interface {
	OperatorTokenHash(ctx context.Context) ([]byte, error)
	// SetOperatorTokenHash stores hash unless one is stored already.
	SetOperatorTokenHash(ctx context.Context, hash []byte) (stored bool, err error)
}

// OperatorToken makes the operator token on a first start: a random secret
// written to <data>/operator-token (0600) and stored only as its hash. When
// several processes share a database, the first to store its hash wins and
// only it writes the file. A read-only server makes none: it answers the
// hash stored (nil if none).
func OperatorToken(ctx context.Context, store TokenStore, data string, readOnly bool, logger *slog.Logger) ([]byte, error) {
	h, err := store.OperatorTokenHash(ctx)
	if err != nil || h != nil || readOnly {
		return h, err
	}
	b := make([]byte, 32)
	rand.Read(b)
	tok := "lct_" + base64.RawURLEncoding.EncodeToString(b)
	path := filepath.Join(data, "operator-token")
	tmp := path + ".new"
	if err := atomicfile.WriteBytes(tmp, []byte(tok+"\n")); err != nil {
		return nil, fmt.Errorf("operator token: %w", err)
	}
	defer os.Remove(tmp)
	sum := sha256.Sum256([]byte(tok))
	stored, err := store.SetOperatorTokenHash(ctx, sum[:])
	if err != nil {
		return nil, err
	}
	if !stored { // another process stored its token first
		return store.OperatorTokenHash(ctx)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("operator token: %w", err)
	}
	logger.Info("operator token created", "file", path)
	return sum[:], nil
}
