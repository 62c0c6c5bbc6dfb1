package licet

import (
	"strings"
	"testing"
)

func TestSSOProviderValidate(t *testing.T) {
	good := func() SSOProvider {
		return SSOProvider{ID: "contoso", Issuer: "https://login.example.com/t/v2.0", ClientID: "c", ClientSecret: "s",
			Domains: []string{" Contoso.COM", "contoso.com", "contoso.de"}, Orgs: []string{"{4f767aff-b33f-437c-a7cb-00249948c82b}"}}
	}
	p := good()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Domains, ",") != "contoso.com,contoso.de" || p.Orgs[0] != "4F767AFF-B33F-437C-A7CB-00249948C82B" {
		t.Errorf("normalized: %v %v", p.Domains, p.Orgs)
	}
	for name, edit := range map[string]func(p *SSOProvider){
		"id with capitals":     func(p *SSOProvider) { p.ID = "Contoso" },
		"id too long":          func(p *SSOProvider) { p.ID = strings.Repeat("a", 64) },
		"http issuer":          func(p *SSOProvider) { p.Issuer = "http://login.example.com" },
		"issuer with user":     func(p *SSOProvider) { p.Issuer = "https://u:p@login.example.com" },
		"issuer with fragment": func(p *SSOProvider) { p.Issuer = "https://login.example.com#x" },
		"no client":            func(p *SSOProvider) { p.ClientID = "" },
		"control in secret":    func(p *SSOProvider) { p.ClientSecret = "a\nb" },
		"claim without value":  func(p *SSOProvider) { p.Claim = "groups" },
		"value without claim":  func(p *SSOProvider) { p.ClaimValue = "x" },
		"no domain":            func(p *SSOProvider) { p.Domains = nil },
		"a domain with @":      func(p *SSOProvider) { p.Domains = []string{"a@contoso.com"} },
		"a top-level domain":   func(p *SSOProvider) { p.Domains = []string{"com"} },
		"a wildcard":           func(p *SSOProvider) { p.Domains = []string{"*.contoso.com"} },
		"no organization":      func(p *SSOProvider) { p.Orgs = nil },
		"a bad organization":   func(p *SSOProvider) { p.Orgs = []string{"nope"} },
		"too many domains":     func(p *SSOProvider) { p.Domains = make([]string, MaxSSODomains+1) },
	} {
		p := good()
		edit(&p)
		if err := p.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, host := range []string{"http://127.0.0.1:5556", "http://localhost:8080/dex"} {
		p := good()
		p.Issuer = host
		if err := p.Validate(); err != nil {
			t.Errorf("loopback issuer %s: %v", host, err)
		}
	}
}
