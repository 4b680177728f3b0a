package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lynctrust/lynctrust/change"
	"github.com/lynctrust/lynctrust/lync"
	"github.com/urfave/cli/v2"
)

func replaceCommand(g *globals) *cli.Command {
	flags := append(connFlags(), writeFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "identity", Value: "Global", Usage: "collection: Global | site:NAME | service:WebServer:FQDN"},
		&cli.StringSliceFlag{Name: "thumbprint", Usage: "the whole new list (repeatable); THUMBPRINT or THUMBPRINT:CASTORE"},
		&cli.StringFlag{Name: "ca-store", Value: "TrustedRootCA", Usage: "CA store for thumbprints given without one"},
		&cli.BoolFlag{Name: "clear", Usage: "empty the collection on purpose (instead of --thumbprint); snapshot and confirmation as usual"},
	)
	return &cli.Command{
		Name:  "replace",
		Usage: "DESTRUCTIVE: replace the whole TrustedCACerts list (@{Replace=…})",
		Description: `Every entry not given is dropped. Shows the difference first and asks for confirmation
on the terminal, or needs --yes. A snapshot is saved first; rollback restores it. With no
--thumbprint it refuses: emptying the list takes --clear, said on purpose.

EXAMPLES:
   $ lynctrust replace --server fe01.pool01.contoso.com --user 'CONTOSO\lyncadmin' --thumbprint A909…6B --thumbprint 0563…DA:IntermediateCA --dry-run`,
		Flags:  flags,
		Action: func(c *cli.Context) error { return replaceAction(g, c) },
	}
}

// replaceOptions are replace's flags, read in one place.
type replaceOptions struct {
	Identity    string
	Thumbprints []string
	CAStore     string
	Clear       bool
	Args        []string // positional arguments, which replace does not take
	// NamedIdentity: --identity was given, not left at Global.
	NamedIdentity bool
	Parallel      int
	Write         writeOptions
}

func replaceAction(g *globals, c *cli.Context) error {
	if err := refuseLateFlags(c); err != nil {
		return err
	}
	o := replaceOptions{Identity: c.String("identity"), Thumbprints: c.StringSlice("thumbprint"), CAStore: c.String("ca-store"),
		Clear: c.Bool("clear"), Args: c.Args().Slice(), Parallel: c.Int("parallel"), Write: writeOptionsFrom(c), NamedIdentity: c.IsSet("identity")}
	req, err := o.request()
	if err != nil {
		return err
	}
	nothing := fmt.Sprintf("nothing to do: %s already trusts exactly that list, in that order", req.Identity)
	if len(req.Entries) == 0 {
		nothing = fmt.Sprintf("nothing to do: %s is already empty", req.Identity)
	}
	return planAndCarryOut(g, c, o.Parallel, req, o.Write, nothing)
}

// request refuses a new list that came out empty by accident (a runbook
// variable that expanded to nothing), that names a certificate twice, or
// that was given as arguments, which urfave/cli would otherwise drop.
func (o replaceOptions) request() (change.Request, error) {
	req := change.Request{Kind: change.Replace, AsTask: o.Write.RunAsTask, NamedIdentity: o.NamedIdentity}
	if len(o.Args) > 0 {
		return req, usageErrorf("replace: %q is not a flag: give each certificate of the new list with --thumbprint", o.Args[0])
	}
	store, err := lync.ParseCAStore(o.CAStore)
	if err != nil {
		return req, usageError(fmt.Errorf("--ca-store: %w", err))
	}
	if req.Entries, err = parseEntries(o.Thumbprints, store); err != nil {
		return req, usageError(err)
	}
	seen := map[lync.Thumbprint]bool{}
	for _, e := range req.Entries {
		if seen[e.Thumbprint] {
			return req, usageErrorf("replace: %s is given twice: a collection lists each certificate once (the audit warns of a list that holds one twice); nothing was changed", e.Thumbprint)
		}
		seen[e.Thumbprint] = true
	}
	switch {
	case o.Clear && len(req.Entries) > 0:
		return req, usageErrorf("replace: --clear empties the collection; it cannot go with --thumbprint")
	case !o.Clear && len(req.Entries) == 0:
		return req, &exitError{code: exitUsage, err: errors.New("replace: no --thumbprint given, which would empty TrustedCACerts; nothing was changed"),
			hint: "give the whole new list with --thumbprint (repeatable), or --clear to empty the collection on purpose"}
	}
	if req.Identity, err = lync.ParseIdentity(o.Identity); err != nil {
		return req, usageError(fmt.Errorf("--identity: %w", err))
	}
	return req, nil
}

// parseEntries reads THUMBPRINT or THUMBPRINT:CASTORE values; a colon inside
// a pasted thumbprint is not a store.
func parseEntries(values []string, dflt lync.CAStore) ([]lync.Entry, error) {
	var out []lync.Entry
	for _, v := range values {
		t, st, hasStore := strings.Cut(v, ":")
		store := dflt
		if hasStore && len(strings.TrimSpace(st)) > 0 {
			if s, err := lync.ParseCAStore(st); err == nil {
				store = s
			} else if storeName(st) {
				return nil, fmt.Errorf("--thumbprint %q: %w", v, err)
			} else {
				t = v
			}
		}
		th, err := lync.ParseThumbprint(t)
		if err != nil {
			return nil, fmt.Errorf("--thumbprint %q: %w", v, err)
		}
		out = append(out, lync.Entry{Thumbprint: th, CAStore: store})
	}
	return out, nil
}

// storeName tells a word after the colon (Root, CA) from the rest of a
// thumbprint pasted with colons between its bytes.
func storeName(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) <= 2 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}
