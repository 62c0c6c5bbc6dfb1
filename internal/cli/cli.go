// Package cli is the licet command: it parses flags, wires the store, the
// keys, the service and the HTTP server for "licet serve", and talks to a
// running server's operator API for every other command.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/licet/licet"
)

// Program is one run of the licet command. Tests set its fields to run the
// real program in-process with a clock they control.
type Program struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Clock          licet.Clock
	// OnListen, if set, is told the address "serve" listens on.
	OnListen func(addr string)
}

// Run runs the command line args with the process's streams and stops on
// SIGINT or SIGTERM.
func Run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := &Program{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Clock: licet.SystemClock{}}
	return p.Run(ctx, args)
}

type command struct {
	name    string
	summary string
	run     func(p *Program, ctx context.Context, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"serve", "run the server", (*Program).serve},
		{"org create", "create an organization", (*Program).orgCreate},
		{"org set", "change an organization's settings", (*Program).orgSet},
		{"org show", "show an organization, its settings and its seats", (*Program).orgShow},
		{"org list", "list the organizations", (*Program).orgList},
		{"pool add", "sell seats of a license type to an organization", (*Program).poolAdd},
		{"pool set", "change a pool's seats or end", (*Program).poolSet},
		{"pool list", "list an organization's pools", (*Program).poolList},
		{"type set", "define a license type and the types it includes", (*Program).typeSet},
		{"type list", "list the license types", (*Program).typeList},
		{"user list", "list an organization's mobile users", (*Program).userList},
		{"user show", "show one mobile user", (*Program).userShow},
		{"user add", "pre-add a mobile user by ID", userAction("add")},
		{"user assign", "assign a license to a user", userAction("assign")},
		{"user unassign", "take a user's license back", userAction("unassign")},
		{"user enable", "enable a disabled user", userAction("enable")},
		{"user disable", "disable a user (frees the seat)", userAction("disable")},
		{"user delete", "delete a user and its data (frees the seat)", userAction("delete")},
		{"audit", "show an organization's audit log", (*Program).audit},
		{"admin add", "make an address an administrator of an organization; prints a one-time password link", (*Program).adminAdd},
		{"admin remove", "end an address's administration of an organization", (*Program).adminRemove},
		{"sso set", "register an organization's OpenID Connect provider for its administrators' sign-in", (*Program).ssoSet},
		{"sso list", "list the registered single sign-on providers", (*Program).ssoList},
		{"sso remove", "remove a single sign-on provider", (*Program).ssoRemove},
		{"mail list", "list notification mails: pending, sent, failed", (*Program).mailList},
		{"privacy erase", "erase an e-mail address everywhere: notification lists, opt-outs, confirmations, mails, audit", (*Program).privacyErase},
		{"privacy export", "print everything stored about a mobile user (right of access)", (*Program).privacyExport},
		{"offline issue", "issue a new offline license and save it to the organization's backend", (*Program).offlineIssue},
		{"offline set", "configure where an organization's offline license is saved", (*Program).offlineSet},
		{"offline show", "show offline license settings, changes since the last Update, and history", (*Program).offlineShow},
		{"offline test", "test the backend: save a probe, read it where devices look, verify it", (*Program).offlineTest},
		{"offline verify", "verify an offline license file as a device would", (*Program).offlineVerify},
		{"backup", "write a consistent snapshot of a SQLite server's database", (*Program).backup},
		{"check", "act as a device: run the whole check order and print the outcome", (*Program).checkDevice},
		{"keys public", "print the public keys as PEM", (*Program).keysPublic},
		{"keys rotate", "start signing with a new key", (*Program).keysRotate},
		{"secrets rotate", "seal the database's secrets with a new key in <data>/secrets.key", (*Program).secretsRotate},
		{"keys retire", "stop publishing a key that no longer signs: licet keys retire KEYID", (*Program).keysRetire},
		{"keys revoke", "mark a compromised key revoked; devices stop trusting it: licet keys revoke KEYID", (*Program).keysRevoke},
		{"version", "print licet's version", (*Program).version},
	}
}

// Run runs one command and returns the exit code. A failure prints one
// line on stderr.
func (p *Program) Run(ctx context.Context, args []string) int {
	if p.Getenv == nil {
		p.Getenv = func(string) string { return "" }
	}
	if p.Clock == nil {
		p.Clock = licet.SystemClock{}
	}
	if len(args) == 0 {
		fmt.Fprintln(p.Stderr, "licet: no command given; run 'licet help'")
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		p.usage(p.Stdout)
		return 0
	}
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			err := c.run(p, ctx, args[len(words):])
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			if err != nil {
				var ue usageError
				var ee errExit
				fmt.Fprintf(p.Stderr, "licet %s: %s\n", c.name, oneLine(err.Error()))
				if errors.As(err, &ue) {
					return 2
				}
				if errors.As(err, &ee) {
					return ee.code
				}
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(p.Stderr, "licet: unknown command %q; run 'licet help'\n", strings.Join(args[:min(2, len(args))], " "))
	return 2
}

func (p *Program) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: licet COMMAND [flags]  (licet COMMAND -h for a command's flags)")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for _, c := range commands {
		names = append(names, fmt.Sprintf("  %-15s %s", c.name, c.summary))
	}
	sort.Strings(names[1:])
	fmt.Fprintln(w, strings.Join(names, "\n"))
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// flagSet makes a command's flag set. Every flag may also come from the
// environment, as LICET_<NAME> (--token-file: LICET_TOKEN_FILE).
type flagSet struct {
	*flag.FlagSet
	p           *Program
	applyingEnv bool
}

// trackedString is a string flag that remembers whether it was given on the
// command line (rather than by LICET_<NAME>), where every local user can
// read it, so that the command can warn.
type trackedString struct {
	v             *string
	fs            *flagSet
	onCommandLine bool
}

func (s *trackedString) String() string {
	if s == nil || s.v == nil {
		return ""
	}
	return *s.v
}

func (s *trackedString) Set(v string) error {
	*s.v = v
	s.onCommandLine = !s.fs.applyingEnv
	return nil
}

func (p *Program) flags(name string) *flagSet {
	fs := flag.NewFlagSet("licet "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{FlagSet: fs, p: p}
}

// envName is the environment variable of a flag: LICET_ and its name in
// capitals, dashes as underscores.
func envName(flagName string) string {
	return "LICET_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse applies the environment, then the arguments, which win; it takes
// no argument beyond the flags.
func (f *flagSet) parse(args []string) error {
	if err := f.parseWithArgs(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return usagef("unexpected argument %q", f.Arg(0))
	}
	return nil
}

// parseWithArgs is parse for a command that takes arguments after its
// flags (f.Args).
func (f *flagSet) parseWithArgs(args []string) error {
	if err := f.applyEnv(); err != nil {
		return err
	}
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.printHelp(f.p.Stdout)
			return err
		}
		return usagef("%v", err)
	}
	return nil
}

// applyEnv sets every flag whose LICET_<NAME> variable is set.
func (f *flagSet) applyEnv() error {
	f.applyingEnv = true
	defer func() { f.applyingEnv = false }()
	var err error
	f.VisitAll(func(fl *flag.Flag) {
		name := envName(fl.Name)
		if v := f.p.Getenv(name); v != "" && err == nil {
			if serr := f.Set(fl.Name, v); serr != nil {
				err = usagef("%s: %v", name, serr)
			}
		}
	})
	return err
}

// printHelp lists the flags as flag.PrintDefaults does, each with the
// environment variable it also reads.
func (f *flagSet) printHelp(w io.Writer) {
	fmt.Fprintf(w, "usage of %s:\n", f.Name())
	f.VisitAll(func(fl *flag.Flag) {
		typ, usage := flag.UnquoteUsage(fl)
		if typ == "value" { // trackedString
			typ = "string"
		}
		line := "  --" + fl.Name
		if typ != "" {
			line += " " + typ
		}
		fmt.Fprintf(w, "%s  (env %s)\n    \t%s", line, envName(fl.Name), strings.ReplaceAll(usage, "\n", "\n    \t"))
		switch {
		case fl.DefValue == "" || fl.DefValue == "0" || fl.DefValue == "false" || fl.DefValue == "0s":
		case typ == "string":
			fmt.Fprintf(w, " (default %q)", fl.DefValue)
		default:
			fmt.Fprintf(w, " (default %v)", fl.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// set reports whether a flag was given on the command line.
func (f *flagSet) set(name string) bool {
	found := false
	f.Visit(func(fl *flag.Flag) { found = found || fl.Name == name })
	return found
}

// guid reads a required GUID flag.
func guid(name, v string) (string, error) {
	if v == "" {
		return "", usagef("--%s is required", name)
	}
	id, ok := licet.ParseGUID(v)
	if !ok {
		return "", usagef("--%s %q is not a GUID", name, v)
	}
	return id, nil
}
