package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// runbookVars are the variables docs/runbook.md sets once, and the lab's
// values for them (the lync command sets these).
var runbookVars = map[string]string{
	"LYNCTRUST_SERVER": "", "LYNCTRUST_USER": "", "OWA": "",
	"MAIL": "$AUTODISCOVER",
}

// runbookPreamble runs before each command: NAME is the newest snapshot,
// and autodiscover.$MAIL:443 reaches the lab's Exchange, on the port of $OWA.
const runbookPreamble = `NAME=$(ls "$LYNCTRUST_STATE_DIR/snapshots" 2>/dev/null | tail -1)
port=${OWA#https://*:}; port=${port%%/*}
export LYNCTRUST_RESOLVE="$LYNCTRUST_RESOLVE,autodiscover.$MAIL:443:127.0.0.1:$port"
`

var (
	runbookStep   = regexp.MustCompile(`^(\d+)\. |^## `)
	runbookCmd    = regexp.MustCompile("`(lynctrust [^`]*)`")
	runbookStatus = regexp.MustCompile(`(?:exit status|must exit) (\d)`)
	runbookSet    = regexp.MustCompile(`\b([A-Z_]+)=`)
)

// runbookSteps reads docs/runbook.md: the variables of its "Set once"
// block, and each step's lynctrust commands with the exit status the step
// states (the first it names; 0 when it names none).
func runbookSteps(t *testing.T, md string) (vars []string, cmds []string, want []string) {
	set, ok := strings.CutPrefix(md[strings.Index(md, "```sh\n"):], "```sh\n")
	if !ok {
		t.Fatal("runbook: no ```sh block to set the variables")
	}
	set = set[:strings.Index(set, "```")]
	for _, m := range runbookSet.FindAllStringSubmatch(set, -1) {
		vars = append(vars, m[1])
	}
	var steps []string
	for _, line := range strings.Split(md, "\n") {
		if runbookStep.MatchString(line) || len(steps) == 0 {
			steps = append(steps, "")
		}
		steps[len(steps)-1] += line + "\n"
	}
	for _, step := range steps {
		status := "0"
		if m := runbookStatus.FindStringSubmatch(step); m != nil {
			status = m[1]
		}
		for _, m := range runbookCmd.FindAllStringSubmatch(strings.ReplaceAll(step, "\n   ", " "), -1) {
			cmds, want = append(cmds, m[1]), append(want, status)
		}
	}
	return vars, cmds, want
}

// TestRunbook runs docs/runbook.md line by line against the lab, as an
// administrator would in a change window: its variables set to the lab's
// values, the password from LYNCTRUST_PASSWORD, the lab's public CA as this
// machine's trust store, NAME the snapshot the change took. Each command
// must end with the exit status its step states.
func TestRunbook(t *testing.T) {
	b, err := os.ReadFile("../../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	vars, cmds, want := runbookSteps(t, string(b))
	if len(cmds) < 10 {
		t.Fatalf("runbook: found %d commands: %q", len(cmds), cmds)
	}
	var script, files strings.Builder
	script.WriteString("lync\nenv SSL_CERT_FILE=$OWACA\nenv LYNCTRUST_PASSWORD=$PASSWORD\n")
	for _, v := range vars {
		val, ok := runbookVars[v]
		if !ok {
			t.Fatalf("runbook sets %s, which this test does not know a lab value for", v)
		}
		if val != "" {
			fmt.Fprintf(&script, "env %s=%s\n", v, val)
		}
	}
	for i, c := range cmds {
		name := fmt.Sprintf("step%02d.sh", i+1)
		fmt.Fprintf(&script, "# %s\nexec sh %s\nstdout '^exit %s$'\n", c, name, want[i])
		fmt.Fprintf(&files, "-- %s --\n%s%s\necho \"exit $?\"\n", name, runbookPreamble, strings.ReplaceAll(c, " NAME", ` "$NAME"`))
	}
	script.WriteString("nosecret\n")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "runbook.txtar"), []byte(script.String()+files.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"lync":     cmdLync,
			"labctl":   cmdLabctl,
			"nosecret": cmdNosecret,
		},
	})
}
