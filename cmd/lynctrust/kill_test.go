package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/internal/changelog"
)

// killTimings are when lynctrust is killed, counted from its start, on a
// server with 300 ms of latency per request: from before the snapshot,
// through the pending journal line and the write, to after the outcome.
// A plain test run tries three of them per command; UPDATE_RELIABILITY=1
// tries them all for docs/reliability.md.
func killTimings() []time.Duration {
	var all []time.Duration
	for ms := 600; ms <= 5000; ms += 400 {
		all = append(all, time.Duration(ms)*time.Millisecond)
	}
	if os.Getenv("UPDATE_RELIABILITY") != "" {
		return all
	}
	return []time.Duration{all[1], all[len(all)/2], all[len(all)-3]}
}

// killRows kills lynctrust with SIGKILL at many timings of each writing
// command, then runs the same command again. Whatever the timing: the list
// after the kill is the old one or the new one; a new list always has a
// journal line (pending at least), since nothing is written before it; the
// next run settles an unanswered pending line with what the server showed
// (changed exactly when the kill left the new list, not-applied when it
// left the old one), and leaves no pending line unanswered.
func killRows(t *testing.T) string {
	if runtime.GOOS == "windows" {
		return ""
	}
	bin := filepath.Join(t.TempDir(), "lynctrust")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var b strings.Builder
	b.WriteString("\n## SIGKILL in the middle of a write\n\nlynctrust killed with SIGKILL at many moments of each writing command, counted from its start,\n" +
		"on a server with 300 ms of latency per request; then the same command is run again. Written by the\n" +
		"same test (`killRows`), which enforces on every row: the list after the kill is the old one or the new\n" +
		"one; a new list always has a journal line, because the pending line is written (and flushed) after\n" +
		"the snapshot and before any remote write; the next run settles an unanswered pending line from what\n" +
		"the server shows (`changed` exactly when the kill left the new list, `not-applied` when it left the\n" +
		"old one) and leaves none unanswered. \"the journal after the kill\" is the killed run's last line.\n\n" +
		"| command | killed at | snapshot | the journal after the kill | TrustedCACerts after the kill | the next run settles it as | the next run says |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	rows := func(sig syscall.Signal, timings []time.Duration) {
		for _, cmd := range []string{"add", "remove", "replace", "rollback"} {
			for _, at := range timings {
				fmt.Fprintln(&b, killOnce(t, bin, cmd, at, sig))
			}
		}
	}
	rows(syscall.SIGKILL, killTimings())
	b.WriteString("\n## Ctrl-C in the middle of a write\n\nThe same, with SIGINT (Ctrl-C) instead of SIGKILL: lynctrust stops at once, and cannot read\n" +
		"the server again to know whether the write it was waiting for went through. The same test\n" +
		"enforces, besides the invariants above: the interrupted run's last journal line says `changed` only\n" +
		"when the new list is in place, and never `failed` when it is: a write under way stays `pending`,\n" +
		"for the next run to settle. (It used to say `failed` with the new list in place.)\n\n" +
		"| command | interrupted at | snapshot | the journal after the interrupt | TrustedCACerts after | the next run settles it as | the next run says |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	rows(syscall.SIGINT, interruptTimings())
	return b.String()
}

// interruptTimings are killTimings for SIGINT: a plain test run tries the
// two moments around the write (about 1.4 s in, at 300 ms per request).
func interruptTimings() []time.Duration {
	if os.Getenv("UPDATE_RELIABILITY") != "" {
		return killTimings()
	}
	return []time.Duration{1200 * time.Millisecond, 1600 * time.Millisecond}
}

// killOnce runs one command on a fresh lab, sends it sig at the given
// moment, checks the invariants and returns the table row.
func killOnce(t *testing.T, bin, cmd string, at time.Duration, sig syscall.Signal) string {
	lb := newOpsLab(t)
	defer lb.l.Close()
	l, state, root, ent, args := lb.l, lb.state, lb.root, lb.ent, lb.args
	if out, err := exec.Command(bin, args("add", "--thumbprint", ent)...).CombinedOutput(); err != nil {
		t.Fatalf("setup: %v %s", err, out)
	}
	snaps, _, _ := changelog.List(state)
	entries, _, _ := changelog.Read(state)
	var a, intended []string
	switch cmd {
	case "add":
		a, intended = args("add", "--thumbprint", root), []string{ent, root}
	case "remove":
		a, intended = args("remove", "--thumbprint", ent, "--yes"), []string{}
	case "replace":
		a, intended = args("replace", "--thumbprint", root, "--yes"), []string{root}
	case "rollback":
		a, intended = args("rollback", "--snapshot", snaps[0].Path, "--yes"), []string{}
	}
	before := fmt.Sprint(thumbsOf(l.Deployment.Trusted("Global")))
	l.Knobs.SetLatency(300 * time.Millisecond)
	p := exec.Command(bin, a...)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(at)
	p.Process.Signal(sig)
	p.Wait()
	l.Knobs.SetLatency(0)
	time.Sleep(300 * time.Millisecond) // whatever the server was running finishes
	after := fmt.Sprint(thumbsOf(l.Deployment.Trusted("Global")))
	listAfter := "the old list"
	switch after {
	case before:
	case fmt.Sprint(intended):
		listAfter = "the new list"
	default:
		t.Errorf("killed %s at %v: the list is %s: neither %s nor %v", cmd, at, after, before, intended)
		listAfter = "OTHER: " + after
	}
	snapNow, _, _ := changelog.List(state)
	snapshot := "no"
	if len(snapNow) > len(snaps) {
		snapshot = "yes"
	}
	killed, _, _ := changelog.Read(state)
	killed = killed[len(entries):]
	journal := "nothing"
	if len(killed) > 0 {
		journal = killed[len(killed)-1].Result
	}
	if listAfter == "the new list" && len(killed) == 0 {
		t.Errorf("killed %s at %v: the list changed and the journal has no line for it", cmd, at)
	}
	if (journal == "changed") != (listAfter == "the new list") && journal != changelog.Pending {
		t.Errorf("%v %s at %v: the journal says %s, and the server has %s", sig, cmd, at, journal, listAfter)
	}
	out, _ := exec.Command(bin, a...).CombinedOutput()
	if fmt.Sprint(thumbsOf(l.Deployment.Trusted("Global"))) != fmt.Sprint(intended) {
		t.Errorf("%s run again after the kill at %v did not reach %v: %s", cmd, at, intended, out)
	}
	all, _, _ := changelog.Read(state)
	if open := changelog.Unresolved(all, ""); len(open) > 0 {
		t.Errorf("killed %s at %v: pending lines left unanswered after the next run: %+v", cmd, at, open)
	}
	settled := "-"
	if journal == changelog.Pending {
		id := killed[len(killed)-1].ID
		for _, e := range all {
			if e.ID == id && e.Result != changelog.Pending {
				settled = e.Result
			}
		}
		want := map[string]string{"the new list": "changed", "the old list": changelog.NotApplied}[listAfter]
		if settled != want {
			t.Errorf("killed %s at %v with %s: the next run settled the pending line as %s, want %s", cmd, at, listAfter, settled, want)
		}
	}
	return fmt.Sprintf("| %s | %.1f s | %s | %s | %s | %s | %s |", cmd, at.Seconds(), snapshot, journal, listAfter, settled, firstLine(string(out)))
}
