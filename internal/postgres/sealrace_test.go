package postgres_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/postgres"
	"github.com/licet/licet/internal/secrets"
	"github.com/licet/licet/internal/storetest"
)

// hookSealer runs hook once, on the first Seal after it is armed.
type hookSealer struct {
	*secrets.Box
	mu   sync.Mutex
	hook func()
}

func (h *hookSealer) Seal(plain []byte, where string) (string, error) {
	h.mu.Lock()
	f := h.hook
	h.hook = nil
	h.mu.Unlock()
	if f != nil {
		f()
	}
	return h.Box.Seal(plain, where)
}

// Found in review: on PostgreSQL, an administrator who saved new backend
// credentials while "secrets rotate" was sealing everything again lost
// them: the rotation wrote back the old credentials it had read (sealed
// again), over the new ones, though the audit said they were set.
func TestRotationDoesNotLoseCredentialsSavedMeanwhile(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, storetest.PostgresURL(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	box, err := secrets.Open(filepath.Join(t.TempDir(), "secrets.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	h := &hookSealer{Box: box}
	s.Sealer = h
	org := storetest.GUID('o', 1)
	if err := s.CreateOrganization(ctx, &licet.Organization{ID: org, Name: "o", URL: "https://o.example", Settings: licet.DefaultSettings()}, "op"); err != nil {
		t.Fatal(err)
	}
	cfg := licet.OfflineConfig{Backend: "https://dav.example/x.lic", ValidDays: 7, Auth: "basic crm:old"}
	if err := s.SetOfflineConfig(ctx, org, cfg, true, "op"); err != nil {
		t.Fatal(err)
	}
	if err := box.Rotate(); err != nil {
		t.Fatal(err)
	}
	// While the rotation seals the old credentials again, the
	// administrator saves new ones (and that commits first).
	h.hook = func() {
		done := make(chan error)
		go func() {
			c := cfg
			c.Auth = "basic crm:new"
			done <- s.SetOfflineConfig(ctx, org, c, true, "alice@customer.example")
		}()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	_, rotErr := s.SealSecrets(ctx)
	got, err := s.OfflineConfig(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	if got.Auth != "basic crm:new" {
		t.Errorf("after the rotation (%v) the credentials are %q; want the ones saved meanwhile", rotErr, got.Auth)
	}
	if rotErr == nil {
		// The rotation succeeded: everything must open with the active key alone.
		if _, err := s.SealSecrets(ctx); err != nil {
			t.Errorf("a second pass: %v", err)
		}
	}
}
