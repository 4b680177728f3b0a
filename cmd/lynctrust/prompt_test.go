//go:build linux

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pty opens a pseudo-terminal: the master, and the terminal a program gets.
func pty(t *testing.T) (master, terminal *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// lockedBuffer is what the terminal showed, written by one goroutine and
// read by another.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// onTerminal runs lynctrust with a pseudo-terminal as its controlling
// terminal (standard input, output and error too), types keys once it has
// printed prompt, and returns its exit code, what it printed, and whether
// the terminal echoes again afterwards.
func onTerminal(t *testing.T, bin string, args []string, prompt, keys string) (code int, out string, echo bool) {
	t.Helper()
	m, s := pty(t)
	p := exec.Command(bin, args...)
	p.Env = append(os.Environ(), "LYNCTRUST_PASSWORD=")
	p.Stdin, p.Stdout, p.Stderr = s, s, s
	p.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	var buf lockedBuffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		b := make([]byte, 4096)
		for {
			n, err := m.Read(b)
			buf.Write(b[:n])
			if err != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(buf.String(), prompt) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(buf.String(), prompt) {
		p.Process.Kill()
		p.Wait()
		t.Fatalf("no %q on the terminal: %q", prompt, buf.String())
	}
	time.Sleep(100 * time.Millisecond) // the prompt is printed before the terminal is set
	m.WriteString(keys)
	done := make(chan error, 1)
	go func() { done <- p.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.Process.Kill()
		<-done
		t.Fatalf("lynctrust still waited 10 s after %q: %q", keys, buf.String())
	}
	tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	<-read
	return p.ProcessState.ExitCode(), buf.String(), tio.Lflag&unix.ECHO != 0
}

// Ctrl-C at the password prompt ends lynctrust at once with the terminal's
// echo back on, and an empty answer is refused without signing in: Ctrl-C
// was ignored, and Enter then signed in with an empty password, a failed
// logon towards the account's lockout.
func TestPromptsOnATerminal(t *testing.T) {
	lb := newOpsLab(t)
	defer lb.l.Close()
	bin := filepath.Join(t.TempDir(), "lynctrust")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	server, user := lb.server[1], lb.server[3]
	audit := append(append([]string{}, lb.globals...), "audit", "--server", server, "--user", user)
	before := lb.l.Counters().Requests

	code, out, echo := onTerminal(t, bin, audit, "Password for", "\x03")
	if code == 0 || !strings.Contains(out, "interrupted") || !echo {
		t.Errorf("Ctrl-C at the password prompt: exit %d, echo %v: %q", code, echo, out)
	}
	code, out, echo = onTerminal(t, bin, audit, "Password for", "\r")
	if code != exitUsage || !strings.Contains(out, "no password was typed") || !echo {
		t.Errorf("Enter at the password prompt: exit %d, echo %v: %q", code, echo, out)
	}
	if n := lb.l.Counters().Requests - before; n != 0 {
		t.Errorf("%d requests reached the server", n)
	}

	// A typed password ends the prompt's line: what follows starts a line
	// of its own (the newline was lost, and the report joined the prompt).
	code, out, _ = onTerminal(t, bin, audit, "Password for", "wrong-password\r")
	if code != exitRemote || !regexp.MustCompile(`Password for [^\r\n]*: *\r?\n`).MatchString(out) {
		t.Errorf("a wrong password typed at the prompt: exit %d: %q", code, out)
	}

	// Ctrl-C at a confirmation: nothing changed, at once.
	replace := lb.args("replace", "--thumbprint", lb.ent)
	code, out, _ = onTerminal(t, bin, replace, "[y/N]", "\x03")
	if code != exitDeclined || !strings.Contains(out, "interrupted; nothing was changed") {
		t.Errorf("Ctrl-C at the confirmation: exit %d: %q", code, out)
	}
	if got := thumbsOf(lb.l.Deployment.Trusted("Global")); len(got) != 0 {
		t.Errorf("the list is %v after Ctrl-C at the confirmation", got)
	}
}
