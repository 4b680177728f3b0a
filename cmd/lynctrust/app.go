package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/urfave/cli/v2"
	"github.com/xrash/smetrics"
)

// Exit codes, one table for every command, documented in the README and in
// `lynctrust --help`.
const (
	exitOK         = 0 // done: changed, or nothing to change; clean
	exitUsage      = 1 // bad input or usage: nothing was done
	exitFindings   = 2 // something wrong was found; nothing was changed
	exitRemote     = 3 // a remote or network failure
	exitUnverified = 4 // a change was made but verification did not see it
	exitDeclined   = 5 // the confirmation was declined: nothing was changed
	exitLocal      = 6 // the snapshot or the journal could not be written
)

const exitCodesHelp = `EXIT STATUS (every command):
   0  done: the change was made or was not needed; nothing wrong found
   1  bad input or usage; nothing was done
   2  findings: resolve, audit or doctor found something wrong, or add stopped
      because of what it found (an untrusted root, a store that lacks the
      certificate); nothing was changed
   3  a remote or network failure (unreachable, refused, 401, WinRM fault,
      script error); after a failed write lynctrust reads again and says what is there
   4  a change was made but verification did not see it
   5  the confirmation was declined; nothing was changed
   6  a local failure: the snapshot or the journal's pending line could not be
      written (nothing was changed), or the journal could not be written after
      the change`

// exitError carries the exit code for an error, and an optional hint. An
// exitError with a nil err prints nothing: the command has already said why.
type exitError struct {
	code int
	err  error
	hint string
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

func usageErrorf(format string, a ...any) error { return usageError(fmt.Errorf(format, a...)) }

// silent ends the command with code after it has printed its own explanation.
func silent(code int) error { return &exitError{code: code} }

// globals is what every command shares: the streams, the global flags and the
// clock. It is filled in by the app's Before hook.
type globals struct {
	ctx    context.Context // ended by an interrupt (SIGINT, SIGTERM)
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer // escapes control characters (escapeControls)
	// rawStderr is standard error as given: for the fleet's progress bars,
	// which draw with escape sequences of their own.
	rawStderr io.Writer
	output    string
	color     bool
	terminal  bool
	verbose   bool // --verbose: the debug log, and a dry run's script
	timeout   time.Duration
	log       *slog.Logger
	now       func() time.Time
	resolve   resolveMap
	table     string   // --table: the one table to show
	width     int      // tables fit this many columns; 0: as wide as they are
	page      *page    // what the HTML report says above the tables
	user      string   // the account a change signs in with, for the report
	stateDir  string   // "" for changelog's default
	args      []string // the command line, for hints that repeat it
}

// state is where snapshots and the journal go.
func (g *globals) state() (string, error) {
	if g.stateDir != "" {
		return g.stateDir, nil
	}
	return changelog.Dir()
}

var outputFormats = []string{"table", "json", "csv", "markdown", "html"}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	rawStderr := stderr
	stderr = escapingWriter{stderr}
	g := &globals{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, rawStderr: rawStderr, now: time.Now, args: args,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	app := newApp(g)
	args = powerShellArgs(args)
	err := refuseRepeatedFlags(app, args)
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	if err == nil {
		return exitOK
	}
	code := exitUsage
	var hint string
	var ee *exitError
	var ec cli.ExitCoder
	switch {
	case errors.As(err, &ee):
		code, hint = ee.code, ee.hint
		if ee.err == nil {
			return code
		}
	case errors.As(err, &ec):
		// urfave/cli's own errors (unknown help topic, required flags) are usage errors.
		code = exitUsage
	case errors.Is(err, context.Canceled):
		code = exitRemote
		err = errors.New("interrupted")
	}
	fmt.Fprintf(stderr, "lynctrust: %v\n", err)
	if hint != "" {
		fmt.Fprintf(stderr, "lynctrust: hint: %s\n", hint)
	}
	return code
}

// urfaveHelp is urfave/cli's own help printer. newApp replaces it (once)
// with writeHelp, which writes the same text without text/template, and in
// one write: the template writes a fragment at a time, each a system call
// of its own on a terminal or pipe.
var (
	urfaveHelp func(w io.Writer, templ string, data any)
	helpOnce   sync.Once
)

func newApp(g *globals) *cli.App {
	helpOnce.Do(func() {
		urfaveHelp = cli.HelpPrinter
		cli.HelpPrinter = func(w io.Writer, templ string, data any) {
			var b bytes.Buffer
			if !writeHelp(&b, templ, data) {
				urfaveHelp(&b, templ, data)
			}
			_, _ = w.Write(b.Bytes())
		}
	})
	app := &cli.App{
		Name:  "lynctrust",
		Usage: "manage the Lync web services trust store that tethered phones need to reach Exchange",
		Description: "lynctrust resolves the Exchange root CA thumbprint, audits and changes TrustedCACerts over\n" +
			"WinRM with dry runs, snapshots and verification, cleans pasted thumbprints and explains TLS and\n" +
			"sign-in errors, for Lync Server 2010/2013 and Skype for Business Server 2015/2019.\n\n" +
			exitCodesHelp,
		Reader:          g.stdin,
		Writer:          g.stdout,
		ErrWriter:       g.stderr,
		HideHelpCommand: true,
		Suggest:         true,
		// urfave/cli would otherwise print errors itself and call os.Exit.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError(fmt.Errorf("%w (see lynctrust --help)", err))
		},
		Flags:  globalFlags(true),
		Before: func(c *cli.Context) error { return g.setup(c) },
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return unknownCommand(c, c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Commands: []*cli.Command{
			thumbprintCommand(g),
			resolveCommand(g),
			auditCommand(g),
			addCommand(g),
			removeCommand(g),
			replaceCommand(g),
			rollbackCommand(g),
			doctorCommand(g),
			snapshotsCommand(g),
			journalCommand(g),
			explainCommand(g),
			labCommand(g),
			demoCommand(g),
			completionCommand(g),
			versionCommand(g),
		},
	}
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version and exit"}
	app.Version = version
	shared := globalFlags(false)
	for _, c := range app.Commands {
		setUsageErrors(c, "")
		withGlobalFlags(g, shared, c)
		refuseArguments(c)
	}
	return app
}

// takesNoArguments are the commands that take flags only: a word after one
// of them was ignored without a word.
var takesNoArguments = map[string]bool{"audit": true, "add": true, "remove": true, "rollback": true, "doctor": true,
	"snapshots": true, "journal": true, "lab": true, "demo": true, "version": true}

// refuseArguments makes a flags-only command refuse an argument, and says
// which flag a server's name goes with.
func refuseArguments(c *cli.Command) {
	if !takesNoArguments[c.Name] || c.Action == nil {
		return
	}
	action := c.Action
	c.Action = func(ctx *cli.Context) error {
		if !ctx.Args().Present() {
			return action(ctx)
		}
		a := ctx.Args().First()
		if strings.HasPrefix(a, "-") {
			if err := refuseLateFlags(ctx); err != nil {
				return err
			}
		}
		e := &exitError{code: exitUsage, err: fmt.Errorf("%s takes no arguments, and %q is one (see lynctrust %s --help)", c.Name, a, c.Name)}
		switch {
		case c.Name == "rollback" && strings.HasSuffix(strings.ToLower(a), ".json"):
			e.hint = fmt.Sprintf("a snapshot is given with --snapshot: lynctrust rollback --snapshot %s", a)
		case strings.Contains(a, "://") && (c.Name == "audit" || c.Name == "add" || c.Name == "doctor"):
			e.hint = fmt.Sprintf("an OWA address is given with --owa, the server to run on with --server: lynctrust %s --owa %s", c.Name, a)
		case strings.Contains(a, ".") && !strings.Contains(a, "://") && (c.Name == "audit" || c.Name == "add" || c.Name == "remove" || c.Name == "rollback" || c.Name == "doctor"):
			e.hint = fmt.Sprintf("a server is given with --server: lynctrust %s --server %s", c.Name, a)
		}
		return e
	}
}

// unknownCommand names the command that does not exist, and the one meant
// when one is close (Jaro-Winkler, as urfave/cli's suggestions measure it).
func unknownCommand(c *cli.Context, name string) error {
	err := usageError(fmt.Errorf("unknown command %q (see lynctrust --help)", name))
	best, score := "", 0.0
	for _, cmd := range c.App.Commands {
		if d := smetrics.JaroWinkler(cmd.Name, name, 0.7, 4); d > score {
			best, score = cmd.Name, d
		}
	}
	if score >= 0.8 {
		err.(*exitError).hint = "did you mean lynctrust " + best + "?"
	}
	return err
}

// setUsageErrors makes flag errors of every command and subcommand usage errors
// that run reports once, instead of urfave/cli printing help and the error.
func setUsageErrors(c *cli.Command, parent string) {
	name := strings.TrimSpace(parent + " " + c.Name) // explain tls-alert, not tls-alert
	c.OnUsageError = func(ctx *cli.Context, err error, _ bool) error {
		e := &exitError{code: exitUsage, err: fmt.Errorf("%s: %w (see lynctrust %s --help)", name, err, name)}
		if _, bad, ok := strings.Cut(err.Error(), "flag provided but not defined: "); ok {
			e.hint = suggestFlag(ctx.Command.Flags, strings.TrimLeft(bad, "-"))
			if strings.TrimLeft(bad, "-") == "ca-file" {
				// It had two meanings; each has its own name now.
				e.hint = "--ca-file is now --owa-ca-file (extra roots for the Exchange chain) or --winrm-ca-file (the CA of the server's WinRM HTTPS certificate)"
			}
		}
		return e
	}
	for _, sub := range c.Subcommands {
		setUsageErrors(sub, name)
	}
}

// suggestFlag names the flag meant, when one is close.
func suggestFlag(flags []cli.Flag, bad string) string {
	best, score := "", 0.0
	for _, f := range flags {
		for _, n := range f.Names() {
			if d := smetrics.JaroWinkler(n, bad, 0.7, 4); d > score {
				best, score = n, d
			}
		}
	}
	if score < 0.8 || len(best) < 2 {
		return ""
	}
	return "did you mean --" + best + "?"
}
