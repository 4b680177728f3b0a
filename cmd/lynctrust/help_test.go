package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// Every help lynctrust prints (the app's, every command's and
// subcommand's, asked for with --help, -h or no command) is, to
// the byte, what urfave/cli's template printer prints for the same
// template and data.
func TestHelpIsUrfaveClisHelp(t *testing.T) {
	app := newApp(&globals{stdout: io.Discard, stderr: io.Discard})
	var asks [][]string
	asks = append(asks, nil, []string{"--help"}, []string{"-h"})
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string(nil), path...), c.Name)
			asks = append(asks, append(append([]string(nil), p...), "--help"), append(append([]string(nil), p...), "-h"))
			walk(p, c.Subcommands)
		}
	}
	walk(nil, app.Commands)

	printer := cli.HelpPrinter
	defer func() { cli.HelpPrinter = printer }()
	templates := map[string]bool{}
	var current []string
	cli.HelpPrinter = func(w io.Writer, templ string, data any) {
		var ours, theirs bytes.Buffer
		if !writeHelp(&ours, templ, data) {
			t.Errorf("lynctrust %s: writeHelp left %T to urfave/cli", strings.Join(current, " "), data)
		}
		urfaveHelp(&theirs, templ, data)
		if ours.String() != theirs.String() {
			t.Errorf("lynctrust %s: the help differs from urfave/cli's\n--- lynctrust\n%s\n--- urfave/cli\n%s", strings.Join(current, " "), ours.String(), theirs.String())
		}
		templates[templ] = true
		_, _ = w.Write(ours.Bytes())
	}
	for _, args := range asks {
		current = args
		code, out, errOut, _ := runCLI(context.Background(), args...)
		if code != exitOK || !strings.HasPrefix(out, "NAME:\n   lynctrust") {
			t.Errorf("lynctrust %s: exit %d, output %q, errors %q", strings.Join(args, " "), code, out, errOut)
		}
	}
	for name, templ := range map[string]string{"app": cli.AppHelpTemplate, "command": cli.CommandHelpTemplate, "subcommand": cli.SubcommandHelpTemplate} {
		if !templates[templ] {
			t.Errorf("no help was printed with urfave/cli's %s template", name)
		}
	}
	if len(asks) < 30 {
		t.Errorf("only %d helps were asked for", len(asks))
	}
}

// What writeHelp does not write it leaves, whole, to urfave/cli.
func TestWriteHelpDeclines(t *testing.T) {
	long := strings.Repeat("x", helpWidth)
	for name, c := range map[string]struct {
		templ string
		data  any
	}{
		"another template":                 {"{{.Name}}", &cli.Command{Name: "x"}},
		"another type":                     {cli.CommandHelpTemplate, "x"},
		"a category":                       {cli.CommandHelpTemplate, &cli.Command{Name: "x", Category: "c"}},
		"a usage text":                     {cli.CommandHelpTemplate, &cli.Command{Name: "x", UsageText: "x [y]"}},
		"args without text":                {cli.CommandHelpTemplate, &cli.Command{Name: "x", Args: true}},
		"a line to wrap":                   {cli.CommandHelpTemplate, &cli.Command{Name: "x", Description: long}},
		"authors":                          {cli.AppHelpTemplate, &cli.App{Name: "x", Authors: []*cli.Author{{Name: "a"}}}},
		"a copyright":                      {cli.AppHelpTemplate, &cli.App{Name: "x", Copyright: "c"}},
		"the app's template for a command": {cli.AppHelpTemplate, &cli.Command{Name: "x"}},
	} {
		var b bytes.Buffer
		if writeHelp(&b, c.templ, c.data) || b.Len() != 0 {
			t.Errorf("%s: writeHelp wrote %q", name, b.String())
		}
	}
}
