package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
