package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	pslab "github.com/lynctrust/lynctrust/internal/lab"
)

// silentPeer accepts TCP connections and never answers.
func silentPeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-held:
				c.Close()
			default:
				return
			}
		}
	})
	return ln.Addr().String()
}

// runCLI runs lynctrust in-process and returns its exit code, output and
// how long it took.
func runCLI(ctx context.Context, args ...string) (int, string, string, time.Duration) {
	var out, errb bytes.Buffer
	start := time.Now()
	code := run(ctx, append([]string{"lynctrust"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String(), time.Since(start)
}

func passwordFile(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(f, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// Against a server that accepts and never answers, --timeout 2s ends the
// audit within 3 s (it took 45 s with --timeout 5s), and an interrupt ends
// it within a second (it waited 60 s).
func TestSilentServerTimeoutAndInterrupt(t *testing.T) {
	_, port, _ := net.SplitHostPort(silentPeer(t))
	pw := passwordFile(t)
	args := []string{"--state-dir", t.TempDir(), "--resolve", "fe01.lab.test:5985:127.0.0.1:" + port}
	conn := []string{"--server", "fe01.lab.test", "--user", `LAB\lyncadmin`, "--password-file", pw}

	code, _, stderr, took := runCLI(context.Background(), append(append(append([]string{}, args...), "--timeout", "2s", "audit"), conn...)...)
	if code != exitRemote || !strings.Contains(stderr, "timed out") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if took > 3*time.Second {
		t.Errorf("--timeout 2s took %v", took)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	code, _, stderr, took = runCLI(ctx, append(append(append([]string{}, args...), "--timeout", "60s", "audit"), conn...)...)
	if code == 0 || !strings.Contains(stderr, "interrupted") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if took > 1500*time.Millisecond {
		t.Errorf("an interrupt after 0.5 s ended the audit after %v", took)
	}
}

// A WinRM service (Basic over plain HTTP) whose one command fails with a
// PowerShell error that carries escape sequences, as CLIXML sends them
// (_x001B_): one clears the screen and draws a fake password prompt.
func clixmlPeer(t *testing.T) string {
	t.Helper()
	clixml := "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">" +
		"<S S=\"Error\">Access denied_x001B_[2J_x001B_[H_x001B_]0;pwned_x0007_Password for LAB\\lyncadmin: _x009B_31m_x000D__x000A_</S></Objs>"
	s := httptest.NewServer(pslab.ScriptedPeer("stderr", []byte(clixml), true, 1))
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// noControls fails if raw control characters reached the output.
func noControls(t *testing.T, what, s string) {
	t.Helper()
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			t.Errorf("%s holds the control character %U: %q", what, r, s)
			return
		}
	}
}

func TestServerControlCharactersAreEscaped(t *testing.T) {
	_, port, _ := net.SplitHostPort(clixmlPeer(t))
	code, stdout, stderr, _ := runCLI(context.Background(), "--state-dir", t.TempDir(), "--resolve", "se01.lab.test:5985:127.0.0.1:"+port,
		"audit", "--server", "se01.lab.test", "--user", `SE01\Administrator`, "--password-file", passwordFile(t), "--auth", "basic", "--allow-unencrypted")
	if code == 0 {
		t.Errorf("exit 0")
	}
	noControls(t, "stdout", stdout)
	noControls(t, "stderr", stderr)
	if !strings.Contains(stderr, `Access denied\x1b[2J\x1b[H\x1b]0;pwned\x07Password for LAB\lyncadmin: \u009b31m`) {
		t.Errorf("the error is not shown escaped: %q", stderr)
	}
}

// Names in the topology with escape sequences are shown escaped, in every
// table format.
func TestTopologyNamesWithEscapesAreEscaped(t *testing.T) {
	l, err := pslab.Start(pslab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	srv := l.Info.Servers[0]
	l.Deployment.NameComputer(srv.Pool, "\x1b]0;pwned\x07\x1b[1;1fpassword:\x1b[8m.lab.test")
	user, pw := l.Account("lyncadmin")
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte(pw), 0o600)
	for _, format := range []string{"table", "csv", "markdown", "html", "json"} {
		// CSV holds one table: the pools', where the name is.
		code, stdout, stderr, _ := runCLI(context.Background(), "--state-dir", t.TempDir(), "--resolve", strings.Join(l.Info.Resolve, ","), "--output", format,
			"--table", map[bool]string{true: "pools", false: ""}[format == "csv"],
			"audit", "--server", srv.FQDN, "--user", user, "--password-file", pwFile)
		if code != exitFindings {
			t.Errorf("%s: exit %d: %s", format, code, stderr)
		}
		noControls(t, format+" stdout", stdout)
		noControls(t, format+" stderr", stderr)
		want := `\x1b]0;pwned\x07\x1b[1;1fpassword:\x1b[8m.lab.test`
		if format == "json" {
			want = `\u001b]0;pwned\u0007\u001b[1;1fpassword:\u001b[8m.lab.test`
		}
		if !strings.Contains(stdout, want) {
			t.Errorf("%s: the name is not shown escaped:\n%s", format, stdout)
		}
	}
}

func TestEscapeControls(t *testing.T) {
	for in, want := range map[string]string{
		"se01.lab.test":            "se01.lab.test",
		"a\tb\nc":                  "a\tb\nc",
		"\x1b[2J":                  `\x1b[2J`,
		"bell\a\b\r\x7f":           `bell\x07\x08\x0d\x7f`,
		"\u009b31m":                `\u009b31m`,
		"\xff\xfe":                 `\xff\xfe`,
		"admin\u202egnp.exe":       `admin\u202egnp.exe`,
		"Zürich – café":            "Zürich – café",
		"\u200eBA1DC7\u200f (LRM)": "\u200eBA1DC7\u200f (LRM)",
	} {
		if got := escapeControls(in); got != want {
			t.Errorf("escapeControls(%q) = %q, want %q", in, got, want)
		}
	}
}

// hugePeer answers every request with 3 GB, generated as it goes.
func hugePeer(t *testing.T) string {
	t.Helper()
	chunk := bytes.Repeat([]byte("<x>AAAAAAAAAAAAAAAAAAAAAAAAAAAAA</x>"), 2048)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		for n := 0; n < 3<<30; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// deepPeer answers with an envelope nested a million deep.
func deepPeer(t *testing.T) string {
	t.Helper()
	body := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>` + strings.Repeat("<a>", 1_000_000)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// peakHeap runs f and returns the most heap in use meanwhile, above the
// start, sampled every few milliseconds.
func peakHeap(f func()) uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	base, top := m.HeapInuse, m.HeapInuse
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return top - base
		case <-tick.C:
			runtime.ReadMemStats(&m)
			top = max(top, m.HeapInuse)
		}
	}
}

// audit against a peer that sends 3 GB, or a million-deep envelope: a clear
// error, exit 3, under 200 MB, within the timeout plus a second.
func TestHostileRepliesEndTheAudit(t *testing.T) {
	for name, tc := range map[string]struct {
		addr, want string
	}{
		"3 GB":         {hugePeer(t), "the WinRM reply is larger than 4 MB"},
		"million deep": {deepPeer(t), "the WinRM reply nests XML deeper than 64 levels"},
	} {
		_, port, _ := net.SplitHostPort(tc.addr)
		var code int
		var stderr string
		var took time.Duration
		top := peakHeap(func() {
			code, _, stderr, took = runCLI(context.Background(), "--state-dir", t.TempDir(), "--timeout", "5s", "--resolve", "se01.lab.test:5985:127.0.0.1:"+port,
				"audit", "--server", "se01.lab.test", "--user", `SE01\Administrator`, "--password-file", passwordFile(t), "--auth", "basic", "--allow-unencrypted")
		})
		if code != exitRemote || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q", name, code, stderr)
		}
		if top > 200<<20 {
			t.Errorf("%s: peak heap %d MB", name, top>>20)
		}
		if took > 6*time.Second {
			t.Errorf("%s: took %v", name, took)
		}
		t.Logf("%s: exit %d in %v, peak heap %d MB", name, code, took.Round(time.Millisecond), top>>20)
	}
}
