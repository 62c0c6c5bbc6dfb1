package offline

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/protocol"
)

// Test checks an organization's backend the way it will be used: it saves
// a probe (a signed document that licenses nobody) beside the offline
// license, reads it back anonymously at the same name beside the location
// devices read, verifies it as a device would, and removes it. The real
// file is never touched. The report is kept and audited.
func (s *Service) Test(ctx context.Context, orgID, actor string) (*licet.OfflineTest, error) {
	o, err := s.Store.Organization(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if !o.Settings.Offline {
		return nil, licet.Errorf(licet.ECONFLICT, "offline licenses are not enabled for organization %s; ask your vendor to enable offline licenses", orgID)
	}
	cfg, err := s.Store.OfflineConfig(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if cfg.Backend == "" {
		return nil, licet.Errorf(licet.ECONFLICT, "no backend is configured: set where licet saves the offline license first")
	}
	now := s.Clock.Now()
	rep := &licet.OfflineTest{At: now.UTC().Truncate(time.Second), By: actor, OK: true}
	step := func(name string, err error, ok string) bool {
		st := licet.OfflineTestStep{Name: name, OK: err == nil, Detail: ok}
		if err != nil {
			st.Detail = err.Error()
			if name != "clean up" {
				rep.OK = false
			}
		}
		rep.Steps = append(rep.Steps, st)
		return err == nil
	}
	skip := func(names ...string) {
		for _, n := range names {
			rep.Steps = append(rep.Steps, licet.OfflineTestStep{Name: n, Skipped: true, Detail: "skipped: an earlier step failed"})
		}
	}
	b := make([]byte, 8)
	rand.Read(b)
	suffix := ".probe-" + hex.EncodeToString(b)
	k := s.Keys.Active()
	doc := Build(k, o, 0, nil, now, now.Add(time.Hour))

	saveAt := withSuffix(cfg.Backend, suffix)
	if !step("upload", s.uploadTo(ctx, cfg.Auth, saveAt, ".upload", doc), "saved "+redact(saveAt)+" and read it back") {
		skip("read", "verify", "clean up")
		return rep, s.Store.RecordOfflineTest(ctx, orgID, *rep)
	}
	loc := cfg.Location
	if loc == "" {
		loc = protocol.OfflineLocation(o.URL)
	}
	readAt := withSuffix(loc, suffix)
	got, err := s.call(ctx, "", "GET", readAt, nil, nil, int64(len(doc))+1)
	if err == nil && sha256.Sum256(got) != sha256.Sum256(doc) {
		err = &Failure{Step: "GET", URL: redact(readAt), Category: FailReadBack}
	}
	if step("read", err, "found the probe at "+redact(readAt)+", where devices look") {
		keys := map[string]ed25519.PublicKey{k.ID: k.Private.Public().(ed25519.PublicKey)}
		_, _, err = protocol.VerifyOffline(got, keys, protocol.OfflineCheck{Org: o.ID, URL: o.URL, Now: now, Drift: 5 * time.Minute})
		// A probe licenses nobody: a device's checks all passed when the
		// only one left, the user's, fails.
		switch {
		case errors.Is(err, protocol.ErrUserNotLicensed):
			err = nil
		case err == nil:
			err = errors.New("the probe licenses a user it should not")
		default:
			err = fmt.Errorf("a device would not accept it: %v", err)
		}
		step("verify", err, "signature, organization, URL and validity are what a device accepts")
	} else {
		skip("verify")
	}
	_, err = s.call(ctx, cfg.Auth, "DELETE", saveAt, nil, nil, 64<<10)
	step("clean up", err, "removed the probe")
	return rep, s.Store.RecordOfflineTest(ctx, orgID, *rep)
}

// withSuffix appends suffix to a URL's path.
func withSuffix(raw, suffix string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw + suffix
	}
	u.Path += suffix
	u.RawPath = ""
	return u.String()
}
