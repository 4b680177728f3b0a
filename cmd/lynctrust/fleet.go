package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jedib0t/go-pretty/v6/progress"
	"github.com/lynctrust/lynctrust/internal/doctor"
	"github.com/lynctrust/lynctrust/internal/fleet"
	"github.com/lynctrust/lynctrust/internal/parallel"
	"github.com/lynctrust/lynctrust/trust"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func inventoryFlag() cli.Flag {
	return &cli.StringFlag{Name: "inventory", Usage: "run on every deployment of an inventory `FILE` (YAML; see docs/fleets.md)"}
}

// deploymentResult is one deployment's outcome in a fleet run.
type deploymentResult struct {
	Name     string          `json:"name"`
	Server   string          `json:"server"`
	Status   string          `json:"status"` // clean, findings, changed, would change, unchanged, refused, failed
	ExitCode int             `json:"exit_code"`
	Error    string          `json:"error,omitempty"`
	Hint     string          `json:"hint,omitempty"`
	Seconds  float64         `json:"seconds"`
	Report   json.RawMessage `json:"report,omitempty"`
}

type fleetReport struct {
	Command     string             `json:"command"`
	ExitCode    int                `json:"exit_code"`
	Deployments []deploymentResult `json:"deployments"`
}

// severity ranks exit codes for a fleet's summary: a change not verified,
// then a journal or snapshot not written, unreachable, declined, findings,
// bad input, done.
var severity = map[int]int{exitUnverified: 6, exitLocal: 5, exitRemote: 4, exitDeclined: 3, exitFindings: 2, exitUsage: 1, exitOK: 0}

// worse is the worse of two exit codes.
func worse(a, b int) int {
	if severity[b] > severity[a] {
		return b
	}
	return a
}

func exitCodeOf(err error) (int, string) {
	if err == nil {
		return exitOK, ""
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code, ee.hint
	}
	return exitRemote, ""
}

func runFleet(g *globals, c *cli.Context, command string) error {
	inv, err := readInventoryFile(c, command)
	if err != nil {
		return err
	}
	results := make([]deploymentResult, len(inv.Deployments))
	bars := startProgress(g, inv.Deployments)
	idx := make([]int, len(inv.Deployments))
	for i := range idx {
		idx[i] = i
	}
	var logMu sync.Mutex
	parallel.ForEach(c.Context, idx, max(c.Int("parallel"), 1), func(ctx context.Context, i int) {
		d := inv.Deployments[i]
		start := time.Now()
		res := runDeployment(g, ctx, c, command, d)
		res.Seconds = time.Since(start).Round(time.Millisecond).Seconds()
		results[i] = res
		bars.done(i, res.ExitCode == exitOK || (command != "add" && res.ExitCode == exitFindings))
		logMu.Lock()
		g.log.Debug("deployment done", "name", d.Name, "status", res.Status, "seconds", res.Seconds)
		logMu.Unlock()
	})
	bars.wait()
	return renderFleet(g, command, results)
}

// readInventoryFile reads --inventory. Each deployment names its server,
// user and password source; --server and --user (and LYNCTRUST_SERVER,
// LYNCTRUST_USER) do not apply.
func readInventoryFile(c *cli.Context, command string) (*fleet.Inventory, error) {
	if c.IsSet("password-file") {
		return nil, usageErrorf("--inventory says where each deployment's password comes from: leave out --password-file")
	}
	// The flags, not LYNCTRUST_SERVER and LYNCTRUST_USER, which a shell
	// set up for one deployment may hold and which do not apply either.
	for f, env := range map[string]string{"server": "LYNCTRUST_SERVER", "user": "LYNCTRUST_USER"} {
		if c.IsSet(f) && c.String(f) != os.Getenv(env) {
			return nil, usageErrorf("--inventory names each deployment's %s: leave out --%s", f, f)
		}
	}
	if c.String("emit-ps1") != "" {
		return nil, usageErrorf("--emit-ps1 writes one file, and each deployment's script would take the place of the one before: write it for one deployment at a time (--server), or see every deployment's difference with --dry-run")
	}
	if command == "add" && c.Bool("confirm") {
		// The deployments run at once behind progress bars: a question
		// asked by one of them would not be seen.
		return nil, usageErrorf("--confirm asks before each write, which add --inventory cannot show while its deployments run at once: run it with --dry-run to see each deployment's difference, then again without either")
	}
	data, err := os.ReadFile(c.String("inventory"))
	if err != nil {
		return nil, usageError(fmt.Errorf("--inventory: %w", err))
	}
	inv, err := fleet.ParseInventory(data)
	if err != nil {
		return nil, usageError(fmt.Errorf("%s: %w", c.String("inventory"), err))
	}
	if command == "add" && c.String("thumbprint") == "" && c.String("owa") == "" {
		for _, d := range inv.Deployments {
			if d.OWA == "" {
				return nil, usageErrorf("add --inventory: deployment %q has no owa: give --thumbprint, --owa, or an owa for every deployment", d.Name)
			}
		}
	}
	return inv, nil
}

// progressBars show each deployment's progress on a terminal.
type progressBars struct {
	pw       progress.Writer
	trackers []*progress.Tracker
}

func startProgress(g *globals, ds []fleet.Deployment) *progressBars {
	b := &progressBars{}
	if f, ok := g.rawStderr.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return b
	}
	b.pw = progress.NewWriter()
	b.pw.SetOutputWriter(g.rawStderr)
	b.pw.SetAutoStop(true)
	b.pw.SetUpdateFrequency(100 * time.Millisecond)
	for _, d := range ds {
		t := &progress.Tracker{Message: d.Name, Total: 1}
		b.trackers = append(b.trackers, t)
		b.pw.AppendTracker(t)
	}
	go b.pw.Render()
	return b
}

func (b *progressBars) done(i int, ok bool) {
	switch {
	case b.trackers == nil:
	case ok:
		b.trackers[i].MarkAsDone()
	default:
		b.trackers[i].MarkAsErrored()
	}
}

func (b *progressBars) wait() {
	for b.pw != nil && b.pw.IsRenderInProgress() {
		time.Sleep(50 * time.Millisecond)
	}
}

// renderFleet prints the worst results first; the exit status is the worst.
func renderFleet(g *globals, command string, results []deploymentResult) error {
	rep := fleetReport{Command: command, Deployments: results}
	for _, r := range results {
		rep.ExitCode = worse(rep.ExitCode, r.ExitCode)
	}
	gr := grid{name: "deployments", main: true, title: fmt.Sprintf("%s on %d deployment(s)", command, len(results)), header: []string{"deployment", "server", "status", "exit", "seconds", "error"}}
	found := grid{name: "findings", optional: true, fold: 3, title: "what each deployment found", header: []string{"deployment", "severity", "finding", "message", "fix"}}
	sorted := append([]deploymentResult(nil), results...)
	sort.SliceStable(sorted, func(a, b int) bool { return severity[sorted[a].ExitCode] > severity[sorted[b].ExitCode] })
	var failed, findings, wouldChange []string
	for _, r := range sorted {
		msg := r.Error
		if r.Hint != "" {
			msg += "\nhint: " + r.Hint
		}
		gr.rows = append(gr.rows, []string{r.Name, r.Server, r.Status, strconv.Itoa(r.ExitCode), strconv.FormatFloat(r.Seconds, 'f', 2, 64), msg})
		for _, f := range reportFindings(r.Report) {
			found.rows = append(found.rows, append([]string{r.Name}, f...))
		}
		switch r.ExitCode {
		case exitOK:
			if r.Status == "would change" {
				wouldChange = append(wouldChange, r.Name)
			}
		case exitFindings:
			findings = append(findings, r.Name)
		default:
			failed = append(failed, r.Name+" ("+r.Status+")")
		}
	}
	g.page = &page{verdict: fmt.Sprintf("PASS: %s on %d deployment(s), nothing wrong found", command, len(results)), level: "pass"}
	switch {
	case len(failed) > 0:
		g.page.verdict, g.page.level = "FAIL: "+strings.Join(failed, "; "), "error"
	case len(findings) > 0:
		g.page.verdict, g.page.level = "FINDINGS: "+strings.Join(findings, "; "), "warning"
	case len(wouldChange) > 0:
		g.page.verdict, g.page.level = fmt.Sprintf("DRY RUN: nothing was changed; %s would change %s", command, strings.Join(wouldChange, "; ")), "warning"
	}
	if err := g.emit(rep, gr, found); err != nil {
		return err
	}
	if rep.ExitCode != exitOK {
		return silent(rep.ExitCode)
	}
	return nil
}

// reportFindings reads what a deployment's own report found: an audit's
// findings, a doctor's checks that did not pass (severity, finding,
// message, fix).
func reportFindings(report json.RawMessage) [][]string {
	var r struct {
		Findings []trust.Finding `json:"findings"`
		Checks   []doctor.Check  `json:"checks"`
	}
	if len(report) == 0 || json.Unmarshal(report, &r) != nil {
		return nil
	}
	var out [][]string
	for _, f := range r.Findings {
		out = append(out, []string{string(f.Severity), f.Code, f.Message, f.Fix})
	}
	for _, c := range r.Checks {
		if c.Status == doctor.Fail || c.Status == doctor.Warn {
			out = append(out, []string{string(c.Status), fmt.Sprintf("check %d", c.ID), c.Name + ": " + strings.Join(c.Evidence, "; "), c.Fix})
		}
	}
	return out
}

// or is a deployment's own value, else the command line's.
func or(own, flag string) string {
	if own != "" {
		return own
	}
	return flag
}

// runDeployment runs the command on one deployment, with its output captured
// as JSON for the fleet report.
func runDeployment(g *globals, ctx context.Context, c *cli.Context, command string, d fleet.Deployment) deploymentResult {
	res := deploymentResult{Name: d.Name, Server: d.Server}
	fail := func(err error) deploymentResult {
		res.ExitCode, res.Hint = exitCodeOf(err)
		res.Status, res.Error = "failed", err.Error()
		return res
	}
	if err := checkServer("inventory: deployment "+strconv.Quote(d.Name)+": server", d.Server); err != nil {
		return fail(err)
	}
	pw, err := d.PasswordOf()
	if err != nil {
		return fail(usageError(err))
	}
	var out, errOut bytes.Buffer
	dg := *g
	dg.stdout, dg.stderr, dg.output, dg.terminal, dg.color = &out, &errOut, "json", false, false
	conn, err := transportSettings(&dg, c)
	if err != nil {
		return fail(err)
	}
	conn.Server, conn.User, conn.Password = d.Server, d.User, pw
	status := ""
	switch command {
	case "audit":
		o := auditOptionsFrom(c)
		o.OWA = or(d.OWA, o.OWA)
		err = runAudit(&dg, ctx, conn, o)
	case "doctor":
		o := doctorOptionsFrom(c)
		o.OWA, o.Pool = or(d.OWA, o.OWA), or(d.Pool, o.Pool)
		err = runDoctor(&dg, ctx, &conn, o)
	case "add":
		o := addOptionsFrom(c)
		o.Identity = or(d.Identity, o.Identity)
		if o.Thumbprint == "" { // --thumbprint names the certificate for every deployment
			o.OWA = or(d.OWA, o.OWA)
		}
		if err = o.check(); err == nil {
			status, err = runAdd(&dg, ctx, conn, o)
		}
	}
	res.ExitCode, res.Hint = exitCodeOf(err)
	if b := bytes.TrimSpace(out.Bytes()); json.Valid(b) && len(b) > 0 {
		res.Report = json.RawMessage(b)
	}
	var refusal *rootRefusal
	switch {
	case errors.As(err, &refusal):
		res.Status, res.Error = "refused", err.Error()
	case err != nil && res.ExitCode != exitFindings:
		res.Status = "failed"
		res.Error = err.Error()
		var ee *exitError
		if errors.As(err, &ee) && ee.err == nil {
			res.Error = strings.TrimSpace(strings.ReplaceAll(errOut.String(), "lynctrust: ", ""))
		}
	case res.ExitCode == exitFindings:
		res.Status = "findings"
	case status != "":
		res.Status = status
	default:
		res.Status = "clean"
	}
	return res
}
