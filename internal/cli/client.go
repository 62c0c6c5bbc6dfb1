package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// api talks to a running server's operator API.
type api struct {
	base  string
	token string
	hc    *http.Client
}

// operatorFlags adds --server, --token and --token-file to a command.
type operatorFlags struct {
	server, token, tokenFile string
	tokenFlag                *trackedString
	stderr                   io.Writer
}

func (f *flagSet) operator() *operatorFlags {
	o := &operatorFlags{stderr: f.p.Stderr}
	o.tokenFlag = &trackedString{v: &o.token, fs: f}
	f.StringVar(&o.server, "server", "http://127.0.0.1:8080", "the licet server's URL")
	f.Var(o.tokenFlag, "token", "operator token (prefer LICET_TOKEN or --token-file: a command line is visible to every local user)")
	f.StringVar(&o.tokenFile, "token-file", "./licet-data/operator-token", "file holding the operator token")
	return o
}

// opCmd is a command that talks to the operator API: its flags (--server,
// --token, --token-file, and --org and --json when it takes them), then
// its client. Each command reads: flags, parse, request, print.
type opCmd struct {
	*flagSet
	op     *operatorFlags
	orgID  *string
	asJSON *bool
	token  bool // the client sends the operator token
	org    string
	api    *api
}

// What an opCmd takes besides the operator flags.
const (
	withOrg  = 1 << iota // --org, the organization's GUID
	withJSON             // --json
	noToken              // the client sends no operator token
)

func (p *Program) opCmd(name string, opts int) *opCmd {
	fs := p.flags(name)
	c := &opCmd{flagSet: fs, op: fs.operator(), asJSON: new(bool), token: opts&noToken == 0}
	if opts&withOrg != 0 {
		c.orgID = fs.String("org", "", "the organization's GUID")
	}
	if opts&withJSON != 0 {
		c.asJSON = fs.Bool("json", false, "print JSON")
	}
	return c
}

// parseArgs parses the flags and reads --org; the client is made when
// first needed, so that a command-line mistake is told before any token
// is read.
func (c *opCmd) parseArgs(args []string) error {
	if err := c.flagSet.parse(args); err != nil {
		return err
	}
	if c.orgID != nil {
		org, err := guid("org", *c.orgID)
		if err != nil {
			return err
		}
		c.org = org
	}
	return nil
}

// parse parses the flags and --org, and makes the client.
func (c *opCmd) parse(args []string) error {
	if err := c.parseArgs(args); err != nil {
		return err
	}
	return c.connect()
}

func (c *opCmd) connect() error {
	if c.api != nil {
		return nil
	}
	a, err := c.op.client(c.token)
	c.api = a
	return err
}

// call sends a request and decodes the answer into out (when not nil).
func (c *opCmd) call(ctx context.Context, method, path string, body, out any) error {
	if err := c.connect(); err != nil {
		return err
	}
	return c.api.do(ctx, method, path, body, out)
}

// jsonOr prints v as JSON with --json, else runs text.
func (c *opCmd) jsonOr(v any, text func() error) error {
	if *c.asJSON {
		return c.p.printJSON(v)
	}
	return text()
}

// list prints items as JSON with --json, else as a table.
func list[T any](c *opCmd, items []T, header string, row func(T) []any) error {
	return c.jsonOr(items, func() error { return printTable(c.p.Stdout, items, header, row) })
}

// printTable prints a header line and a line of cells for each item,
// aligned in columns.
func printTable[T any](out io.Writer, items []T, header string, row func(T) []any) error {
	w := table(out)
	fmt.Fprintln(w, header)
	for _, it := range items {
		for i, v := range row(it) {
			if i > 0 {
				fmt.Fprint(w, "\t")
			}
			fmt.Fprint(w, v)
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}

// client returns an API client; withToken reads the operator token.
func (o *operatorFlags) client(withToken bool) (*api, error) {
	u, err := url.Parse(o.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--server %q is not an http or https URL", o.server)
	}
	// The API never redirects: a redirect is not followed (it could send
	// the token, or fetch keys, elsewhere or over plain http).
	a := &api{base: strings.TrimRight(o.server, "/"), hc: &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if !withToken {
		return a, nil
	}
	a.token = strings.TrimSpace(o.token)
	if a.token != "" && o.tokenFlag.onCommandLine && o.stderr != nil {
		fmt.Fprintln(o.stderr, "licet: warning: --token on the command line is visible to every local user (ps, /proc) and stays in shell history; use --token-file or LICET_TOKEN")
	}
	if a.token == "" {
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("no operator token: pass --token, set LICET_TOKEN, or point --token-file at the server's operator-token (%v)", err)
		}
		a.token = strings.TrimSpace(string(b))
	}
	if a.token == "" {
		return nil, fmt.Errorf("the operator token is empty")
	}
	return a, nil
}

// get sends a GET and returns a successful response for the caller to
// read (and close); a failure is returned as do returns it.
func (a *api) get(ctx context.Context, path string) (*http.Response, error) {
	resp, err := a.send(ctx, "GET", path, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, a.failure(resp)
	}
	return resp, nil
}

// send sends a request; the caller reads and closes the response.
func (a *api) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach the server at %s: %v", a.base, err)
	}
	return resp, nil
}

// failure turns an error answer into the server's one-line message.
func (a *api) failure(resp *http.Response) error {
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return fmt.Errorf("the server answered %s to %q: licet does not follow redirects; give --server the server's own URL", resp.Status, resp.Header.Get("Location"))
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		if resp.StatusCode == http.StatusUnauthorized {
			return fmt.Errorf("the server refused the operator token (check --token, LICET_TOKEN or --token-file)")
		}
		return errors.New(e.Error.Message)
	}
	return fmt.Errorf("the server answered %s", resp.Status)
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (a *api) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := a.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return a.failure(resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the server's answer: %v", err)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("the server's answer is not what licet expects: %v", err)
		}
	}
	return nil
}
