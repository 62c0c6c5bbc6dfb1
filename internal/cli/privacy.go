package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/licet/licet"
)

// privacyErase is the right to erasure for an e-mail address.
func (p *Program) privacyErase(ctx context.Context, args []string) error {
	fs := p.flags("privacy erase")
	o := fs.operator()
	email := fs.String("email", "", "the address to erase everywhere")
	asJSON := fs.Bool("json", false, "print JSON")
	a, err := fs.parseClient(args, o)
	if err != nil {
		return err
	}
	if _, err := licet.NormalizeEmails([]string{*email}); err != nil || strings.TrimSpace(*email) == "" {
		return usagef("--email must be a plain e-mail address")
	}
	var out licet.Erasure
	if err := a.do(ctx, "POST", "/v1/privacy/erase", map[string]string{"email": *email}, &out); err != nil {
		return err
	}
	if *asJSON {
		return p.printJSON(out)
	}
	fmt.Fprintf(p.Stdout, "erased %s: removed from %d organization(s)' notification addresses, %d confirmation(s), %d opt-out(s); %d mail(s) deleted; %d audit entr(ies) no longer name it\n",
		out.Address, out.Organizations, out.Consents, out.OptOuts, out.Mails, out.AuditEntries)
	if len(out.Administers) > 0 {
		fmt.Fprintf(p.Stdout, "it still administers %s: licet admin remove --org GUID --email %s ends that\n", strings.Join(out.Administers, ", "), out.Address)
	}
	return nil
}

// privacyExport prints everything stored about a user: the right of access.
func (p *Program) privacyExport(ctx context.Context, args []string) error {
	fs := p.flags("privacy export")
	o := fs.operator()
	id := fs.String("org", "", "the organization's GUID")
	user := fs.String("user", "", "the user's GUID")
	org, a, err := fs.parseOrg(args, o, id)
	if err != nil {
		return err
	}
	u, err := guid("user", *user)
	if err != nil {
		return err
	}
	var out licet.UserRecord
	if err := a.do(ctx, "GET", "/v1/orgs/"+org+"/users/"+u+"/export", nil, &out); err != nil {
		return err
	}
	return p.printJSON(out)
}
