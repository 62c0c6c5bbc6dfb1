package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/payload"
)

// privacyErase is the right to erasure for an e-mail address.
func (p *Program) privacyErase(ctx context.Context, args []string) error {
	c := p.opCmd("privacy erase", withJSON)
	email := c.String("email", "", "the address to erase everywhere")
	if err := c.parse(args); err != nil {
		return err
	}
	if _, err := licet.NormalizeEmails([]string{*email}); err != nil || strings.TrimSpace(*email) == "" {
		return usagef("--email must be a plain e-mail address")
	}
	var out licet.Erasure
	if err := c.call(ctx, "POST", "/v1/privacy/erase", payload.Email{Email: *email}, &out); err != nil {
		return err
	}
	return c.jsonOr(out, func() error {
		fmt.Fprintf(p.Stdout, "erased %s: removed from %d organization(s)' notification addresses, %d confirmation(s), %d opt-out(s); %d mail(s) deleted; %d audit entr(ies) no longer name it\n",
			out.Address, out.Organizations, out.Consents, out.OptOuts, out.Mails, out.AuditEntries)
		if len(out.Administers) > 0 {
			fmt.Fprintf(p.Stdout, "it still administers %s: licet admin remove --org GUID --email %s ends that\n", strings.Join(out.Administers, ", "), out.Address)
		}
		return nil
	})
}

// privacyExport prints everything stored about a user: the right of access.
func (p *Program) privacyExport(ctx context.Context, args []string) error {
	c := p.opCmd("privacy export", withOrg)
	user := c.String("user", "", "the user's GUID")
	if err := c.parse(args); err != nil {
		return err
	}
	u, err := guid("user", *user)
	if err != nil {
		return err
	}
	var out licet.UserRecord
	if err := c.call(ctx, "GET", "/v1/orgs/"+c.org+"/users/"+u+"/export", nil, &out); err != nil {
		return err
	}
	return p.printJSON(out)
}
