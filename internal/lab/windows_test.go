package lab

import (
	"bytes"
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab/powershell"
)

// hundred is a 100-character line: longer than the 80-column console.
var hundred = strings.Repeat("0123456789", 10)

// pywinrm sees PowerShell 2.0 wrap Write-Output text after 80 characters on
// the 2010 lab (pywinrm#216), and the whole line on 2019.
func TestPywinrmSeesPowerShell2Wrapping(t *testing.T) {
	py := debianPython(t)
	for _, c := range []struct{ product, want string }{
		{"2010", hundred[:80] + "\r\n" + hundred[80:] + "\r\n"},
		{"2019", hundred + "\r\n"},
	} {
		l := startTestLab(t, Options{Product: c.product})
		user, pw := l.Account("lyncadmin")
		host, port := realAddr(t, l, l.Info.Servers[0].WinRMURL)
		r := runPywinrm(t, py, "http://"+host+":"+strconv.Itoa(port)+"/wsman", "ntlm", user, pw, "always", "Write-Output '"+hundred+"'")
		if r.Error != "" || r.Code != 0 || r.Stdout != c.want {
			t.Errorf("%s: stdout %q, want %q (%+v)", c.product, r.Stdout, c.want, r)
		}
	}
}

// [Console]::Out.WriteLine goes past the host: no wrapping, in any version
// (dotnet/coreclr#58 fixed its PowerShell 2.0 output that way).
func TestConsoleOutIsNotWrapped(t *testing.T) {
	l := startTestLab(t, Options{Product: "2010"})
	out, _, code := ps(t, l, "lyncadmin", "[Console]::Out.WriteLine('"+hundred+"')\nWrite-Output '"+hundred+"'")
	want := hundred + "\r\n" + hundred[:80] + "\r\n" + hundred[80:] + "\r\n"
	if code != 0 || out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

// Formatted objects are cut to the console's width with "..." in every
// version (pywinrm#301); strings are not, from 3.0 on.
func TestFormattedObjectsCutToTheWidth(t *testing.T) {
	o := powershell.NewObject("Test").Set("Caption", "Microsoft Windows Server 2012 R2 Standard "+hundred)
	for _, v := range []int{2, 5} {
		got := hostFormat(o, v)
		line := strings.Split(got, "\r\n")[1]
		if len(line) != 80 || !strings.HasSuffix(line, "...") {
			t.Errorf("PowerShell %d: %q", v, got)
		}
	}
	if got := hostFormat(hundred, 5); got != hundred+"\r\n" {
		t.Errorf("PowerShell 5 string: %q", got)
	}
}

// rawShell opens a shell over Basic and plain HTTP (allowed in this lab) as
// the local Administrator, with hand-made envelopes.
func rawShell(t *testing.T, l *Lab, shellBody string) (*basicClient, string) {
	t.Helper()
	host, port := realAddr(t, l, l.Info.Servers[0].WinRMURL)
	bc := &basicClient{t: t, url: "http://" + host + ":" + strconv.Itoa(port) + "/wsman", user: "Administrator", pass: l.Info.LocalAccount.Password}
	st, body := bc.post(envelopeFor(actionCreate, "", shellBody, nil))
	if st != 200 {
		t.Fatalf("Create: %d %s", st, body)
	}
	return bc, between(body, `Name="ShellId">`, "<")
}

func rawCommand(t *testing.T, bc *basicClient, shellID, line string, opts map[string]string) (int, string) {
	t.Helper()
	st, body := bc.post(envelopeFor(actionCommand, shellID, `<rsp:CommandLine><rsp:Command>`+xmlText(line)+`</rsp:Command></rsp:CommandLine>`, opts))
	return st, between(body, "<rsp:CommandId>", "<")
}

// receiveAll polls until the command is done or a Receive times out.
func receiveAll(t *testing.T, bc *basicClient, shellID, cmdID string) (string, bool) {
	t.Helper()
	var out strings.Builder
	for i := 0; i < 20; i++ {
		st, body := bc.post(envelopeFor(actionReceive, shellID, `<rsp:Receive><rsp:DesiredStream CommandId="`+cmdID+`">stdout stderr</rsp:DesiredStream></rsp:Receive>`, nil))
		if st != 200 {
			return out.String(), false
		}
		for _, part := range strings.Split(body, `<rsp:Stream Name="stdout" CommandId="`+cmdID+`">`)[1:] {
			b, _ := base64.StdEncoding.DecodeString(part[:strings.Index(part, "<")])
			out.Write(b)
		}
		if strings.Contains(body, stateDone) {
			return out.String(), true
		}
	}
	return out.String(), false
}

// Create Shell's Environment reaches the process (MS-WSMV Shell; winrs -env).
func TestShellEnvironmentReachesPowerShell(t *testing.T) {
	l := startTestLab(t, Options{Product: "2010", Basic: true, AllowUnencrypted: true})
	bc, shellID := rawShell(t, l, `<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>`+
		`<rsp:Environment><rsp:Variable Name="LAB_TEST">a&lt;b&#xA;c</rsp:Variable></rsp:Environment></rsp:Shell>`)
	_, id := rawCommand(t, bc, shellID, `powershell -NoProfile -Command $env:LAB_TEST.Length`, nil)
	if out, done := receiveAll(t, bc, shellID, id); !done || strings.TrimSpace(out) != "5" {
		t.Errorf("got %q (done %v), want 5", out, done)
	}
}

// In console mode (WINRS_CONSOLEMODE_STDIN=TRUE, what masterzen and pywinrm
// send) the client's End is no end of file: a reader of standard input
// waits; in pipe mode it gets the input.
func TestConsoleModeStdinHasNoEnd(t *testing.T) {
	l := startTestLab(t, Options{Product: "2019", Basic: true, AllowUnencrypted: true})
	for _, console := range []string{"FALSE", "TRUE"} {
		bc, shellID := rawShell(t, l, `<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>`)
		_, id := rawCommand(t, bc, shellID, `powershell -NoProfile -Command "'[' + [Console]::In.ReadToEnd() + ']'"`, map[string]string{"WINRS_CONSOLEMODE_STDIN": console})
		bc.post(envelopeFor(actionSend, shellID, `<rsp:Send><rsp:Stream Name="stdin" CommandId="`+id+`" End="true">`+base64.StdEncoding.EncodeToString([]byte("hello"))+`</rsp:Stream></rsp:Send>`, nil))
		out, done := receiveAll(t, bc, shellID, id)
		switch {
		case console == "FALSE" && (!done || strings.TrimSpace(out) != "[hello]"):
			t.Errorf("pipe mode: %q done %v", out, done)
		case console == "TRUE" && done:
			t.Errorf("console mode ended: %q", out)
		}
		bc.post(envelopeFor(actionDelete, shellID, ``, nil))
	}
}

// PowerShell 2.0's console host reads redirected standard input itself: a
// script's [Console]::In finds nothing.
func TestPowerShell2HostReadsStdin(t *testing.T) {
	l := startTestLab(t, Options{Product: "2010"})
	srv := l.Deployment.Servers[0]
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code := l.Deployment.powershell(ctx, srv, l.Deployment.Accounts[0], []string{"-NoProfile", "-Command", "'[' + [Console]::In.ReadToEnd() + ']'"}, strings.NewReader("the script"), &out, &errOut)
	if code != 0 || strings.TrimSpace(out.String()) != "[]" {
		t.Errorf("code %d, %q %q", code, out.String(), errOut.String())
	}
}

// WinRM 2.0 on Windows Server 2008 R2: 5 shells and 15 operations per user,
// 150 KB envelopes (winrm-facts §7).
func TestWindows2008R2Quotas(t *testing.T) {
	l := startTestLab(t, Options{Product: "2010", Basic: true, AllowUnencrypted: true})
	var shellID string
	var bc *basicClient
	for i := 0; i < 5; i++ {
		bc, shellID = rawShell(t, l, `<rsp:Shell/>`)
	}
	if st, body := bc.post(envelopeFor(actionCreate, "", `<rsp:Shell/>`, nil)); st != 500 || !strings.Contains(body, "maximum number of 5 concurrent shells") {
		t.Errorf("sixth shell: %d %s", st, body)
	}
	for i := 0; i < 15; i++ {
		if st, _ := rawCommand(t, bc, shellID, "echo x", nil); st != 200 {
			t.Fatalf("command %d: %d", i+1, st)
		}
	}
	if st, _ := rawCommand(t, bc, shellID, "echo x", nil); st != 500 {
		t.Errorf("sixteenth operation: %d", st)
	}
	if st, body := bc.post(envelopeFor(actionCommand, shellID, `<rsp:CommandLine><rsp:Command>echo `+strings.Repeat("x", 160*1024)+`</rsp:Command></rsp:CommandLine>`, nil)); st != 500 || !strings.Contains(body, "maximum allowed size of 150 KB") {
		t.Errorf("a 160 KB envelope: %d %.300s", st, body)
	}
	l19 := startTestLab(t, Options{Product: "2019", Basic: true, AllowUnencrypted: true})
	for i := 0; i < 6; i++ {
		rawShell(t, l19, `<rsp:Shell/>`)
	}
}

// Remote Management Users arrived with Windows Server 2012: on the 2010 lab
// only Administrators reach WinRM.
func TestRemoteManagementUsersFrom2012(t *testing.T) {
	for _, c := range []struct {
		product string
		want    bool
	}{{"2010", false}, {"2013", true}, {"2019", true}} {
		l := startTestLab(t, Options{Product: c.product})
		srv := l.Deployment.Servers[0]
		for _, a := range l.Deployment.Accounts {
			if a.User == "helpdesk" && srv.WinRM.cfg.CanConnect(a) != c.want {
				t.Errorf("%s: helpdesk reaches WinRM: %v", c.product, !c.want)
			}
		}
	}
}

// %TEMP% is the account's own, under its profile.
func TestTempIsPerUser(t *testing.T) {
	l := startTestLab(t, Options{Product: "2010", AdminUser: "lyncadministrator"})
	if out, _, _ := ps(t, l, "lyncadministrator", "$env:TEMP"); strings.TrimSpace(out) != `C:\Users\lyncadministrator\AppData\Local\Temp` {
		t.Errorf("TEMP %q", out)
	}
}

// schtasks as Windows has it: a /TR over 261 characters is refused, a /ST
// earlier than now warns on standard error (terminating under 'Stop'), the
// status is in the server's language, and a task run with /Run does not show
// as running at once.
func TestSchtasksAsWindowsHasIt(t *testing.T) {
	noon := func() time.Time { return time.Date(2026, 12, 2, 12, 0, 0, 0, time.Local) }
	l := startTestLab(t, Options{Product: "2010", Culture: "de-DE", Now: noon})
	user, pw := l.Account("lyncadmin")
	create := "schtasks.exe /Create /TN t1 /TR $tr /SC ONCE /ST 13:00 /RU '" + user + "' /RP '" + pw + "' /F"
	out, _, _ := ps(t, l, "lyncadmin", "$ErrorActionPreference = 'Continue'\n$tr = '"+strings.Repeat("x", 262)+"'\n$r = "+create+" 2>&1\n$LASTEXITCODE\n$r")
	// (PowerShell 2.0 wraps the record's text at 80 columns.)
	if !strings.Contains(strings.ReplaceAll(out, "\r\n", ""), "1ERROR: Invalid syntax. Value for '/tr' option cannot be more than 261 character(s).") {
		t.Errorf("/TR of 262: %q", out)
	}
	_, errs, code := ps(t, l, "lyncadmin", "$ErrorActionPreference = 'Stop'\n$tr = 'C:\\t.cmd'\n"+strings.Replace(create, "13:00", "00:00", 1)+"\n'not reached'")
	if code != 1 || !strings.Contains(errs, "WARNING: Task may not run because /ST is earlier than current time.") {
		t.Errorf("/ST 00:00 under Stop: %d %q", code, errs)
	}
	out, _, _ = ps(t, l, "lyncadmin", "$tr = 'C:\\t.cmd'\n$ErrorActionPreference = 'Continue'\n"+create+" | Out-Null\nschtasks.exe /Run /TN t1 | Out-Null\nschtasks.exe /Query /TN t1 /FO CSV /NH")
	if !strings.Contains(out, `"\t1","N/A","Bereit"`) {
		t.Errorf("status right after /Run: %q", out)
	}
}

// A culture's time separator is what ':' means in a .NET format: '.' in
// fi-FI; the invariant culture keeps ':'.
func TestCultureTimeSeparator(t *testing.T) {
	l := startTestLab(t, Options{Product: "2010", Culture: "fi-FI"})
	script := "$c = Get-Item ('Cert:\\LocalMachine\\Root\\" + l.Info.ExchangeRootThumbprint + "')\n" +
		"$c.NotAfter.ToString('HH:mm')\n$c.NotAfter.ToString('HH:mm', [Globalization.CultureInfo]::InvariantCulture)"
	out, errs, _ := ps(t, l, "lyncadmin", script)
	lines := strings.Fields(out)
	if len(lines) != 2 || !strings.Contains(lines[0], ".") || !strings.Contains(lines[1], ":") {
		t.Errorf("got %q %s", out, errs)
	}
	if _, err := Start(Options{Culture: "xx-XX"}); err == nil {
		t.Error("an unknown culture was accepted")
	}
}
