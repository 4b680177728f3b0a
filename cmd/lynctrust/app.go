package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// Exit codes, documented in the README and in `lynctrust --help`.
const (
	exitOK         = 0 // done, or clean
	exitUsage      = 1 // bad input or usage
	exitFindings   = 2 // audit, resolve or doctor found problems
	exitRemote     = 3 // a remote or network failure
	exitUnverified = 4 // a change was made but verification did not see it
	exitJournal    = 5 // a change was made and verified, but the journal could not be written
)

const exitCodesHelp = `EXIT STATUS:
   0  done; nothing wrong found
   1  bad input or usage
   2  findings: resolve, audit or doctor found something wrong
   3  a remote or network failure (unreachable, refused, WinRM or TLS error)
   4  a change was made but verification did not see it
   5  a change was made and verified, but the journal could not be written`

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
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer // escapes control characters (escapeControls)
	// rawStderr is standard error as given: for the fleet's progress bars,
	// which draw with escape sequences of their own.
	rawStderr io.Writer
	output    string
	color     bool
	terminal  bool
	timeout   time.Duration
	log       *slog.Logger
	now       func() time.Time
	resolve   resolveMap
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
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr, rawStderr: rawStderr, now: time.Now, args: args,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	app := newApp(g)
	err := app.RunContext(ctx, args)
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

func newApp(g *globals) *cli.App {
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
		// urfave/cli would otherwise print errors itself and call os.Exit.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError(fmt.Errorf("%w (see lynctrust --help)", err))
		},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", EnvVars: []string{"LYNCTRUST_OUTPUT"},
				Usage: "output format: " + strings.Join(outputFormats, ", ")},
			&cli.BoolFlag{Name: "no-color", Usage: "never use colour (also when NO_COLOR is set)"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "debug log on standard error"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "time limit for each network operation"},
			&cli.StringFlag{Name: "state-dir", EnvVars: []string{"LYNCTRUST_STATE_DIR"}, Usage: "where snapshots and the journal go (default: the user's state directory)"},
			&cli.StringSliceFlag{Name: "resolve", EnvVars: []string{"LYNCTRUST_RESOLVE"},
				Usage: "connect to ADDR whenever HOST:PORT is dialled (HOST:PORT:ADDR, repeatable, as curl's --resolve)"},
		},
		Before: func(c *cli.Context) error { return g.setup(c) },
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("unknown command %q (see lynctrust --help)", c.Args().First())
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
	for _, c := range app.Commands {
		setUsageErrors(c)
	}
	return app
}

// setUsageErrors makes flag errors of every command and subcommand usage errors
// that run reports once, instead of urfave/cli printing help and the error.
func setUsageErrors(c *cli.Command) {
	name := c.Name
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return usageError(fmt.Errorf("%s: %w (see lynctrust %s --help)", name, err, name))
	}
	for _, sub := range c.Subcommands {
		setUsageErrors(sub)
	}
}

func (g *globals) setup(c *cli.Context) error {
	g.output = strings.ToLower(c.String("output"))
	if g.output == "" { // LYNCTRUST_OUTPUT set but empty
		g.output = "table"
	}
	if !contains(outputFormats, g.output) {
		return usageErrorf("--output %q: want one of %s", c.String("output"), strings.Join(outputFormats, ", "))
	}
	if f, ok := g.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		g.terminal = true
	}
	g.color = g.terminal && !c.Bool("no-color") && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	g.timeout = c.Duration("timeout")
	if g.timeout <= 0 {
		return usageErrorf("--timeout %s: want a positive duration such as 30s", c.Duration("timeout"))
	}
	m, err := parseResolve(c.StringSlice("resolve"))
	if err != nil {
		return usageError(err)
	}
	g.resolve = m
	g.stateDir = c.String("state-dir")
	if c.Bool("verbose") {
		g.log = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
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
	for _, a := range c.Args().Slice() {
		if strings.HasPrefix(a, "--") && len(a) > 2 {
			return usageErrorf("%s: %q after the arguments: put flags before them (lynctrust %s %s ...)", c.Command.Name, a, c.Command.Name, a)
		}
	}
	return nil
}
