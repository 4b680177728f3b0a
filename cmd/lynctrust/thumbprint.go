package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/trust"
	"github.com/urfave/cli/v2"
)

func thumbprintCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "thumbprint",
		Usage:     "clean pasted thumbprints into the 40 hex digits Lync needs",
		ArgsUsage: "[TEXT...]",
		Description: `Removes spaces, colons, hyphens, the invisible marks that the Windows certificate
dialog copies (U+200E, shown as '?' in a console) and other invisible characters,
upper-cases the result and checks it has exactly 40 hex digits. With no arguments it
reads one thumbprint per line from standard input. The table output is the clean
thumbprints alone, one per line, for $(lynctrust thumbprint …); --verbose says on
standard error what was removed, and --output json, csv, markdown or html show it.

EXAMPLES:
   $ lynctrust thumbprint '‎a9 09 50 2d d8 2a e4 15 04 c0 e0 05 2e 3c 61 ab 8e b1 0d 6b'
   A909502DD82AE41504C0E0052E3C61AB8EB10D6B

   $ lynctrust thumbprint --ps --identity site:Redmond a909502dd82ae41504c0e0052e3c61ab8eb10d6b
   $cert = New-CsWebTrustedCACertificate -Thumbprint 'A909502DD82AE41504C0E0052E3C61AB8EB10D6B' -CAStore TrustedRootCA
   Set-CsWebServiceConfiguration -Identity 'site:Redmond' -TrustedCACerts @{Add=$cert}`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "ps", Usage: "print the two Lync Management Shell lines that trust the thumbprint"},
			&cli.StringFlag{Name: "ca-store", Value: string(lync.TrustedRootCA), Usage: "with --ps: " + lync.CAStoreGrammar},
			&cli.StringFlag{Name: "identity", Value: string(lync.GlobalIdentity), Usage: "with --ps: " + lync.IdentityGrammar},
		},
		Action: func(c *cli.Context) error { return runThumbprint(g, c) },
	}
}

type thumbprintResult struct {
	trust.Normalized
	Error string `json:"error,omitempty"`
}

func runThumbprint(g *globals, c *cli.Context) error {
	if err := refuseLateFlags(c); err != nil {
		return err
	}
	store, err := lync.ParseCAStore(c.String("ca-store"))
	if err != nil {
		return usageError(fmt.Errorf("--ca-store: %w", err))
	}
	id, err := lync.ParseIdentity(c.String("identity"))
	if err != nil {
		return usageError(fmt.Errorf("--identity: %w", err))
	}
	if (c.IsSet("ca-store") || c.IsSet("identity")) && !c.Bool("ps") {
		return usageErrorf("--ca-store and --identity only shape the --ps lines: add --ps")
	}
	inputs, labels, err := thumbprintInputs(g, c.Args().Slice())
	if err != nil {
		return err
	}
	results, failed := normalizeAll(g, inputs, labels)
	if err := renderThumbprints(g, results, c.Bool("ps"), store, id); err != nil {
		return err
	}
	if failed > 0 {
		return silent(exitUsage)
	}
	return nil
}

// thumbprintInputs are the arguments, or the lines of standard input. A
// thumbprint pasted unquoted arrives as many arguments (a9 09 50 …): when no
// argument is a thumbprint by itself and together they are one, they are
// taken as one. Each has its label for errors: input N for the arguments,
// line N for standard input, blank lines counted.
func thumbprintInputs(g *globals, args []string) (inputs, labels []string, err error) {
	if len(args) > 1 {
		whole := false
		for _, a := range args {
			if _, err := trust.Normalize(a); err == nil {
				whole = true
			}
		}
		if _, err := trust.Normalize(strings.Join(args, " ")); !whole && err == nil {
			return []string{strings.Join(args, " ")}, []string{"input 1"}, nil
		}
	}
	if len(args) > 0 {
		for i := range args {
			labels = append(labels, fmt.Sprintf("input %d", i+1))
		}
		return args, labels, nil
	}
	sc := bufio.NewScanner(g.stdin)
	for n := 1; sc.Scan(); n++ {
		if line := sc.Text(); line != "" {
			inputs = append(inputs, line)
			labels = append(labels, fmt.Sprintf("line %d", n))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, usageErrorf("reading standard input: %w", err)
	}
	if len(inputs) == 0 {
		return nil, nil, usageErrorf("empty input: give thumbprints as arguments or one per line on standard input")
	}
	return inputs, labels, nil
}

func normalizeAll(g *globals, inputs, labels []string) ([]thumbprintResult, int) {
	var results []thumbprintResult
	failed := 0
	for i, in := range inputs {
		n, err := trust.Normalize(in)
		r := thumbprintResult{Normalized: n}
		if err != nil {
			failed++
			r.Error = err.Error()
			fmt.Fprintf(g.stderr, "lynctrust: %s: %v\n", labels[i], err)
		}
		for _, rm := range n.Removed {
			g.log.Debug("removed from thumbprint", "input", i+1, "code_point", rm.CodePoint, "name", rm.Name, "count", rm.Count)
		}
		results = append(results, r)
	}
	return results, failed
}

func renderThumbprints(g *globals, results []thumbprintResult, ps bool, store lync.CAStore, id lync.Identity) error {
	switch {
	case g.output == "json":
		return g.emit(results)
	case ps:
		for _, r := range results {
			if r.Error != "" {
				continue
			}
			t, err := lync.ParseThumbprint(r.Thumbprint)
			if err != nil {
				return usageError(err)
			}
			lines, err := lync.PasteLines(t, store, id)
			if err != nil {
				return usageError(err)
			}
			fmt.Fprint(g.stdout, lines)
		}
		return nil
	case g.output == "table":
		// One clean thumbprint per line, so that $(lynctrust thumbprint …) just works.
		for _, r := range results {
			if r.Error == "" {
				fmt.Fprintln(g.stdout, r.Thumbprint)
			}
		}
		return nil
	}
	gr := grid{header: []string{"input", "thumbprint", "removed", "error"}}
	for _, r := range results {
		gr.rows = append(gr.rows, []string{fmt.Sprintf("%+q", r.Input), r.Thumbprint, describeRemoved(r.Removed), r.Error})
	}
	return g.emit(results, gr)
}

func describeRemoved(rs []trust.Removal) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s %s ×%d", r.CodePoint, r.Name, r.Count))
	}
	return strings.Join(parts, "; ")
}
