// Package offline issues offline licenses: the signed document an
// organization keeps on its own backend for devices that cannot reach the
// service, and saving it there over WebDAV so that no reader ever sees half
// a file. The format is the protocol package's (docs/PROTOCOL.md).
package offline

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/keys"
	"github.com/licet/licet/protocol"
)

// Store is what the service reads and writes: the organization, its
// pools and licensed users, and the issued offline licenses. licet.Store
// satisfies it; so does fake.OfflineStore.
type Store interface {
	Organization(ctx context.Context, id string) (*licet.Organization, error)
	Pools(ctx context.Context, orgID string) ([]licet.Pool, error)
	OfflineConfig(ctx context.Context, orgID string) (*licet.OfflineConfig, error)
	IssueOffline(ctx context.Context, orgID, actor string, build licet.OfflineBuilder) (*licet.OfflineIssue, error)
	RecordOfflineUpload(ctx context.Context, orgID string, serial int64, status, detail, actor string) error
	RecordOfflineTest(ctx context.Context, orgID string, t licet.OfflineTest) error
	OfflineHolders(ctx context.Context, orgID string) (licensed map[string]string, disabled map[string]bool, err error)
	OfflineAutoOrgs(ctx context.Context) ([]string, error)
	OfflineHistory(ctx context.Context, orgID string, limit int) ([]licet.OfflineIssue, error)
	OfflineDocument(ctx context.Context, orgID string) (*licet.OfflineIssue, error)
}

var _ Store = licet.Store(nil)

// Service issues and uploads offline licenses.
type Service struct {
	Store  Store
	Keys   *keys.Ring
	Clock  licet.Clock
	Logger *slog.Logger
	// HTTP talks to backends (NewHTTPClient); its timeout bounds a call.
	HTTP *http.Client
	// AllowPrivate lets backends and device locations be on loopback and
	// private addresses (serve --offline-allow-private).
	AllowPrivate bool
}

// New makes the service with its backend client.
func New(store Store, ring *keys.Ring, clock licet.Clock, logger *slog.Logger, allowPrivate bool) *Service {
	return &Service{Store: store, Keys: ring, Clock: clock, Logger: logger, HTTP: NewHTTPClient(allowPrivate), AllowPrivate: allowPrivate}
}

// Result is an issued license and how saving it went.
type Result struct {
	*licet.OfflineIssue
	Location string `json:"location"`
}

// Issue makes the organization's next offline license and saves it to the
// organization's backend when one is configured. The license is issued
// (and downloadable) even when the upload fails; the result says why.
func (s *Service) Issue(ctx context.Context, orgID, actor string) (*Result, error) {
	return s.issue(ctx, orgID, actor, -1)
}

// issue issues the next license; with after >= 0, only when the newest
// issued is still serial after (so two processes never both issue the
// same automatic Update).
func (s *Service) issue(ctx context.Context, orgID, actor string, after int64) (*Result, error) {
	cfg, err := s.Store.OfflineConfig(ctx, orgID)
	if err != nil {
		return nil, err
	}
	k := s.Keys.Active()
	now := s.Clock.Now()
	is, err := s.Store.IssueOffline(ctx, orgID, actor, func(org *licet.Organization, serial int64, users []*licet.User, pools []licet.Pool) ([]byte, time.Time, int, error) {
		if after >= 0 && serial != after+1 {
			return nil, time.Time{}, 0, errIssuedMeanwhile
		}
		if err := licet.ValidURL(org.URL); err != nil {
			return nil, time.Time{}, 0, licet.Errorf(licet.ECONFLICT, "an offline license needs the organization's URL: %s", licet.ErrorMessage(err))
		}
		until := now.Add(time.Duration(max(1, cfg.ValidDays)) * 24 * time.Hour).UTC().Truncate(time.Second)
		// Only seats within their term, and never past the end of the
		// subscription: an offline license cannot outlive what was sold.
		var valid []*licet.User
		for _, u := range users {
			end, ok := licet.ActiveUntil(now, pools, u.LicenseType)
			if !ok {
				continue
			}
			if !end.IsZero() && end.Before(until) {
				until = end.UTC().Truncate(time.Second)
			}
			valid = append(valid, u)
		}
		doc := Build(k, org, serial, valid, now, until)
		if len(doc) > protocol.MaxOfflineLicenseBytes {
			// Devices read no more than this: a larger document would
			// license no one.
			return nil, time.Time{}, 0, licet.Errorf(licet.ECONFLICT, "the offline license would be %d bytes, more than the %d devices read", len(doc), protocol.MaxOfflineLicenseBytes)
		}
		return doc, until, len(valid), nil
	})
	if err != nil {
		return nil, err
	}
	r := &Result{OfflineIssue: is, Location: cfg.Location}
	if r.Location == "" {
		o, err := s.Store.Organization(ctx, orgID)
		if err == nil {
			r.Location = protocol.OfflineLocation(o.URL)
		}
	}
	status, detail := "no backend", ""
	if cfg.Backend != "" {
		if err := s.upload(ctx, cfg, fmt.Sprintf(".upload-%d", is.Serial), is.Document); err != nil {
			status, detail = "failed", err.Error()
			s.Logger.Warn("offline license upload failed", "org", orgID, "serial", is.Serial, "err", detail)
		} else {
			status = "uploaded"
		}
	}
	if err := s.Store.RecordOfflineUpload(ctx, orgID, is.Serial, status, detail, actor); err != nil {
		return nil, err
	}
	is.UploadStatus, is.UploadDetail = status, detail
	if status == "uploaded" {
		is.UploadedAt = s.Clock.Now()
	}
	return r, nil
}

// Build makes the document: one header line with the key ID and the
// signature, then the payload those cover. The payload is compact JSON with
// sorted keys and sorted user IDs grouped by type: the same input gives the
// same bytes.
func Build(k *keys.Key, org *licet.Organization, serial int64, users []*licet.User, now, until time.Time) []byte {
	l := protocol.OfflineLicense{Version: 1, Kind: "offline", Serial: serial, Org: org.ID, URL: protocol.NormalizeURL(org.URL),
		IssuedAt: now.UTC().Format(time.RFC3339), ValidFrom: now.UTC().Format(time.RFC3339), ValidUntil: until.UTC().Format(time.RFC3339),
		KeyID: k.ID, Users: map[string][]string{}}
	for _, u := range users {
		l.Users[u.LicenseType] = append(l.Users[u.LicenseType], u.ID)
	}
	for _, ids := range l.Users {
		slices.Sort(ids)
	}
	payload, _ := json.Marshal(l)
	sig := ed25519.Sign(k.Private, payload)
	var b bytes.Buffer
	b.Grow(len(payload) + 128)
	fmt.Fprintf(&b, "%s %s %s\n", protocol.OfflineMagic, k.ID, base64.StdEncoding.EncodeToString(sig))
	b.Write(payload)
	return b.Bytes()
}

func cutSpace(s string) (string, string, bool) { return strings.Cut(s, " ") }
func cutColon(s string) (string, string, bool) { return strings.Cut(s, ":") }

// redact drops any user information from a URL before it is shown.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.User = nil
	return p.String()
}
