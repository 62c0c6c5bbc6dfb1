package licet

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// SSOProvider is an OpenID Connect provider the operator registered for
// one organization or a group of organizations sharing a tenant. Its rule
// says who may administer them: an address in one of Domains whose
// provider verified it, and, when Claim is set, whose token's claim Claim
// equals or contains ClaimValue.
type SSOProvider struct {
	ID           string   `json:"id"` // a short name the operator picks: "contoso"
	Issuer       string   `json:"issuer"`
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret,omitempty"` // in: plain; never out
	SecretSet    bool     `json:"clientSecretSet"`
	Domains      []string `json:"domains"`
	Claim        string   `json:"claim,omitempty"`
	ClaimValue   string   `json:"claimValue,omitempty"`
	Orgs         []string `json:"orgs"`
	// Required refuses passwords for the administrators of Orgs: they sign
	// in through the provider (the operator's token still works).
	Required  bool      `json:"required"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	// SealedSecret is the client secret encrypted at rest; only the store
	// and the sso package see it.
	SealedSecret string `json:"-"`
}

// SSOIdentity is what licet keeps of a verified ID token: who signed in
// (issuer and subject) and the verified address. Nothing else.
type SSOIdentity struct {
	Issuer, Subject, Email string
}

// SSOStore keeps the registered providers, the half-done sign-ins and
// the administrators they provision.
type SSOStore interface {
	PutSSOProvider(ctx context.Context, p *SSOProvider, actor string) error
	SSOProviders(ctx context.Context) ([]*SSOProvider, error)
	SSOProvider(ctx context.Context, id string) (*SSOProvider, error)
	SSOProviderByDomain(ctx context.Context, domain string) (*SSOProvider, error)
	DeleteSSOProvider(ctx context.Context, id, actor string) error
	// SSORequired reports whether any of orgs requires signing in through
	// its provider.
	SSORequired(ctx context.Context, orgs []string) (bool, error)

	// A sign-in under way, kept between the redirect to the provider and
	// its answer. TakeSSOLogin returns it once and deletes it.
	PutSSOLogin(ctx context.Context, l *SSOLogin) error
	TakeSSOLogin(ctx context.Context, stateHash string) (*SSOLogin, error)

	// SSOSignIn provisions the identity as administrator of the provider's
	// organizations (SSOAllow), takes away what the provider gave it and
	// ends its sessions (SSODeny), or neither (SSOIgnore), and audits the
	// outcome with the issuer and subject in each of them.
	SSOSignIn(ctx context.Context, providerID string, id SSOIdentity, outcome SSOOutcome, why string) (*Admin, error)
}

// SSOOutcome is what a verified sign-in does to its address.
type SSOOutcome int

const (
	// SSOAllow: the token satisfies the rule.
	SSOAllow SSOOutcome = iota
	// SSODeny: a verified address of the provider's domains that no
	// longer satisfies the rule; it loses what the provider gave it.
	SSODeny
	// SSOIgnore: a refusal that says nothing about the address's owner
	// (unverified, or not the provider's domain): audited only.
	SSOIgnore
)

// SSOLogin is a sign-in under way: the state (stored hashed), the nonce
// and PKCE verifier it must come back with, and where to go after.
type SSOLogin struct {
	StateHash, ProviderID, Nonce, Verifier, RedirectURL, Next string
	Expires                                                   time.Time
}

// Bounds of a provider registration.
const (
	MaxSSODomains = 50
	MaxSSOOrgs    = 1000
	maxSSOField   = 1000
)

var (
	ssoIDRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	ssoDomainRe = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// Validate checks a registration and normalizes its domains and
// organizations. A new registration needs a client secret; an update
// without one keeps the stored secret.
func (p *SSOProvider) Validate() error {
	if !ssoIDRe.MatchString(p.ID) {
		return Errorf(EINVALID, "id %q must be 1 to 63 lower-case letters, digits or dashes", p.ID)
	}
	u, err := url.Parse(p.Issuer)
	switch {
	case p.Issuer == "" || len(p.Issuer) > maxSSOField:
		return Errorf(EINVALID, "issuer is required (at most %d bytes)", maxSSOField)
	case err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.ContainsFunc(p.Issuer, isControl):
		return Errorf(EINVALID, "issuer %q is not a plain https URL", p.Issuer)
	case u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())):
		return Errorf(EINVALID, "issuer %q must be https (http only on loopback, for tests)", p.Issuer)
	case p.ClientID == "" || len(p.ClientID) > maxSSOField || strings.ContainsFunc(p.ClientID, isControl):
		return Errorf(EINVALID, "clientId is required (at most %d bytes)", maxSSOField)
	case len(p.ClientSecret) > maxSSOField || strings.ContainsFunc(p.ClientSecret, isControl):
		return Errorf(EINVALID, "clientSecret may have at most %d bytes and no control characters", maxSSOField)
	case len(p.Claim) > 200 || len(p.ClaimValue) > maxSSOField || strings.ContainsFunc(p.Claim+p.ClaimValue, isControl):
		return Errorf(EINVALID, "claim or claimValue too long or with control characters")
	case (p.Claim == "") != (p.ClaimValue == ""):
		return Errorf(EINVALID, "claim and claimValue go together")
	case len(p.Domains) == 0 || len(p.Domains) > MaxSSODomains:
		return Errorf(EINVALID, "between 1 and %d domains", MaxSSODomains)
	case len(p.Orgs) == 0 || len(p.Orgs) > MaxSSOOrgs:
		return Errorf(EINVALID, "between 1 and %d organizations", MaxSSOOrgs)
	}
	var domains []string
	for _, d := range p.Domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if len(d) > 253 || !ssoDomainRe.MatchString(d) {
			return Errorf(EINVALID, "%q is not a domain name", d)
		}
		if !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	var orgs []string
	for _, o := range p.Orgs {
		id, ok := ParseGUID(strings.TrimSpace(o))
		if !ok {
			return Errorf(EINVALID, "organization %q is not a GUID", o)
		}
		if !slices.Contains(orgs, id) {
			orgs = append(orgs, id)
		}
	}
	p.Domains, p.Orgs = domains, orgs
	return nil
}

// EmailDomain is the lower-cased part after the last @, "" if none.
func EmailDomain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(email[i+1:])
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}
