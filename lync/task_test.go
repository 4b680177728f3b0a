package lync_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lynctrust/lynctrust/internal/lab"
	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/psremote"
)

// hostilePassword holds what breaks a password on a command line or in a
// script: both quotes, PowerShell's escape and variable characters, spaces.
const hostilePassword = `p"a's ` + "`" + `w$rd $env:TEMP "" ''`

// TestTaskPasswordNeverAuditable: --run-as-task registers the task through
// Schedule.Service with a password that reaches the server in the WinRM
// shell's environment. On Server 2008 R2 (Lync 2010, PowerShell 2.0) and on
// Server 2019, with a password full of quotes, backticks, dollars and
// spaces, the change goes through, and the password appears in no process
// command line the server started (event 4688) and no script block it ran
// (event 4104), nor in the script lynctrust sends.
func TestTaskPasswordNeverAuditable(t *testing.T) {
	for _, product := range []string{"2010", "2019"} {
		t.Run(product, func(t *testing.T) {
			l := startLab(t, lab.Options{Product: product, Edition: "enterprise", FrontEnds: 2})
			for _, a := range l.Deployment.Accounts {
				if a.User == "lyncadmin" {
					a.Password = hostilePassword
				}
			}
			c := conn(l, l.Info.Servers[0].FQDN, "lyncadmin")
			c.Password = hostilePassword
			e := lync.Entry{Thumbprint: must(lync.ParseThumbprint(l.Info.ExchangeRootThumbprint)), CAStore: lync.TrustedRootCA}
			changes := []lync.Change{{Identity: "Global", Action: lync.Add, Entries: []lync.Entry{e}}}
			res, err := lync.Apply(context.Background(), c, changes, true)
			if err != nil {
				t.Fatalf("write as a task: %v", err)
			}
			if got := res.After["Global"]; len(got) != 1 || got[0] != e {
				t.Fatalf("after: %v", got)
			}
			inner, _ := lync.ChangeScript(changes)
			sent, err := lync.TaskScript(inner, c.User)
			if err != nil || strings.Contains(sent, hostilePassword) || !strings.Contains(sent, "RegisterTaskDefinition") {
				t.Fatalf("the task script: %v\n%s", err, sent)
			}
			srv := l.Server(l.Info.Servers[0].FQDN)
			var processes, blocks int
			for _, ev := range srv.Audit() {
				switch ev.Kind {
				case lab.AuditProcess:
					processes++
				case lab.AuditScriptBlock:
					blocks++
				}
				for _, part := range []string{hostilePassword, `p"a's`, "w$rd"} {
					if strings.Contains(ev.Text, part) {
						t.Errorf("event %s records the password: %.300s", ev.Kind, ev.Text)
					}
				}
				if ev.Kind == lab.AuditProcess && strings.Contains(strings.ToLower(ev.Text), "schtasks") {
					t.Errorf("schtasks started: %s", ev.Text)
				}
			}
			// The audit saw the work: the WinRM command, the task's cmd.exe
			// and powershell.exe, the script blocks of both.
			if processes < 3 || blocks < 2 {
				t.Errorf("audited %d processes and %d script blocks: %+v", processes, blocks, srv.Audit())
			}
			if len(srv.Tasks()) != 0 || len(srv.Files()) != 0 {
				t.Errorf("left behind: tasks %v, files %v", srv.Tasks(), srv.Files())
			}
		})
	}
}

// The old way, for contrast: schtasks.exe with /RP puts the password on a
// command line, where process-creation auditing records it. The lab's audit
// log catches it, so the test above would too.
func TestAuditRecordsSchtasksPassword(t *testing.T) {
	l := startLab(t, lab.Options{Edition: "enterprise", FrontEnds: 2})
	c := conn(l, l.Info.Servers[0].FQDN, "lyncadmin")
	qu, _ := lync.Quote(c.User)
	qp, _ := lync.Quote(c.Password)
	script := "$ErrorActionPreference = 'Continue'\nschtasks.exe /Create /TN t1 /TR 'C:\\t.cmd' /SC ONCE /ST 00:00 /RU " + qu + " /RP " + qp + " /F 2>&1 | Out-Null\nschtasks.exe /Delete /TN t1 /F 2>&1 | Out-Null\n[Console]::Out.WriteLine('LYNCTRUST' + \"`t\" + 'end')\n"
	if _, err := psremote.Run(context.Background(), c, script, map[string]int{"end": 0}); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, ev := range l.Server(l.Info.Servers[0].FQDN).Audit() {
		if ev.Kind == lab.AuditProcess && strings.Contains(ev.Text, "/RP "+c.Password) {
			found = true
		}
	}
	if !found {
		t.Fatal("the audit log did not record schtasks' command line with the password")
	}
}

// The task's environment refuses what it cannot carry: no password (a
// certificate or ticket sign-in has none), or a control character.
func TestTaskEnvironmentRefuses(t *testing.T) {
	for _, pw := range []string{"", "a\x00b", "line\nbreak"} {
		if _, err := lync.TaskEnvironment(pw); !errors.Is(err, lync.ErrInvalidValue) {
			t.Errorf("TaskEnvironment(%q): %v", pw, err)
		}
	}
	env, err := lync.TaskEnvironment(hostilePassword)
	if err != nil || env[lync.TaskPasswordVariable] != hostilePassword {
		t.Fatalf("TaskEnvironment: %v, %v", env, err)
	}
}
