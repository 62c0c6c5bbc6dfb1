package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/licet/licet/protocol"
)

// Request is the MobileClient record a device sends.
type Request struct {
	Version          string `json:"version"`
	Edition          string `json:"edition"`
	DeviceID         string `json:"deviceId"`
	DeviceInfo       string `json:"deviceInfo"`
	OrganizationID   string `json:"organizationId"`
	OrganizationURL  string `json:"organizationUrl"`
	OrganizationName string `json:"organizationName"`
	UserID           string `json:"userId"`
}

// Source names who decided a check.
type Source string

const (
	SourcePrimary Source = "primary"
	SourceOffline Source = "offline"
	SourceBackup  Source = "backup"
	SourceCache   Source = "cache"
	SourceNone    Source = "none"
)

// Errors of the walk.
var (
	ErrUnreachable     = errors.New("cannot be reached")
	ErrNoOffline       = errors.New("no offline license at the backend")
	ErrClockRollback   = errors.New("the device clock is earlier than a time a signed document vouched for: not trusting local data")
	ErrNoCache         = errors.New("no verified lease stored on this device")
	ErrCacheExpired    = errors.New("the stored lease has expired")
	ErrNoTrustedKeys   = errors.New("no trusted public keys: configure them or allow fetching them over TLS")
	ErrRedirect        = errors.New("redirect not followed: the client follows only redirects to the same https origin")
	ErrOfflineTooLarge = errors.New("the offline license download is too large")
	ErrReplayed        = errors.New("the answer's lease is older than one already seen: a replay, not believed")
)

// Step is one source tried and why it did not decide.
type Step struct {
	Source Source `json:"source"`
	Err    error  `json:"-"`
	Reason string `json:"reason"`
}

// Outcome is a whole check's result.
type Outcome struct {
	Licensed    bool                     `json:"licensed"`
	Status      string                   `json:"status"`
	LicenseType string                   `json:"licenseType"`
	Message     string                   `json:"message"`
	Source      Source                   `json:"source"`
	Expires     time.Time                `json:"expires,omitzero"`
	Lease       *protocol.Lease          `json:"lease,omitempty"`
	Offline     *protocol.OfflineLicense `json:"offline,omitempty"`
	Steps       []Step                   `json:"steps"`
}

// Decided reports whether some source decided (licensed or not), as
// opposed to nothing being reachable and no usable local lease.
func (o *Outcome) Decided() bool { return o.Source != SourceNone }

// Config configures a Client. Zero durations take the defaults.
type Config struct {
	Primary    string // the primary server's URL
	Backup     string // the backup server's URL ("" for none)
	OfflineURL string // where the offline license is ("" for protocol.OfflineLocation(Request.OrganizationURL))
	Request    Request

	// Keys are the trusted public keys (key ID → key). When empty, the
	// client fetches /v1/keys once from the primary (then the backup) over
	// https and pins what it got in the store.
	Keys map[string]ed25519.PublicKey
	// AllowInsecureKeyFetch lets the first key fetch use plain http (tests
	// on loopback only).
	AllowInsecureKeyFetch bool
	// KeyRefresh is how often the client fetches the signed key set again
	// to learn of revoked keys (default 24h; negative: only when a lease
	// names an unknown key). Revocations apply to configured keys too.
	KeyRefresh time.Duration
	// Store keeps the device's State between checks: the file store of
	// OpenStore, or the app's own (StateStore). Nil keeps nothing.
	Store StateStore

	ConnectTimeout time.Duration // per connection (default 3s)
	StepTimeout    time.Duration // per source, connect to answer (default 5s)
	Deadline       time.Duration // the whole walk (default 15s)
	Drift          time.Duration // clock tolerance for offline licenses and rollback (default 5m)
	// MaxLease is the longest lease (exp − iat) the device believes: the
	// server's --lease-duration (default 7 days, protocol.DefaultLeaseLength).
	MaxLease time.Duration
	// MaxOfflineValidity is the longest offline license (exp − iat) the
	// device believes (default and most: protocol.MaxOfflineValidity).
	MaxOfflineValidity time.Duration
	Now                func() time.Time
	Transport          http.RoundTripper // default: a transport with ConnectTimeout
}

// Client runs checks.
type Client struct {
	c  Config
	hc *http.Client
}

// New makes a client.
func New(c Config) *Client {
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 3 * time.Second
	}
	if c.StepTimeout <= 0 {
		c.StepTimeout = 5 * time.Second
	}
	if c.Deadline <= 0 {
		c.Deadline = 15 * time.Second
	}
	if c.Drift <= 0 {
		c.Drift = protocol.DefaultDrift
	}
	if c.MaxLease <= 0 {
		c.MaxLease = protocol.DefaultLeaseLength
	}
	if c.MaxOfflineValidity <= 0 {
		c.MaxOfflineValidity = protocol.MaxOfflineValidity
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.KeyRefresh == 0 {
		c.KeyRefresh = 24 * time.Hour
	}
	if fs, ok := c.Store.(*Store); ok && fs == nil {
		c.Store = nil // a nil *Store keeps nothing, as before StateStore
	}
	tr := c.Transport
	if tr == nil {
		tr = &http.Transport{
			DialContext:         (&net.Dialer{Timeout: c.ConnectTimeout}).DialContext,
			TLSHandshakeTimeout: c.ConnectTimeout,
			Proxy:               http.ProxyFromEnvironment,
		}
	}
	return &Client{c: c, hc: &http.Client{Transport: tr, CheckRedirect: sameOriginHTTPS}}
}

// sameOriginHTTPS lets the client follow a redirect only within the same
// https origin: never to plain http, never to another host or port, where
// it would re-post the device record or pin a stranger's keys.
func sameOriginHTTPS(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if len(via) >= 5 || req.URL.Scheme != "https" || first.Scheme != "https" || !strings.EqualFold(req.URL.Host, first.Host) {
		return fmt.Errorf("%w (to %s)", ErrRedirect, req.URL.Redacted())
	}
	return nil
}

// Check runs the whole order: the primary; if it cannot be reached, the
// offline license on the organization's backend; if there is none, the
// backup; if nothing answers, the last verified lease stored locally.
func (cl *Client) Check(ctx context.Context) (*Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, cl.c.Deadline)
	defer cancel()
	var st State
	var storeErr error
	if cl.c.Store != nil {
		st, storeErr = cl.c.Store.Load()
	}
	o := &Outcome{Source: SourceNone, Status: "Unreachable"}
	if storeErr != nil {
		o.Steps = append(o.Steps, step(SourceCache, storeErr))
	}
	// The clock reading of this check; the store keeps the latest one
	// (and the latest believed iat), so that a clock set back is noticed
	// even when no signed document came in since.
	now := cl.c.Now()
	rollback := rolledBack(&st, now, cl.c.Drift)
	if now.After(st.LatestSeen) {
		st.LatestSeen = now
	}
	keys, err := cl.trustedKeys(ctx, &st)
	if err != nil {
		o.Steps = append(o.Steps, step(SourcePrimary, err))
		if rollback {
			o.Steps = append(o.Steps, step(SourceCache, ErrClockRollback))
			return o, cl.save(st)
		}
		return cl.fromCache(o, &st, nil), cl.save(st)
	}

	if done := cl.server(ctx, SourcePrimary, cl.c.Primary, keys, &st, o); done {
		return o, cl.save(st)
	}
	if !rollback {
		if done := cl.offline(ctx, keys, &st, o); done {
			return o, cl.save(st)
		}
	} else {
		o.Steps = append(o.Steps, step(SourceOffline, ErrClockRollback))
	}
	if cl.c.Backup != "" {
		if done := cl.server(ctx, SourceBackup, cl.c.Backup, keys, &st, o); done {
			return o, cl.save(st)
		}
	}
	if rollback {
		o.Steps = append(o.Steps, step(SourceCache, ErrClockRollback))
		return o, cl.save(st)
	}
	return cl.fromCache(o, &st, keys), cl.save(st)
}

// rolledBack reports whether the clock reads now earlier than the latest
// time the state has seen or trusted, by more than drift.
func rolledBack(st *State, now time.Time, drift time.Duration) bool {
	latest := st.LatestSeen
	if st.LatestTrusted.After(latest) {
		latest = st.LatestTrusted
	}
	return !latest.IsZero() && now.Before(latest.Add(-drift))
}

func step(s Source, err error) Step { return Step{Source: s, Err: err, Reason: err.Error()} }

func (cl *Client) save(st State) error {
	if cl.c.Store == nil {
		return nil
	}
	st.Request = cl.c.Request
	return cl.c.Store.Save(st)
}

// server asks one licet server; it reports whether the walk ends (a live
// server answered with a decision the device may believe).
func (cl *Client) server(ctx context.Context, src Source, base string, keys map[string]ed25519.PublicKey, st *State, o *Outcome) bool {
	if base == "" {
		o.Steps = append(o.Steps, step(src, fmt.Errorf("%w: no URL configured", ErrUnreachable)))
		return false
	}
	body, _ := json.Marshal(cl.c.Request)
	sctx, cancel := context.WithTimeout(ctx, cl.c.StepTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(sctx, "POST", strings.TrimRight(base, "/")+"/v1/license/check", bytes.NewReader(body))
	if err != nil {
		o.Steps = append(o.Steps, step(src, err))
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := cl.hc.Do(req)
	if err != nil {
		o.Steps = append(o.Steps, step(src, fmt.Errorf("%w: %w", ErrUnreachable, err)))
		return false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		o.Steps = append(o.Steps, step(src, fmt.Errorf("%w: reading the answer: %v", ErrUnreachable, err)))
		return false
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		o.Steps = append(o.Steps, step(src, fmt.Errorf("%w: %s", ErrUnreachable, resp.Status)))
		return false
	}
	var a struct {
		Status, LicenseType, Message, Lease, Signature, KeyID string
		Licensed                                              bool
		Error                                                 *struct{ Code, Message string }
	}
	if err := json.Unmarshal(b, &a); err != nil || resp.StatusCode >= 400 {
		msg := resp.Status
		if a.Error != nil {
			msg = a.Error.Message
		}
		o.Steps = append(o.Steps, step(src, fmt.Errorf("the server refused the check: %s", msg)))
		return false
	}
	if !a.Licensed {
		// A live server's "no" ends the walk and forgets the stored lease:
		// a user disabled now must not work on from the cache once the
		// licensing host is blocked. It is not signed: at worst a forger
		// makes a device stop working, never work unlicensed. A backup's
		// ReadOnlyServer ("cannot assign") is no revocation.
		o.Source, o.Status, o.Message, o.LicenseType = src, a.Status, a.Message, a.LicenseType
		if a.Status != "ReadOnlyServer" {
			st.Lease, st.Signature = nil, nil
		}
		return true
	}
	payload, err1 := protocol.DecodeBase64(a.Lease)
	sig, err2 := protocol.DecodeBase64(a.Signature)
	var l *protocol.Lease
	if err1 == nil && err2 == nil {
		l, err = cl.verifyLease(payload, sig, keys, st.RevokedKeys, cl.c.Now())
		if errors.Is(err, protocol.ErrUnknownKey) {
			// The server may have rotated its key (or revoked one): fetch
			// the signed key set again; new keys join the pins when the
			// app configured none.
			if fresh, ferr := cl.refreshKeys(ctx, st); ferr == nil {
				keys = fresh
				l, err = cl.verifyLease(payload, sig, keys, st.RevokedKeys, cl.c.Now())
			}
		}
	}
	if errors.Is(err, protocol.ErrRevokedKey) {
		o.Steps = append(o.Steps, step(src, fmt.Errorf("the answer's lease is %w", protocol.ErrRevokedKey)))
		return false
	}
	if errors.Is(err, protocol.ErrFromFuture) || errors.Is(err, protocol.ErrTooLong) {
		o.Steps = append(o.Steps, step(src, fmt.Errorf("the answer's lease: %w", err)))
		return false
	}
	if err1 != nil || err2 != nil || err != nil || string(l.Status) != a.Status || l.LicenseType != a.LicenseType {
		o.Steps = append(o.Steps, step(src, protocol.ErrForged))
		return false
	}
	exp, _ := time.Parse(time.RFC3339, l.ExpiresAt)
	iat, _ := time.Parse(time.RFC3339, l.IssuedAt)
	if !st.LatestTrusted.IsZero() && iat.Before(st.LatestTrusted.Add(-cl.c.Drift)) {
		// Older than a lease already seen: a replay, not a fresh answer.
		o.Steps = append(o.Steps, step(src, ErrReplayed))
		return false
	}
	o.Licensed, o.Source, o.Status, o.LicenseType, o.Message, o.Lease, o.Expires = true, src, string(l.Status), l.LicenseType, a.Message, l, exp
	st.Lease, st.Signature = payload, sig
	st.saw(iat)
	return true
}

// VerifyLease verifies a lease outside the walk (one the app kept, or
// received another way) exactly as the walk verifies every lease: its
// exact payload bytes and signature with the keys this device trusts now
// (Config.Keys, else the keys pinned in the store; never a key a signed
// key set revoked), then that it is for this device's organization, user
// and device, issued no later than Now+Drift, no longer than MaxLease, and
// not expired. A lease the app holds is local data, so, as for the stored
// lease, a device clock set back before the latest time the store has seen
// (beyond Drift) refuses it (ErrClockRollback). It loads the state from the
// store (a store that does not load is an error: its revocations are
// unknown), writes nothing and never touches the network.
// protocol.VerifyLease is the stateless check with keys and a LeaseCheck
// the caller supplies.
func (cl *Client) VerifyLease(payload, sig []byte) (*protocol.Lease, error) {
	var st State
	if cl.c.Store != nil {
		var err error
		if st, err = cl.c.Store.Load(); err != nil {
			return nil, err
		}
	}
	now := cl.c.Now()
	if rolledBack(&st, now, cl.c.Drift) {
		return nil, ErrClockRollback
	}
	return cl.verifyLease(payload, sig, cl.anchors(&st), st.RevokedKeys, now)
}

// verifyLease checks a lease against this device's record and the key IDs
// it knows to be revoked.
func (cl *Client) verifyLease(payload, sig []byte, keys map[string]ed25519.PublicKey, revoked []string, now time.Time) (*protocol.Lease, error) {
	r := cl.c.Request
	if strings.TrimSpace(r.OrganizationID) == "" || strings.TrimSpace(r.UserID) == "" || strings.TrimSpace(r.DeviceID) == "" {
		return nil, protocol.ErrForged // a device always names all three: never "any"
	}
	return protocol.VerifyLease(payload, sig, keys, protocol.LeaseCheck{Org: r.OrganizationID, User: r.UserID, Device: r.DeviceID, Now: now, Drift: cl.c.Drift,
		MaxLease: cl.c.MaxLease, Revoked: revoked})
}

// offline fetches and verifies the offline license from the backend.
func (cl *Client) offline(ctx context.Context, keys map[string]ed25519.PublicKey, st *State, o *Outcome) bool {
	where := cl.c.OfflineURL
	if where == "" {
		where = protocol.OfflineLocation(cl.c.Request.OrganizationURL)
	}
	sctx, cancel := context.WithTimeout(ctx, cl.c.StepTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(sctx, "GET", where, nil)
	if err != nil {
		o.Steps = append(o.Steps, step(SourceOffline, err))
		return false
	}
	resp, err := cl.hc.Do(req)
	if err != nil {
		o.Steps = append(o.Steps, step(SourceOffline, fmt.Errorf("%w: %w", ErrUnreachable, err)))
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		o.Steps = append(o.Steps, step(SourceOffline, ErrNoOffline))
		return false
	}
	if resp.StatusCode != http.StatusOK {
		o.Steps = append(o.Steps, step(SourceOffline, fmt.Errorf("%w: %s", ErrUnreachable, resp.Status)))
		return false
	}
	doc, err := io.ReadAll(io.LimitReader(resp.Body, protocol.MaxOfflineLicenseBytes+1))
	if err != nil {
		o.Steps = append(o.Steps, step(SourceOffline, fmt.Errorf("%w: %v", ErrUnreachable, err)))
		return false
	}
	if len(doc) > protocol.MaxOfflineLicenseBytes {
		o.Steps = append(o.Steps, step(SourceOffline, fmt.Errorf("%w: larger than %d MiB", ErrOfflineTooLarge, protocol.MaxOfflineLicenseBytes>>20)))
		return false
	}
	r := cl.c.Request
	l, typ, err := protocol.VerifyOffline(doc, keys, protocol.OfflineCheck{Org: r.OrganizationID, URL: r.OrganizationURL, User: r.UserID, Now: cl.c.Now(),
		Drift: cl.c.Drift, MaxValidity: cl.c.MaxOfflineValidity, Revoked: st.RevokedKeys})
	if err != nil {
		o.Steps = append(o.Steps, step(SourceOffline, err))
		return false
	}
	until, _ := time.Parse(time.RFC3339, l.ValidUntil)
	iat, _ := time.Parse(time.RFC3339, l.IssuedAt)
	o.Licensed, o.Source, o.Status, o.LicenseType, o.Offline, o.Expires = true, SourceOffline, "Licensed", typ, l, until
	o.Message = fmt.Sprintf("licensed by offline license %d", l.Serial)
	st.saw(iat)
	return true
}

// fromCache decides from the stored lease when no source could.
func (cl *Client) fromCache(o *Outcome, st *State, keys map[string]ed25519.PublicKey) *Outcome {
	if len(st.Lease) == 0 {
		o.Steps = append(o.Steps, step(SourceCache, ErrNoCache))
		return o
	}
	if keys == nil {
		keys = cl.anchors(st)
	}
	l, err := cl.verifyLease(st.Lease, st.Signature, keys, st.RevokedKeys, cl.c.Now())
	if errors.Is(err, protocol.ErrLeaseExpired) {
		err = ErrCacheExpired
	}
	if err != nil {
		o.Steps = append(o.Steps, step(SourceCache, err))
		if errors.Is(err, ErrCacheExpired) {
			o.Source, o.Status, o.Message = SourceCache, "NotLicensed", "the stored lease has expired and no licensing server can be reached"
		}
		return o
	}
	exp, _ := time.Parse(time.RFC3339, l.ExpiresAt)
	o.Licensed, o.Source, o.Status, o.LicenseType, o.Lease, o.Expires = true, SourceCache, string(l.Status), l.LicenseType, l, exp
	o.Message = "no licensing server can be reached; working on the stored lease until " + l.ExpiresAt
	return o
}

// pinned returns the keys pinned in the store, minus the revoked ones.
func pinned(st *State) map[string]ed25519.PublicKey {
	keys := map[string]ed25519.PublicKey{}
	for id, k := range st.PinnedKeys {
		if len(k) == ed25519.PublicKeySize && protocol.KeyID(k) == id && !slices.Contains(st.RevokedKeys, id) {
			keys[id] = ed25519.PublicKey(k)
		}
	}
	return keys
}

// trustedKeys returns the keys the device trusts now: the configured keys,
// else the pinned ones; never a key it has seen revoked. With none, it
// fetches the signed key set (https unless allowed otherwise) and pins its
// keys. When the last key set is older than KeyRefresh it fetches it
// again, to learn of revocations; a failed refresh is tried at the next
// check and does not stop this one.
func (cl *Client) trustedKeys(ctx context.Context, st *State) (map[string]ed25519.PublicKey, error) {
	keys := cl.anchors(st)
	if len(keys) > 0 {
		if cl.c.KeyRefresh > 0 && cl.c.Now().Sub(st.KeysFetched) >= cl.c.KeyRefresh {
			if fresh, err := cl.refreshKeys(ctx, st); err == nil {
				keys = fresh
			}
		}
		return keys, nil
	}
	fresh, err := cl.refreshKeys(ctx, st)
	if err != nil {
		return nil, errors.Join(ErrNoTrustedKeys, err)
	}
	return fresh, nil
}

// anchors are the configured keys, else the pinned ones, minus the revoked.
func (cl *Client) anchors(st *State) map[string]ed25519.PublicKey {
	if len(cl.c.Keys) == 0 {
		return pinned(st)
	}
	keys := make(map[string]ed25519.PublicKey, len(cl.c.Keys))
	for id, k := range cl.c.Keys {
		if !slices.Contains(st.RevokedKeys, id) {
			keys[id] = k
		}
	}
	return keys
}

// fetchKeySet gets GET /v1/keys from base and parses its signed key set
// (well formed, signed by every key it lists, listing no key the device
// knows to be revoked). Whether the device trusts it is refreshKeys' call.
func (cl *Client) fetchKeySet(ctx context.Context, base string, revoked []string) (*protocol.KeySet, error) {
	sctx, cancel := context.WithTimeout(ctx, cl.c.StepTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(sctx, "GET", strings.TrimRight(base, "/")+"/v1/keys", nil)
	if err != nil {
		return nil, err
	}
	resp, err := cl.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching keys: %w: %w", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	var out struct {
		KeySet *protocol.KeySetEnvelope `json:"keySet"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching keys: %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("fetching keys: %w", protocol.ErrKeySetMalformed)
	}
	ks, _, err := protocol.ParseKeySet(out.KeySet)
	if err != nil {
		return nil, err
	}
	return ks, ks.CheckRevoked(revoked)
}

// refreshKeys fetches the signed key set from the primary, then the
// backup, and applies the first one it may:
//
//   - signed by a key the device trusts: its revocations join the device's
//     for ever and (when the app configured no keys) its keys join the pins;
//   - otherwise, fetched over https (the trust of the very first fetch):
//     its revocations only, since they can only take trust away; and when
//     that leaves the device no trusted key (it knew only keys now
//     revoked), its keys are pinned as on the first fetch.
//
// Anything else is refused.
func (cl *Client) refreshKeys(ctx context.Context, st *State) (map[string]ed25519.PublicKey, error) {
	var errs []error
	for _, base := range []string{cl.c.Primary, cl.c.Backup} {
		if base == "" {
			continue
		}
		tls := strings.HasPrefix(base, "https://") || cl.c.AllowInsecureKeyFetch
		trusted := cl.anchors(st)
		if len(trusted) == 0 && !tls {
			errs = append(errs, fmt.Errorf("%w (%s is not https)", ErrNoTrustedKeys, base))
			continue
		}
		ks, err := cl.fetchKeySet(ctx, base, st.RevokedKeys)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		anchored := ks.SignedBy(trusted, st.RevokedKeys)
		if !anchored && !tls {
			errs = append(errs, fmt.Errorf("%w (from %s)", protocol.ErrKeySetUntrusted, base))
			continue
		}
		for _, id := range ks.RevokedIDs() {
			if !slices.Contains(st.RevokedKeys, id) {
				st.RevokedKeys = append(st.RevokedKeys, id)
			}
			delete(st.PinnedKeys, id)
		}
		if len(cl.c.Keys) == 0 && (anchored || len(cl.anchors(st)) == 0) {
			if st.PinnedKeys == nil {
				st.PinnedKeys = map[string][]byte{}
			}
			for id, k := range ks.PublicKeys() {
				st.PinnedKeys[id] = k
			}
		}
		st.KeysFetched = cl.c.Now()
		if keys := cl.anchors(st); len(keys) > 0 {
			return keys, nil
		}
		errs = append(errs, fmt.Errorf("%w: every key the device trusted is revoked", ErrNoTrustedKeys))
	}
	if len(errs) == 0 {
		errs = append(errs, ErrNoTrustedKeys)
	}
	return nil, errors.Join(errs...)
}
