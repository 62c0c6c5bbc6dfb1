package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/licet/licet"
)

// ssoProviders lists the registered providers.
func ssoProviders(ctx context.Context, a *api) ([]licet.SSOProvider, error) {
	var out struct {
		Providers []licet.SSOProvider `json:"providers"`
	}
	err := a.do(ctx, "GET", "/v1/sso", nil, &out)
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
	fs := p.flags("sso set")
	o := fs.operator()
	id := fs.String("id", "", "a short name for the provider registration, e.g. contoso")
	issuer := fs.String("issuer", "", "the provider's issuer URL, e.g. https://login.microsoftonline.com/TENANT/v2.0")
	clientID := fs.String("client-id", "", "the client (application) ID licet has at the provider")
	secretFile := fs.String("client-secret-file", "", "file holding the client secret (or LICET_SSO_CLIENT_SECRET)")
	domains := fs.String("domains", "", "e-mail domains whose addresses sign in here, comma-separated")
	orgs := fs.String("orgs", "", "GUIDs of the organizations the provider's people administer, comma-separated")
	claim := fs.String("claim", "", "a claim the ID token must hold, e.g. groups or roles (with --claim-value)")
	claimValue := fs.String("claim-value", "", "the value that claim must equal or contain")
	require := fs.Bool("require", false, "refuse passwords for these organizations' administrators")
	a, err := fs.parseClient(args, o)
	if err != nil {
		return err
	}
	if *id == "" {
		return usagef("--id is required")
	}
	var req struct {
		Issuer       string   `json:"issuer"`
		ClientID     string   `json:"clientId"`
		ClientSecret string   `json:"clientSecret,omitempty"`
		Domains      []string `json:"domains"`
		Claim        string   `json:"claim"`
		ClaimValue   string   `json:"claimValue"`
		Orgs         []string `json:"orgs"`
		Required     bool     `json:"required"`
	}
	all, err := ssoProviders(ctx, a)
	if err != nil {
		return err
	}
	for _, old := range all {
		if old.ID == *id {
			req.Issuer, req.ClientID, req.Domains, req.Orgs = old.Issuer, old.ClientID, old.Domains, old.Orgs
			req.Claim, req.ClaimValue, req.Required = old.Claim, old.ClaimValue, old.Required
		}
	}
	if fs.set("issuer") {
		req.Issuer = *issuer
	}
	if fs.set("client-id") {
		req.ClientID = *clientID
	}
	if fs.set("domains") {
		req.Domains = splitList(*domains)
	}
	if fs.set("orgs") {
		req.Orgs = splitList(*orgs)
	}
	if fs.set("claim") || fs.set("claim-value") {
		req.Claim, req.ClaimValue = *claim, *claimValue
	}
	if fs.set("require") {
		req.Required = *require
	}
	switch {
	case *secretFile != "":
		v, err := readSecretFile(*secretFile)
		if err != nil {
			return usagef("--client-secret-file: %v", err)
		}
		req.ClientSecret = v
	case p.Getenv("LICET_SSO_CLIENT_SECRET") != "":
		req.ClientSecret = p.Getenv("LICET_SSO_CLIENT_SECRET")
	}
	var out licet.SSOProvider
	if err := a.do(ctx, "PUT", "/v1/sso/"+url.PathEscape(*id), req, &out); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "Single sign-on %s: %s for %s, administering %d organization(s)\n", out.ID, out.Issuer, strings.Join(out.Domains, ", "), len(out.Orgs))
	return nil
}

func (p *Program) ssoList(ctx context.Context, args []string) error {
	fs := p.flags("sso list")
	o := fs.operator()
	asJSON := fs.Bool("json", false, "print JSON")
	a, err := fs.parseClient(args, o)
	if err != nil {
		return err
	}
	all, err := ssoProviders(ctx, a)
	if err != nil {
		return err
	}
	if *asJSON {
		return p.printJSON(all)
	}
	w := table(p.Stdout)
	fmt.Fprintln(w, "ID\tISSUER\tCLIENT ID\tDOMAINS\tRULE\tORGANIZATIONS\tREQUIRED")
	for _, v := range all {
		rule := "-"
		if v.Claim != "" {
			rule = v.Claim + " contains " + v.ClaimValue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Issuer, v.ClientID, strings.Join(v.Domains, ","), rule, strings.Join(v.Orgs, ","), onOff(v.Required))
	}
	return w.Flush()
}

func (p *Program) ssoRemove(ctx context.Context, args []string) error {
	fs := p.flags("sso remove")
	o := fs.operator()
	id := fs.String("id", "", "the provider registration's name")
	a, err := fs.parseClient(args, o)
	if err != nil {
		return err
	}
	if *id == "" {
		return usagef("--id is required")
	}
	if err := a.do(ctx, "DELETE", "/v1/sso/"+url.PathEscape(*id), nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(p.Stdout, "Single sign-on %s removed; the administrators it made no longer administer through it\n", *id)
	return nil
}
