package main

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// globalFlags are the flags every command takes, before or after its name
// (lynctrust --output json audit, or lynctrust audit … --output json), as
// gh, kubectl and PowerShell take them. The commands share one set of copies,
// without the environment variables (one command runs, and a flag holds no
// parsed value: its command's flag set does): the app's copies read those,
// so that a flag on the command line, anywhere, wins over the environment.
func globalFlags(env bool) []cli.Flag {
	envs := func(name string) []string {
		if env {
			return []string{name}
		}
		return nil
	}
	return []cli.Flag{
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", EnvVars: envs("LYNCTRUST_OUTPUT"),
			Usage: "output format: " + strings.Join(outputFormats, ", ")},
		&cli.StringFlag{Name: "table", Usage: "show only the table `NAME` (an error lists a command's tables); --output csv writes one table, the command's main one unless this says"},
		&cli.IntFlag{Name: "width", Usage: "fit tables to `N` columns, wrapping at spaces (default: the terminal's width, or COLUMNS; piped output is not wrapped)"},
		&cli.BoolFlag{Name: "no-color", Usage: "never use colour (also when NO_COLOR is set)"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "debug log on standard error"},
		&cli.StringFlag{Name: "timeout", Value: "30s", Usage: "time limit for each network operation: a duration such as 30s or 2m, or seconds; at most 24h"},
		&cli.StringFlag{Name: "state-dir", EnvVars: envs("LYNCTRUST_STATE_DIR"), Usage: "where snapshots and the journal go (default: the user's state directory)"},
		&cli.StringSliceFlag{Name: "resolve", EnvVars: envs("LYNCTRUST_RESOLVE"),
			Usage: "connect to ADDR whenever HOST:PORT is dialled (HOST:PORT:ADDR, repeatable, as curl's --resolve)"},
	}
}

// withGlobalFlags gives a command (and its subcommands) the global flags
// (shared: globalFlags(false)) that it does not define itself, read again
// once its own flags are parsed.
func withGlobalFlags(g *globals, shared []cli.Flag, c *cli.Command) {
	for _, f := range shared {
		if name, _ := flagName(f); !defines(c.Flags, name) {
			c.Flags = append(c.Flags, f)
		}
	}
	c.Before = func(c *cli.Context) error { return g.setup(c) }
	for _, sub := range c.Subcommands {
		withGlobalFlags(g, shared, sub)
	}
}

// defines says whether one of flags is called name, or has it as an alias.
func defines(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		n, aliases := flagName(f)
		if n == name || slices.Contains(aliases, name) {
			return true
		}
	}
	return false
}

// flagName is a flag's name and aliases, read from the flag itself:
// urfave/cli's Names builds a new list each time it is asked.
func flagName(f cli.Flag) (string, []string) {
	switch f := f.(type) {
	case *cli.StringFlag:
		return f.Name, f.Aliases
	case *cli.BoolFlag:
		return f.Name, f.Aliases
	case *cli.IntFlag:
		return f.Name, f.Aliases
	case *cli.DurationFlag:
		return f.Name, f.Aliases
	case *cli.StringSliceFlag:
		return f.Name, f.Aliases
	}
	n := f.Names()
	return n[0], n[1:]
}

// powerShellSwitches are the spellings PowerShell people type for what
// lynctrust calls --dry-run and --yes (the common parameters -WhatIf and
// -Confirm of about_CommonParameters), in lower case: PowerShell ignores case.
var powerShellSwitches = map[string]string{
	"-whatif": "--what-if", "-whatif:$true": "--what-if", "-whatif:$false": "--what-if=false",
	"-confirm": "--confirm", "-confirm:$true": "--confirm", "-confirm:$false": "--yes", "-confirm:false": "--yes",
}

// powerShellArgs rewrites them before the flags are parsed.
func powerShellArgs(args []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if r, ok := powerShellSwitches[strings.ToLower(a)]; ok && i > 0 {
			out[i] = r
		}
	}
	return out
}

// setup reads the global flags, wherever on the command line they were
// given: the nearest context that set one wins.
func (g *globals) setup(c *cli.Context) error {
	output := globalString(c, "output")
	g.output = strings.ToLower(output)
	if g.output == "" { // LYNCTRUST_OUTPUT set but empty
		g.output = "table"
	}
	if !contains(outputFormats, g.output) {
		return usageErrorf("--output %q: want one of %s", output, strings.Join(outputFormats, ", "))
	}
	if f, ok := g.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		g.terminal = true
		g.width = terminalWidth(int(f.Fd()))
	}
	if w := globalInt(c, "width"); w < 0 {
		return usageErrorf("--width %d: want a number of columns, or 0 for no wrapping", w)
	} else if setter(c, "width").IsSet("width") {
		g.width = w
	}
	g.color = !globalBool(c, "no-color") && os.Getenv("NO_COLOR") == "" &&
		(g.terminal && os.Getenv("TERM") != "dumb" || forceColor())
	t, err := parseTimeout(globalString(c, "timeout"))
	if err != nil {
		return usageError(err)
	}
	g.timeout = t
	m, err := parseResolve(globalSlice(c, "resolve"))
	if err != nil {
		return usageError(err)
	}
	g.resolve = m
	g.stateDir = globalString(c, "state-dir")
	g.table = strings.ToLower(globalString(c, "table"))
	g.verbose = globalBool(c, "verbose")
	if g.verbose {
		g.log = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// setter is the nearest context in the lineage that set a flag: the
// command's copy (only on the command line) before the app's (command line
// or environment), or c when none did.
func setter(c *cli.Context, name string) *cli.Context {
	for _, x := range c.Lineage() {
		if x.IsSet(name) {
			return x
		}
	}
	return c
}

// onCommandLine reports whether a flag was typed, not taken from the
// environment.
func onCommandLine(args []string, name string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

func globalString(c *cli.Context, name string) string { return setter(c, name).String(name) }
func globalBool(c *cli.Context, name string) bool     { return setter(c, name).Bool(name) }
func globalInt(c *cli.Context, name string) int       { return setter(c, name).Int(name) }

// terminalWidth is the width tables fit on a terminal: COLUMNS when set
// (as shells export it), else the terminal's own.
func terminalWidth(fd int) int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if w, _, err := term.GetSize(fd); err == nil && w > 0 {
		return w
	}
	return 80
}

// forceColor is CLICOLOR_FORCE (set and not 0): colour even when output is
// piped, for a pager that shows it (less -R).
func forceColor() bool {
	v := os.Getenv("CLICOLOR_FORCE")
	return v != "" && v != "0"
}
func globalSlice(c *cli.Context, name string) []string { return setter(c, name).StringSlice(name) }

// maxTimeout bounds --timeout: a day is more than any exchange here needs,
// and what lynctrust derives from it (doctor's whole run takes 4 times it)
// stays far from the largest time.Duration.
const maxTimeout = 24 * time.Hour

// parseTimeout takes a Go duration (30s, 2m) or a number of seconds (1.5).
func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if n, nerr := strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil && nerr == nil {
		d, err = time.Duration(n*float64(time.Second)), nil
		if n > maxTimeout.Seconds() {
			d = maxTimeout + 1
		}
	}
	if err != nil || d <= 0 || d > maxTimeout {
		return 0, fmt.Errorf("--timeout %q: want a positive duration up to 24h, such as 30s or 2m, or a number of seconds", s)
	}
	return d, nil
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// refuseLateFlags catches flags written after the positional arguments, which
// urfave/cli would silently take as arguments.
func refuseLateFlags(c *cli.Context) error {
	name := commandPath(c) // explain error, not error
	for _, a := range c.Args().Slice() {
		// --flag; or -o and -Confirm, a dash and the name of one of the
		// command's flags or a global one (an error text's -Identity, or a
		// negative number, is a value).
		if strings.HasPrefix(a, "--") && len(a) > 2 || len(a) > 1 && a[0] == '-' && isFlagName(c, a[1:]) {
			return usageErrorf("%s: %q after the arguments: put flags before them (lynctrust %s %s ...)", name, a, name, a)
		}
	}
	return nil
}

// isFlagName reports whether name (before any =) is a flag of the command or
// of the ones around it, as PowerShell's -Confirm is given: any case.
func isFlagName(c *cli.Context, name string) bool {
	name, _, _ = strings.Cut(name, "=")
	for _, ctx := range c.Lineage() {
		var flags []cli.Flag
		switch {
		case ctx.Command != nil:
			flags = ctx.Command.Flags
		case ctx.App != nil:
			flags = ctx.App.Flags
		}
		for _, f := range flags {
			for _, n := range f.Names() {
				if strings.EqualFold(n, name) {
					return true
				}
			}
		}
	}
	return false
}

// commandPath is the command's name with its parents': explain error.
func commandPath(c *cli.Context) string {
	var names []string
	for _, ctx := range c.Lineage() {
		if ctx.Command != nil && ctx.Command.Name != "" && ctx.Command.Name != c.App.Name && (len(names) == 0 || names[0] != ctx.Command.Name) {
			names = append([]string{ctx.Command.Name}, names...)
		}
	}
	return strings.Join(names, " ")
}

// refuseRepeatedFlags catches a command's one-value flag given twice (two
// --thumbprint to add, say), of which urfave/cli would keep the last without
// a word. Repeatable flags (--thumbprint to replace) and the global flags,
// which a wrapper may set again after the command on purpose, are left
// alone.
func refuseRepeatedFlags(app *cli.App, args []string) error {
	global := map[string]bool{}
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			global[n] = true
		}
	}
	cmd, rest := findCommand(app.Commands, app.Flags, args[min(1, len(args)):])
	for cmd != nil && len(cmd.Subcommands) > 0 {
		sub, more := findCommand(cmd.Subcommands, cmd.Flags, rest)
		if sub == nil {
			break
		}
		cmd, rest = sub, more
	}
	if cmd == nil {
		return nil
	}
	seen := map[string]bool{}
	for i := 0; i < len(rest); i++ {
		name, hasValue, ok := flagArg(rest[i])
		if rest[i] == "--" {
			return nil
		}
		f := flagNamed(cmd.Flags, name)
		if !ok || f == nil {
			continue
		}
		if takesValue(f) && !hasValue {
			i++
		}
		if !takesValue(f) || repeatable(f) || global[name] {
			continue
		}
		canon := f.Names()[0]
		if seen[canon] {
			e := &exitError{code: exitUsage, err: fmt.Errorf("%s: --%s is given twice; it takes one value, and only the last would count; nothing was done", cmd.Name, canon)}
			if canon == "thumbprint" {
				e.hint = fmt.Sprintf("lynctrust %s takes one certificate: run it once for each (replace takes a whole list)", cmd.Name)
			}
			return e
		}
		seen[canon] = true
	}
	return nil
}

// findCommand finds the command named in args, skipping the flags before
// it (and their values), and returns it with the arguments after its name.
func findCommand(cmds []*cli.Command, flags []cli.Flag, args []string) (*cli.Command, []string) {
	for i := 0; i < len(args); i++ {
		name, hasValue, ok := flagArg(args[i])
		if args[i] == "--" {
			return nil, nil
		}
		if ok {
			if f := flagNamed(flags, name); f != nil && takesValue(f) && !hasValue {
				i++
			}
			continue
		}
		for _, c := range cmds {
			if c.HasName(args[i]) {
				return c, args[i+1:]
			}
		}
		return nil, nil
	}
	return nil, nil
}

// flagArg reads "--name", "-name" or "--name=value".
func flagArg(a string) (name string, hasValue, ok bool) {
	if len(a) < 2 || a[0] != '-' || a == "--" {
		return "", false, false
	}
	name, _, hasValue = strings.Cut(strings.TrimLeft(a, "-"), "=")
	return name, hasValue, name != ""
}

func flagNamed(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	_, isBool := f.(*cli.BoolFlag)
	return !isBool
}

func repeatable(f cli.Flag) bool {
	switch f.(type) {
	case *cli.StringSliceFlag, *cli.IntSliceFlag, *cli.Int64SliceFlag, *cli.Float64SliceFlag, *cli.UintSliceFlag, *cli.Uint64SliceFlag:
		return true
	}
	return false
}
