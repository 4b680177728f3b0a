package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"crypto/x509"

	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/lynctrust/lynctrust/internal/lab"
	"github.com/lynctrust/lynctrust/trust"
)

// The fault matrix: every fault the lab can inject, against every command
// that reads or writes TrustedCACerts. Whatever happens, the list is either
// what it was or what the command meant it to be, a writing command left a
// snapshot before it wrote, and the journal says what happened. Those
// invariants are checked on every run; with UPDATE_RELIABILITY=1 the test also
// writes what it saw to docs/reliability.md (some rows depend on a race that
// Windows has too: whether a command whose connection dropped finishes its
// write before lynctrust's cancel arrives, so the file is not rewritten on
// every run).
func TestFaultMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault matrix starts 55 labs")
	}
	type fault struct {
		name  string
		arm   func(l *lab.Lab, write bool)
		quick bool
	}
	// the command a WS-Man fault hits: a writing command's one PowerShell
	// reads, waits for the go-ahead and writes, so a fault hits the write
	// once the go-ahead (the server's second command) has started: its
	// Command, then the first command's Receives, and the shell's Delete;
	// Create happens once, before the read. The audit's only command.
	command := func(l *lab.Lab, write bool, step string) int {
		n := int(l.Deployment.Servers[0].Counters.Commands.Load()) + 1
		if write && step != lab.StepCreate {
			n++
		}
		return n
	}
	skip := func(write bool) int {
		if write {
			return 1
		}
		return 0
	}
	var faults []fault
	// No Send: lynctrust's scripts travel in the command line or the shell's
	// environment, never on standard input.
	for _, step := range []string{lab.StepCreate, lab.StepCommand, lab.StepReceive, lab.StepSignal, lab.StepDelete} {
		faults = append(faults, fault{name: "connection dropped at " + step, arm: func(l *lab.Lab, w bool) { l.Knobs.InjectAt(lab.FaultDrop+":"+step, command(l, w, step)) }})
	}
	faults = append(faults,
		fault{name: "HTTP 401 on every request", arm: func(l *lab.Lab, w bool) { l.Knobs.Inject(lab.Fault401+":", -1) }},
		fault{name: "500 fault at Command", arm: func(l *lab.Lab, w bool) {
			l.Knobs.InjectAt(lab.Fault500+":"+lab.StepCommand, command(l, w, lab.StepCommand))
		}},
		fault{name: "operation timeout (Receive never completes)", arm: func(l *lab.Lab, w bool) { l.Knobs.InjectAfter(lab.FaultTimeout, 0, -1) }},
		fault{name: "cmdlet error on the write", arm: func(l *lab.Lab, w bool) { l.Knobs.Inject(lab.FaultCmdlet, 1) }},
		fault{name: "concurrent modification", arm: func(l *lab.Lab, w bool) { l.Knobs.InjectAfter(lab.FaultConcurrent, skip(w), 1) }},
		fault{name: "replication delay (1 h)", arm: func(l *lab.Lab, w bool) { l.Knobs.SetReplicationDelay(time.Hour) }},
	)
	type outcome struct {
		fault, command string
		code           int
		message        string
		list           string // unchanged, as intended, or other
		snapshot       string
		journal        string
	}
	var rows []outcome
	for _, f := range faults {
		for _, cmd := range []string{"audit", "add", "remove", "replace", "rollback"} {
			lb := newOpsLab(t, "--timeout", "2s")
			l, state, root, ent := lb.l, lb.state, lb.root, lb.ent
			lynctrust := func(args ...string) (int, string) {
				var out, errOut bytes.Buffer
				code := run(context.Background(), append([]string{"lynctrust"}, lb.args(args...)...), strings.NewReader(""), &out, &errOut)
				return code, errOut.String()
			}
			// Setup: the enterprise root is trusted; a snapshot of the empty list exists.
			if code, msg := lynctrust("add", "--thumbprint", ent); code != 0 {
				t.Fatalf("setup: %d %s", code, msg)
			}
			snaps, _, _ := changelog.List(state)
			setupSnap := snaps[0].Path
			before := l.Deployment.Trusted("Global")
			var intended []string
			var args []string
			switch cmd {
			case "audit":
				args = []string{"audit"}
			case "add":
				args, intended = []string{"add", "--thumbprint", root}, []string{ent, root}
			case "remove":
				args, intended = []string{"remove", "--thumbprint", ent, "--yes"}, []string{}
			case "replace":
				args, intended = []string{"replace", "--thumbprint", root, "--yes"}, []string{root}
			case "rollback":
				args, intended = []string{"rollback", "--snapshot", setupSnap, "--yes"}, []string{}
			}
			write := cmd != "audit"
			f.arm(l, write)
			snapsBefore := len(snaps)
			code, msg := lynctrust(args...)
			l.Knobs.ClearFaults()
			l.Knobs.SetReplicationDelay(0)
			after := l.Deployment.Trusted("Global")
			o := outcome{fault: f.name, command: cmd, code: code, message: firstMessage(msg)}
			thumbs := func(es []lab.CACert) []string {
				out := []string{}
				for _, e := range es {
					out = append(out, e.Thumbprint)
				}
				return out
			}
			switch {
			case fmt.Sprint(thumbs(after)) == fmt.Sprint(thumbs(before)):
				o.list = "unchanged"
			case write && fmt.Sprint(thumbs(after)) == fmt.Sprint(intended):
				o.list = "as intended"
			case f.name == "concurrent modification":
				o.list = "changed by the other administrator only"
			default:
				t.Errorf("%s / %s: the list is %v: neither %v nor %v", f.name, cmd, thumbs(after), thumbs(before), intended)
				o.list = "OTHER"
			}
			snaps, _, _ = changelog.List(state)
			o.snapshot = "-"
			if write {
				o.snapshot = "no (nothing written)"
				if len(snaps) > snapsBefore {
					o.snapshot = "yes"
				}
				if o.list == "as intended" && o.snapshot != "yes" {
					t.Errorf("%s / %s: changed without a snapshot", f.name, cmd)
				}
			}
			entries, _, _ := changelog.Read(state)
			o.journal = "-"
			if write && len(entries) > 1 {
				last := entries[len(entries)-1]
				if len(snaps) > snapsBefore {
					o.journal = last.Result
					if (last.Result == "changed") != (o.list == "as intended" && code == 0) {
						t.Errorf("%s / %s: journal says %s, list %s, exit %d", f.name, cmd, last.Result, o.list, code)
					}
				}
			}
			if code == 0 && f.name != "replication delay (1 h)" && !strings.Contains(f.name, "Signal") && !strings.Contains(f.name, "Delete") {
				// Only the faults after the work is done may end in success.
				t.Logf("%s / %s: exit 0", f.name, cmd)
			}
			if code != 0 && code != exitFindings && msg == "" {
				t.Errorf("%s / %s: exit %d without a message", f.name, cmd, code)
			}
			rows = append(rows, o)
			l.Close()
		}
	}
	var b strings.Builder
	b.WriteString("# Reliability: the fault matrix\n\nWritten by `TestFaultMatrix` (`cmd/lynctrust/reliability_test.go`), which checks the invariants below\n" +
		"on every test run: `UPDATE_RELIABILITY=1 go test ./cmd/lynctrust -run FaultMatrix`. Rows after a dropped Receive\n" +
		"depend on a race Windows has too (whether the server finishes the write before the cancel arrives).\n\n" +
		"Each row starts a lab (Skype for Business 2019, Standard Edition) whose Global collection trusts one CA,\n" +
		"arms one fault, and runs one command. For writing commands the fault hits the write (the read before\n" +
		"it passes), except at Create: the write runs in the read's shell, so a dropped Create hits the read. Invariants the test enforces on every row: the list afterwards is either unchanged or\n" +
		"exactly what the command meant; a change never happens without a snapshot; the journal's last line\n" +
		"says `changed` exactly when the change is in place and verified; a failure always has a message.\n\n" +
		"| fault | command | exit | message | TrustedCACerts after | snapshot | journal |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, o := range rows {
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s |\n", o.fault, o.command, o.code, o.message, o.list, o.snapshot, o.journal)
	}
	b.WriteString(killRows(t))
	b.WriteString(hostilePeers)
	if os.Getenv("UPDATE_RELIABILITY") != "" {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "reliability.md"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// hostilePeers is the section of docs/reliability.md on hostile or broken
// peers: each row names the test that asserts it; the measurements were
// taken by hand.
const hostilePeers = `
## A hostile or broken peer

What lynctrust does when the other side is not a well-behaved Windows server. Each row is
a test against a server built in the test; the bounds are asserted generously (peak heap under
200 MB; the command ends within its timeout plus a second).

| peer | what lynctrust does | exit | test |
| --- | --- | --- | --- |
| a WinRM reply of 3 GB, streamed | reads at most 4 MB (a reply announced larger is refused unread): ` + "`" + `the WinRM reply is larger than 4 MB` + "`" + ` | 3 | ` + "`" + `TestThreeGigabyteReplyIsRefused` + "`" + `, ` + "`" + `TestHostileRepliesEndTheAudit` + "`" + ` |
| an envelope nested 1,000,000 deep | the reply's one-pass reading (and, for a fault, a token scan before it is read) refuses more than 64 levels at the first level too deep: ` + "`" + `the WinRM reply nests XML deeper than 64 levels` + "`" + ` | 3 | ` + "`" + `TestMillionDeepEnvelopeIsRefused` + "`" + `, ` + "`" + `TestHostileRepliesEndTheAudit` + "`" + ` |
| a command that prints without end | stops it at 16 MB, standard output and error together: ` + "`" + `the command printed more than 16 MB` + "`" + ` | 3 | ` + "`" + `TestEndlessOutputIsCapped` + "`" + ` |
| a Command or Receive answered with an HTTP 200 web page (a proxy's or load balancer's error page) or with SOAP of another kind | refused at the first such reply, which the error quotes: ` + "`" + `not a WinRM shell reply: a Receive was answered with no SOAP action, not a ReceiveResponse (the reply begins "<html>…")` + "`" + `; a Receive's used to read as "still running" and was asked again about 10,000 times a second until the deadline | 3 | ` + "`" + `TestAnsweredWithAWebPage` + "`" + ` |
| a server that answers every Receive at once with nothing, the command still running (Windows holds a Receive until there is output or its OperationTimeout ends: winrm-facts §1.4) | asks again after 10 ms, then 20, 40 … up to a second between Receives; the command ends at its deadline or an interrupt | 3 | ` + "`" + `TestQuietRepliesArePaced` + "`" + ` |
| an NTLM challenge without sealing or 128-bit keys (what a machine in the middle of plain HTTP can make of Windows' answer) | refused before the AUTHENTICATE, so no SOAP message (Create Shell, with the script and any ` + "`" + `--run-as-task` + "`" + ` password in its environment) leaves: ` + "`" + `the server's NTLM challenge does not offer message encryption (no sealing)` + "`" + `; it used to go out signed and readable | 3 | ` + "`" + `TestNTLMChallengeWithoutSealingIsRefused` + "`" + ` |
| a Create Shell answered with a web page, a CreateResponse without a ShellId, a CommandResponse without a CommandId | refused at once: ` + "`" + `not a WinRM shell reply: …` + "`" + `; each went on with an empty ID until ` + "`" + `timed out` + "`" + ` | 3 | ` + "`" + `TestRepliesWithoutTheirIDs` + "`" + ` |
| TimedOut faults answered at once; other faults or a proxy's 502 that mention OperationTimeout; a TimedOut fault in German | the first are paced like empty replies, the others end the command at once with what they say (they were polled thousands of times a second), the German one is polled again: TimedOut is known by its code 2150858793 or subcode, not its text | 3 | ` + "`" + `TestTimedOutFaults` + "`" + ` |
| a fault whose message is 1.5 MB | the message is cut at 1,000 bytes | 3 | ` + "`" + `TestLongFaultIsClipped` + "`" + ` |
| a server that accepts and never answers | each request ends at ` + "`" + `--timeout` + "`" + `, and is not polled again: ` + "`" + `timed out` + "`" + `; an interrupt ends it at once (the clean-up Signal and Delete get half a second between them) | 3 | ` + "`" + `TestSilentServer` + "`" + `, ` + "`" + `TestSilentServerTimeoutAndInterrupt` + "`" + ` |
| a leaf naming 40 unreachable AIA URLs | follows at most 8, all within one ` + "`" + `--timeout` + "`" + `; the rest are the finding ` + "`" + `aia-not-followed` + "`" + `; only ` + "`" + `http` + "`" + ` and ` + "`" + `https` + "`" + ` | - | ` + "`" + `TestAIADownloadsShareOneDeadline` + "`" + `, ` + "`" + `TestAIAOnlyHTTP` + "`" + ` |
| a topology naming ` + "`" + `attacker.evil.test:8080` + "`" + `, ` + "`" + `attacker.evil.test` + "`" + `, a name with a path, one that does not resolve | never contacted (no NTLM NEGOTIATE reaches them): ` + "`" + `not contacting "…": it is …` + "`" + `, the finding ` + "`" + `unexpected-server` + "`" + `, doctor's check 9 | 2 | ` + "`" + `TestTopologyNamingAForeignHost` + "`" + `, ` + "`" + `hostile_names.txtar` + "`" + ` |
| an inventory with ` + "`" + `server: se01.lab.test/x?` + "`" + ` | refused like ` + "`" + `--server` + "`" + ` | 1 | ` + "`" + `hostile_names.txtar` + "`" + ` |
| names and errors with escape sequences (` + "`" + `_x001B_` + "`" + ` in CLIXML) | shown as ` + "`" + `\x1b…` + "`" + ` in every table format and on standard error | - | ` + "`" + `TestServerControlCharactersAreEscaped` + "`" + `, ` + "`" + `TestTopologyNamesWithEscapesAreEscaped` + "`" + ` |
| no room for the journal after a change | the change stands; exit 6 names the snapshot and says the journal failed | 6 | ` + "`" + `journal_faults.txtar` + "`" + ` |
| a torn journal line | skipped and reported; the other entries are shown | 0 | ` + "`" + `TestReadSkipsTornLines` + "`" + `, ` + "`" + `journal_faults.txtar` + "`" + ` |

Measured with the CLI built from this tree against such peers (` + "`" + `/usr/bin/time -f "%e s, %M KB"` + "`" + `,
` + "`" + `--timeout 2s audit --auth basic --allow-unencrypted` + "`" + `): 3 GB peer 0.13 s, 25 MB max RSS (the peer
had sent 8.7 MB when lynctrust hung up); million-deep envelope 0.10 s, 22 MB; silent peer 2.03 s,
14 MB. With NTLM and ` + "`" + `--timeout 60s` + "`" + `, SIGINT one second in ended lynctrust 0.02 s later.
Snapshots and journal lines are flushed to disk (` + "`" + `fsync` + "`" + `), with their directory, before lynctrust
goes on.
`

var (
	thumbRe = regexp.MustCompile(`[0-9A-F]{40}`)
	pathRe  = regexp.MustCompile(`/[^ ]*\.json`)
	addrRe  = regexp.MustCompile(`127\.0\.0\.1:\d+`)
)

// firstMessage is the first line lynctrust printed on standard error, with
// the values that change from run to run taken out.
func firstMessage(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "lynctrust: snapshot saved") || strings.HasPrefix(line, "lynctrust: read again") || strings.TrimSpace(line) == "" {
			continue
		}
		line = thumbRe.ReplaceAllString(line, "T")
		line = pathRe.ReplaceAllString(line, "FILE")
		line = addrRe.ReplaceAllString(line, "ADDR")
		line = strings.ReplaceAll(strings.TrimPrefix(line, "lynctrust: "), "|", "/")
		if len(line) > 110 {
			line = line[:110] + "…"
		}
		return line
	}
	return ""
}

// opsLab is a lab with what a command line needs to reach it.
type opsLab struct {
	l               *lab.Lab
	state           string // lynctrust's state directory
	root, ent       string // the Exchange root and the enterprise root thumbprints
	globals, server []string
}

func newOpsLab(t *testing.T, globals ...string) *opsLab {
	l, err := lab.Start(lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	user, pw := l.Account("lyncadmin")
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(pw), 0o600); err != nil {
		t.Fatal(err)
	}
	o := &opsLab{l: l, state: filepath.Join(dir, "state"), root: l.Info.ExchangeRootThumbprint, ent: trustedEnterpriseRoot(t, l),
		server: []string{"--server", l.Info.Servers[0].FQDN, "--user", user, "--password-file", pwFile}}
	o.globals = append([]string{"--state-dir", o.state, "--resolve", strings.Join(l.Info.Resolve, ",")}, globals...)
	return o
}

// args is a command line: the global flags, the command, the connection flags, the rest.
func (o *opsLab) args(command ...string) []string {
	out := append(append([]string{}, o.globals...), command[0])
	return append(append(out, o.server...), command[1:]...)
}

func trustedEnterpriseRoot(t *testing.T, l *lab.Lab) string {
	b, err := os.ReadFile(l.Info.EnterpriseCAFile)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := parseCerts(b)
	if err != nil {
		t.Fatal(err)
	}
	return thumbprintOf(certs[0])
}

func thumbsOf(es []lab.CACert) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Thumbprint)
	}
	return out
}

// firstLine is the verdict of the next run: verified, nothing to do, or its
// first message, with run-specific values taken out.
func firstLine(s string) string {
	for _, want := range []string{"verified", "nothing to do", "lynctrust: "} {
		for _, line := range strings.Split(s, "\n") {
			if strings.Contains(line, want) && !strings.HasPrefix(line, "lynctrust: snapshot saved") {
				return firstMessage(strings.Join(strings.Fields(line), " "))
			}
		}
	}
	return ""
}

func thumbprintOf(der []byte) string {
	cs, _ := parseCerts(der)
	if len(cs) == 0 {
		return ""
	}
	c, _ := x509.ParseCertificate(cs[0])
	return trust.Thumbprint(c)
}
