// Package sso signs organization administrators in through their own
// OpenID Connect provider: the authorization code flow with PKCE, the
// checks of the ID token, and the operator's rule of who may administer.
// It knows nothing of HTTP pages or sessions: the console asks it where to
// send a browser and what the provider's answer means.
package sso

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/licet/licet"
	"golang.org/x/oauth2"
)

// Store is what the sign-in needs of the database.
type Store interface {
	SSOProvider(ctx context.Context, id string) (*licet.SSOProvider, error)
	SSOProviderByDomain(ctx context.Context, domain string) (*licet.SSOProvider, error)
	PutSSOLogin(ctx context.Context, l *licet.SSOLogin) error
	TakeSSOLogin(ctx context.Context, stateHash string) (*licet.SSOLogin, error)
	SSOSignIn(ctx context.Context, providerID string, id licet.SSOIdentity, outcome licet.SSOOutcome, why string) (*licet.Admin, error)
}

// Sealer encrypts secrets at rest (the providers' client secrets).
type Sealer interface {
	Seal(plain []byte) (string, error)
	Open(sealed string) ([]byte, error)
}

// LoginLife bounds the time from the redirect to the provider to its answer.
const LoginLife = 10 * time.Minute

// providerLife is how long a provider's discovery document (and the key
// set it names) is kept before it is fetched again.
const providerLife = 15 * time.Minute

// Signing algorithms accepted in ID tokens: asymmetric only, so neither
// "none" nor an HMAC keyed with the client secret can pass.
var signingAlgs = []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}

// Service runs sign-ins.
type Service struct {
	store  Store
	sealer Sealer
	clock  licet.Clock
	client *http.Client

	mu        sync.Mutex
	providers map[string]cachedProvider
}

type cachedProvider struct {
	p       *oidc.Provider
	fetched time.Time
}

// New returns a Service. client talks to the providers (nil: one with a
// 10-second timeout).
func New(store Store, sealer Sealer, clock licet.Clock, client *http.Client) *Service {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Service{store: store, sealer: sealer, clock: clock, client: client, providers: map[string]cachedProvider{}}
}

// Seal encrypts a provider's client secret for the store.
func (s *Service) Seal(p *licet.SSOProvider) error {
	if p.ClientSecret == "" {
		return nil
	}
	sealed, err := s.sealer.Seal([]byte(p.ClientSecret))
	if err != nil {
		return fmt.Errorf("sso: seal the client secret: %w", err)
	}
	p.SealedSecret, p.ClientSecret = sealed, ""
	return nil
}

// Error is a sign-in that cannot go on: Status and Message are for the
// person at the browser; Cause is for the log.
type Error struct {
	Status  int
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

var (
	msgNoProvider = "No organization signs in with its own account at that address. Use your password."
	msgDown       = "Your organization's sign-in service cannot be reached now. Try again in a few minutes."
	msgStale      = "This sign-in expired or was used already. Start again."
	msgRefused    = "Your organization's account does not allow you to administer licenses here. Ask your organization's administrator."
	msgBadAnswer  = "Your organization's sign-in service gave an answer that licet cannot trust. Start again, or ask your organization's administrator."
	msgNoSecret   = "Sign-in with your organization's account does not work on this server now: the vendor must restore its secrets key or register the provider again."
)

func fail(status int, msg string, cause error) *Error {
	return &Error{Status: status, Message: msg, Cause: cause}
}

// provider returns the discovered provider of an issuer, fetching its
// discovery document when it is not known or is old.
func (s *Service) provider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	now := time.Now()
	s.mu.Lock()
	c, ok := s.providers[issuer]
	s.mu.Unlock()
	if ok && now.Sub(c.fetched) < providerLife {
		return c.p, nil
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, s.client), 15*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.providers[issuer] = cachedProvider{p: p, fetched: now}
	s.mu.Unlock()
	return p, nil
}

func (s *Service) config(p *licet.SSOProvider, op *oidc.Provider, redirectURL string) (*oauth2.Config, error) {
	secret, err := s.sealer.Open(p.SealedSecret)
	if err != nil {
		return nil, fail(http.StatusServiceUnavailable, msgNoSecret, fmt.Errorf("open the client secret of %q: %w", p.ID, err))
	}
	return &oauth2.Config{ClientID: p.ClientID, ClientSecret: string(secret), Endpoint: op.Endpoint(),
		RedirectURL: redirectURL, Scopes: []string{oidc.ScopeOpenID, "email"}}, nil
}

// Begin starts the sign-in of an address: it finds the provider by the
// address's domain and returns the provider's URL to send the browser to,
// and the state the browser must bring back (to keep in a cookie).
func (s *Service) Begin(ctx context.Context, email, redirectURL, next string) (authURL, state string, err error) {
	domain := licet.EmailDomain(email)
	if domain == "" || len(email) > licet.MaxEmailLen {
		return "", "", fail(http.StatusBadRequest, "Type your e-mail address.", nil)
	}
	p, err := s.store.SSOProviderByDomain(ctx, domain)
	if licet.ErrorCode(err) == licet.ENOTFOUND {
		return "", "", fail(http.StatusNotFound, msgNoProvider, nil)
	} else if err != nil {
		return "", "", err
	}
	op, err := s.provider(ctx, p.Issuer)
	if err != nil {
		return "", "", fail(http.StatusBadGateway, msgDown, fmt.Errorf("provider %q discovery: %w", p.ID, err))
	}
	cfg, err := s.config(p, op, redirectURL)
	if err != nil {
		return "", "", err
	}
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	if err := s.store.PutSSOLogin(ctx, &licet.SSOLogin{StateHash: hash(state), ProviderID: p.ID, Nonce: nonce, Verifier: verifier,
		RedirectURL: redirectURL, Next: next, Expires: s.clock.Now().Add(LoginLife)}); err != nil {
		return "", "", err
	}
	return cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", email)), state, nil
}

// Result is a completed sign-in.
type Result struct {
	Admin    *licet.Admin
	Identity licet.SSOIdentity
	Expires  time.Time // the ID token's expiry: the session ends no later
	Next     string
	Provider string // the registration's ID: the session reaches what it gave
}

// Finish completes a sign-in with the provider's answer: the state (as
// the browser brought it back and as its cookie holds it) and the code.
func (s *Service) Finish(ctx context.Context, state, cookieState, code string) (*Result, error) {
	if state == "" || len(state) > 100 || subtle.ConstantTimeCompare([]byte(state), []byte(cookieState)) != 1 {
		return nil, fail(http.StatusBadRequest, msgStale, errors.New("state missing or not this browser's"))
	}
	l, err := s.store.TakeSSOLogin(ctx, hash(state))
	if licet.ErrorCode(err) == licet.ENOTFOUND {
		return nil, fail(http.StatusBadRequest, msgStale, err)
	} else if err != nil {
		return nil, err
	}
	if code == "" || len(code) > 4096 {
		return nil, fail(http.StatusBadRequest, msgStale, errors.New("no code"))
	}
	p, err := s.store.SSOProvider(ctx, l.ProviderID)
	if licet.ErrorCode(err) == licet.ENOTFOUND {
		return nil, fail(http.StatusBadRequest, msgStale, err)
	} else if err != nil {
		return nil, err
	}
	op, err := s.provider(ctx, p.Issuer)
	if err != nil {
		return nil, fail(http.StatusBadGateway, msgDown, fmt.Errorf("provider %q discovery: %w", p.ID, err))
	}
	cfg, err := s.config(p, op, l.RedirectURL)
	if err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(oidc.ClientContext(ctx, s.client), 15*time.Second)
	defer cancel()
	tok, err := cfg.Exchange(octx, code, oauth2.VerifierOption(l.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return nil, fail(http.StatusBadRequest, msgStale, fmt.Errorf("provider %q refused the code: %w", p.ID, err))
		}
		return nil, fail(http.StatusBadGateway, msgDown, fmt.Errorf("provider %q token exchange: %w", p.ID, err))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fail(http.StatusBadGateway, msgBadAnswer, fmt.Errorf("provider %q sent no ID token", p.ID))
	}
	idt, err := op.Verifier(&oidc.Config{ClientID: p.ClientID, SupportedSigningAlgs: signingAlgs, Now: s.clock.Now}).Verify(octx, raw)
	if err != nil {
		return nil, fail(http.StatusForbidden, msgBadAnswer, fmt.Errorf("provider %q ID token: %w", p.ID, err))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(l.Nonce)) != 1 {
		return nil, fail(http.StatusForbidden, msgBadAnswer, fmt.Errorf("provider %q ID token: nonce does not match this sign-in", p.ID))
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, fail(http.StatusForbidden, msgBadAnswer, err)
	}
	// A token for several audiences must have been issued to licet
	// (OpenID Connect Core 3.1.3.7): otherwise another client's token
	// that merely names licet too would pass.
	if azp, _ := claims["azp"].(string); (len(idt.Audience) > 1 || azp != "") && azp != p.ClientID {
		return nil, fail(http.StatusForbidden, msgBadAnswer, fmt.Errorf("provider %q ID token: authorized party %q is not licet", p.ID, azp))
	}
	// Providers that keep the address (or the rule's claim) out of the ID
	// token give it at the userinfo endpoint, for the same subject.
	if _, ok := claims["email"]; !ok || (p.Claim != "" && claims[p.Claim] == nil) {
		if ui, err := op.UserInfo(octx, oauth2.StaticTokenSource(tok)); err == nil && ui.Subject == idt.Subject {
			extra := map[string]any{}
			if ui.Claims(&extra) == nil {
				for k, v := range extra {
					if _, ok := claims[k]; !ok && k != "iss" && k != "aud" && k != "sub" {
						claims[k] = v
					}
				}
			}
		}
	}
	email, _ := claims["email"].(string)
	email = strings.ToLower(strings.TrimSpace(email))
	id := licet.SSOIdentity{Issuer: idt.Issuer, Subject: idt.Subject, Email: email}
	res := &Result{Identity: id, Expires: idt.Expiry, Next: l.Next, Provider: p.ID}
	verified := truthy(claims["email_verified"]) || truthy(claims["xms_edov"])
	switch {
	case email == "" || len(email) > licet.MaxEmailLen || !validEmail(email):
		return nil, fail(http.StatusForbidden, msgRefused, fmt.Errorf("provider %q: the token has no usable e-mail address", p.ID))
	case !verified:
		return nil, s.refuse(ctx, p, id, false, "the provider did not verify the address")
	case !slices.Contains(p.Domains, licet.EmailDomain(email)):
		return nil, s.refuse(ctx, p, id, false, "the address's domain is not the provider's")
	case p.Claim != "" && !claimHas(claims[p.Claim], p.ClaimValue):
		return nil, s.refuse(ctx, p, id, true, "claim "+p.Claim+" does not hold "+p.ClaimValue)
	}
	a, err := s.store.SSOSignIn(ctx, p.ID, id, licet.SSOAllow, "")
	if err != nil {
		return nil, err
	}
	res.Admin = a
	return res, nil
}

// refuse audits a refusal. Only a verified address of the provider's own
// domains that no longer satisfies the rule loses what the provider gave
// it: an unverified or foreign address says nothing about anyone.
func (s *Service) refuse(ctx context.Context, p *licet.SSOProvider, id licet.SSOIdentity, deprovision bool, why string) error {
	outcome := licet.SSOIgnore
	if deprovision {
		outcome = licet.SSODeny
	}
	if _, err := s.store.SSOSignIn(ctx, p.ID, id, outcome, why); err != nil && licet.ErrorCode(err) != licet.EFORBIDDEN {
		return err
	}
	return fail(http.StatusForbidden, msgRefused, fmt.Errorf("provider %q, subject %q: %s", p.ID, id.Subject, why))
}

// claimHas: a string claim equals want; a list claim contains it.
func claimHas(v any, want string) bool {
	switch v := v.(type) {
	case string:
		return v == want
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s == want {
				return true
			}
		}
	case bool:
		return (want == "true") == v
	case json.Number, float64:
		return fmt.Sprint(v) == want
	}
	return false
}

func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

func validEmail(e string) bool {
	_, err := licet.NormalizeEmails([]string{e})
	return err == nil
}

func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
