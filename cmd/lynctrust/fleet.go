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
	"github.com/lynctrust/lynctrust/psremote"
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

// worse is the worse of two exit codes: 4 (a change not verified) over 3
// (unreachable) over 2 (findings) over 1 (bad input) over 0.
func worse(a, b int) int { return max(a, b) }

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
	// Each deployment names its server, user and password source; --server
	// and --user (and LYNCTRUST_SERVER, LYNCTRUST_USER) do not apply.
	if c.IsSet("password-file") {
		return usageErrorf("--inventory says where each deployment's password comes from: leave out --password-file")
	}
	data, err := os.ReadFile(c.String("inventory"))
	if err != nil {
		return usageError(fmt.Errorf("--inventory: %w", err))
	}
	inv, err := doctor.ParseInventory(data)
	if err != nil {
		return usageError(fmt.Errorf("%s: %w", c.String("inventory"), err))
	}
	if command == "add" && c.String("thumbprint") == "" && c.String("owa") == "" {
		for _, d := range inv.Deployments {
			if d.OWA == "" {
				return usageErrorf("add --inventory: deployment %q has no owa: give --thumbprint, --owa, or an owa for every deployment", d.Name)
			}
		}
	}
	parallel := max(c.Int("parallel"), 1)
	results := make([]deploymentResult, len(inv.Deployments))

	var pw progress.Writer
	var trackers []*progress.Tracker
	if f, ok := g.rawStderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		pw = progress.NewWriter()
		pw.SetOutputWriter(g.rawStderr)
		pw.SetAutoStop(true)
		pw.SetUpdateFrequency(100 * time.Millisecond)
		for _, d := range inv.Deployments {
			t := &progress.Tracker{Message: d.Name, Total: 1}
			trackers = append(trackers, t)
			pw.AppendTracker(t)
		}
		go pw.Render()
	}
	idx := make([]int, len(inv.Deployments))
	for i := range idx {
		idx[i] = i
	}
	var logMu sync.Mutex
	psremote.ForEach(c.Context, idx, parallel, func(ctx context.Context, i int) {
		d := inv.Deployments[i]
		start := time.Now()
		res := runDeployment(g, ctx, c, command, d)
		res.Seconds = time.Since(start).Round(time.Millisecond).Seconds()
		results[i] = res
		if trackers != nil {
			if res.ExitCode == exitOK || (command != "add" && res.ExitCode == exitFindings) {
				trackers[i].MarkAsDone()
			} else {
				trackers[i].MarkAsErrored()
			}
		}
		logMu.Lock()
		g.log.Debug("deployment done", "name", d.Name, "status", res.Status, "seconds", res.Seconds)
		logMu.Unlock()
	})
	if pw != nil {
		for pw.IsRenderInProgress() {
			time.Sleep(50 * time.Millisecond)
		}
	}
	rep := fleetReport{Command: command, Deployments: results}
	for _, r := range results {
		rep.ExitCode = worse(rep.ExitCode, r.ExitCode)
	}
	gr := grid{title: fmt.Sprintf("%s on %d deployment(s)", command, len(results)), header: []string{"deployment", "server", "status", "exit", "seconds", "error"}}
	sorted := append([]deploymentResult(nil), results...)
	sort.SliceStable(sorted, func(a, b int) bool { return sorted[a].ExitCode > sorted[b].ExitCode })
	for _, r := range sorted {
		msg := r.Error
		if r.Hint != "" {
			msg += "\nhint: " + r.Hint
		}
		gr.rows = append(gr.rows, []string{r.Name, r.Server, r.Status, strconv.Itoa(r.ExitCode), strconv.FormatFloat(r.Seconds, 'f', 1, 64), msg})
	}
	if err := g.emit(rep, gr); err != nil {
		return err
	}
	if rep.ExitCode != exitOK {
		return silent(rep.ExitCode)
	}
	return nil
}

// runDeployment runs the command on one deployment, with its output captured
// as JSON for the fleet report.
func runDeployment(g *globals, ctx context.Context, c *cli.Context, command string, d doctor.Deployment) deploymentResult {
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
	values := map[string]string{"owa": d.OWA, "identity": d.Identity, "pool": d.Pool}
	if command == "add" && c.String("thumbprint") != "" {
		delete(values, "owa") // --thumbprint names the certificate for every deployment
	}
	f := overlay{c, values}
	switch command {
	case "audit":
		err = auditWith(&dg, ctx, f, conn)
	case "doctor":
		err = doctorWith(&dg, ctx, f, &conn)
	case "add":
		err = addWith(&dg, ctx, f, conn)
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
	case command == "add" && bytes.Contains(out.Bytes(), []byte(`"result": "unchanged"`)):
		res.Status = "unchanged"
	case command == "add" && (c.Bool("dry-run") || c.String("emit-ps1") != ""):
		res.Status = "would change"
	case command == "add":
		res.Status = "changed"
	default:
		res.Status = "clean"
	}
	return res
}
