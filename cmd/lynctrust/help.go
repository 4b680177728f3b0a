package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

// helpWidth is the line length at which urfave/cli's help printer wraps
// (its maxLineLength): lynctrust's help lines are all shorter.
const helpWidth = 10000

// writeHelp writes what urfave/cli's help printer writes for its three
// templates (AppHelpTemplate, CommandHelpTemplate and
// SubcommandHelpTemplate), the same text, without text/template: parsing
// and running the templates, by reflection, cost `lynctrust --help` about
// 75 of its 600 page faults (docs/performance.md). It writes what lynctrust's
// commands have, and returns false, having written nothing, for anything
// else: another template or data, authors, a copyright, categories, a
// UsageText, Args without ArgsUsage, or a line long enough that urfave/cli
// would wrap it. TestHelpIsUrfaveClisHelp compares the two for every
// command.
func writeHelp(out io.Writer, templ string, data any) bool {
	var v helpView
	switch d := data.(type) {
	case *cli.App:
		if templ != cli.AppHelpTemplate {
			return false
		}
		if len(d.Authors) > 0 || d.Copyright != "" || d.UsageText != "" || d.Args && d.ArgsUsage == "" || len(d.VisibleFlagCategories()) > 0 {
			return false
		}
		v = helpView{app: true, name: d.HelpName, usage: d.Usage, argsUsage: d.ArgsUsage, hasCommands: len(d.Commands) > 0,
			description: d.Description, categories: d.VisibleCategories(), commands: d.VisibleCommands(), flags: d.VisibleFlags()}
		if !d.HideVersion {
			v.version = d.Version
		}
	case *cli.Command:
		if templ != cli.CommandHelpTemplate && templ != cli.SubcommandHelpTemplate || d.Category != "" || d.UsageText != "" ||
			d.Args && d.ArgsUsage == "" || len(d.VisibleFlagCategories()) > 0 {
			return false
		}
		v = helpView{name: d.HelpName, usage: d.Usage, argsUsage: d.ArgsUsage, description: d.Description, flags: d.VisibleFlags()}
		if templ == cli.SubcommandHelpTemplate {
			v.categories, v.commands = d.VisibleCategories(), d.VisibleCommands()
		}
	default:
		return false
	}
	for _, c := range v.categories {
		if c.Name() != "" {
			return false
		}
	}
	var b strings.Builder
	if !v.write(&b) {
		return false
	}
	w := tabwriter.NewWriter(out, 1, 8, 2, ' ', 0)
	_, _ = io.WriteString(w, b.String())
	_ = w.Flush()
	return true
}

// helpView is what the templates read of an App or a Command.
type helpView struct {
	app, hasCommands       bool
	name, usage, argsUsage string
	version, description   string
	categories             []cli.CommandCategory // all unnamed
	commands               []*cli.Command
	flags                  []cli.Flag
}

func (v *helpView) write(b *strings.Builder) bool {
	ok := true
	// wrap indents every line after the first by offset, as urfave/cli's
	// wrap does with a line too short to break.
	wrap := func(s string, offset int) string {
		pad := strings.Repeat(" ", offset)
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			if len(l) > helpWidth-offset {
				ok = false
			}
			if i > 0 && l != "" {
				lines[i] = pad + l
			}
		}
		return strings.Join(lines, "\n")
	}
	b.WriteString("NAME:\n   " + wrap(v.name, 3))
	if v.usage != "" {
		b.WriteString(" - " + wrap(v.usage, len(v.name)+6))
	}
	b.WriteString("\n\nUSAGE:\n   ")
	if v.app {
		b.WriteString(v.name + " ")
		if len(v.flags) > 0 {
			b.WriteString("[global options]")
		}
		if v.hasCommands {
			b.WriteString(" command [command options]")
		}
	} else {
		b.WriteString(v.name)
		if len(v.flags) > 0 {
			b.WriteString(" [command options]")
		}
	}
	if v.argsUsage != "" {
		b.WriteString(" " + v.argsUsage)
	}
	if v.version != "" {
		b.WriteString("\n\nVERSION:\n   " + v.version)
	}
	if v.description != "" {
		b.WriteString("\n\nDESCRIPTION:\n   " + wrap(v.description, 3))
	}
	if len(v.commands) > 0 {
		b.WriteString("\n\nCOMMANDS:")
		for _, cat := range v.categories {
			width := 0
			for _, c := range cat.VisibleCommands() {
				width = max(width, len(strings.Join(c.Names(), ", ")))
			}
			for _, c := range cat.VisibleCommands() {
				names := strings.Join(c.Names(), ", ")
				b.WriteString("\n   " + names + strings.Repeat(" ", width+5-len(names)-3) + wrap(c.Usage, width+5))
			}
		}
	}
	options := "\n\nOPTIONS:"
	if v.app {
		options = "\n\nGLOBAL OPTIONS:"
	}
	if len(v.flags) > 0 {
		b.WriteString(options)
		for _, f := range v.flags {
			b.WriteString("\n   " + wrap(fmt.Sprint(f), 6))
		}
	}
	b.WriteString("\n")
	return ok
}
