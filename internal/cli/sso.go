package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/secretfile"
)

// ssoProviders lists the registered providers.
func ssoProviders(ctx context.Context, c *opCmd) ([]*licet.SSOProvider, error) {
	var out payload.SSOList
	err := c.call(ctx, "GET", "/v1/sso", nil, &out)
	return out.Providers, err
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// ssoSet registers a provider, or changes the flags given of one already
// registered (the others keep their values).
func (p *Program) ssoSet(ctx context.Context, args []string) error {
	c := p.opCmd("sso set", 0)
	id := c.String("id", "", "a short name for the provider registration, e.g. contoso")
	issuer := c.String("issuer", "", "the provider's issuer URL, e.g. https://login.microsoftonline.com/TENANT/v2.0")
	clientID := c.String("client-id", "", "the client (application) ID licet has at the provider")
	secretFile := c.String("client-secret-file", "", "file holding the client secret (or LICET_SSO_CLIENT_SECRET)")
	domains := c.String("domains", "", "e-mail domains whose addresses sign in here, comma-separated")
	orgs := c.String("orgs", "", "GUIDs of the organizations the provider's people administer, comma-separated")
	claim := c.String("claim", "", "a claim the ID token must hold, e.g. groups or roles (with --claim-value)")
	claimValue := c.String("claim-value", "", "the value that claim must equal or contain")
	require := c.Bool("require", false, "refuse passwords for these organizations' administrators")
	if err := c.parse(args); err != nil {
		return err
	}
	if *id == "" {
		return usagef("--id is required")
	}
	var req payload.SSOProvider
	all, err := ssoProviders(ctx, c)
	if err != nil {
		return err
	}
	for _, old := range all {
		if old.ID == *id {
			req.Issuer, req.ClientID, req.Domains, req.Orgs = old.Issuer, old.ClientID, old.Domains, old.Orgs
			req.Claim, req.ClaimValue, req.Required = old.Claim, old.ClaimValue, old.Required
		}
	}
	if c.set("issuer") {
		req.Issuer = *issuer
	}
	if c.set("client-id") {
		req.ClientID = *clientID
	}
	if c.set("domains") {
		req.Domains = splitList(*domains)
	}
	if c.set("orgs") {
		req.Orgs = splitList(*orgs)
	}
	if c.set("claim") || c.set("claim-value") {
		req.Claim, req.ClaimValue = *claim, *claimValue
	}
	if c.set("require") {
		req.Required = *require
	}
	switch {
	case *secretFile != "":
		v, err := secretfile.Read(*secretFile)
		if err != nil {
			return usagef("--client-secret-file: %v", err)
		}
		req.ClientSecret = v
	case p.Getenv("LICET_SSO_CLIENT_SECRET") != "":
		req.ClientSecret = p.Getenv("LICET_SSO_CLIENT_SECRET")
	}
	var out licet.SSOProvider
	if err := c.call(ctx, "PUT", "/v1/sso/"+url.PathEscape(*id), req, &out); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "Single sign-on %s: %s for %s, administering %d organization(s)\n", out.ID, out.Issuer, strings.Join(out.Domains, ", "), len(out.Orgs))
	return nil
}

func (p *Program) ssoList(ctx context.Context, args []string) error {
	c := p.opCmd("sso list", withJSON)
	if err := c.parse(args); err != nil {
		return err
	}
	all, err := ssoProviders(ctx, c)
	if err != nil {
		return err
	}
	return list(c, all, "ID\tISSUER\tCLIENT ID\tDOMAINS\tRULE\tORGANIZATIONS\tREQUIRED", func(v *licet.SSOProvider) []any {
		rule := "-"
		if v.Claim != "" {
			rule = v.Claim + " contains " + v.ClaimValue
		}
		return []any{v.ID, v.Issuer, v.ClientID, strings.Join(v.Domains, ","), rule, strings.Join(v.Orgs, ","), onOff(v.Required)}
	})
}

func (p *Program) ssoRemove(ctx context.Context, args []string) error {
	c := p.opCmd("sso remove", 0)
	id := c.String("id", "", "the provider registration's name")
	if err := c.parse(args); err != nil {
		return err
	}
	if *id == "" {
		return usagef("--id is required")
	}
	if err := c.call(ctx, "DELETE", "/v1/sso/"+url.PathEscape(*id), nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "Single sign-on %s removed; the administrators it made no longer administer through it\n", *id)
	return nil
}
