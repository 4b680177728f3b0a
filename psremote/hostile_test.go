package psremote_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab"
	"github.com/lynctrust/lynctrust/psremote"
)

// Servers that are not what they claim: the reply limits and the deadlines
// against what a hostile peer can send. Each is checked through Run, as the
// commands use it.

// basicConn reaches a test server with Basic over plain HTTP, so that the
// server needs no NTLM.
func basicConn(addr string) psremote.Conn {
	return psremote.Conn{Server: "winrm.lab.test", User: "u", Password: "p", Auth: "basic", AllowUnencrypted: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
}

func listen(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// allocated runs f and returns how many bytes the whole process allocated
// meanwhile: the test server's included, which only makes the bound harder.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// peak runs f and returns the most heap in use at any time meanwhile,
// sampled every few milliseconds, above what was in use before.
func peak(f func()) uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	base, top := m.HeapInuse, m.HeapInuse
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
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

const memoryBound = 200 << 20

// A reply of 3 GB, streamed without a length, is refused after the first
// few MB: it used to be read whole (9.7 GB resident).
func TestThreeGigabyteReplyIsRefused(t *testing.T) {
	for _, auth := range []string{"basic", "ntlm"} {
		t.Run(auth, func(t *testing.T) {
			chunk := bytes.Repeat([]byte("<x>AAAAAAAAAAAAAAAAAAAAAAAAAAAAA</x>"), 2048)
			sent := make(chan int64, 1)
			addr := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
				if auth == "ntlm" {
					w.Header().Set("WWW-Authenticate", "Negotiate TlRMTVNTUAACAAAA")
				}
				var n int64
				for n < 3<<30 {
					k, err := w.Write(chunk)
					n += int64(k)
					if err != nil {
						break
					}
				}
				sent <- n
			}))
			c := basicConn(addr)
			c.Auth = auth
			var err error
			start := time.Now()
			alloc := allocated(func() { _, err = psremote.Run(context.Background(), c, "x", nil) })
			if auth == "basic" && !errors.Is(err, psremote.ErrReplyTooLarge) {
				t.Fatalf("err = %v, want the reply too large", err)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if alloc > memoryBound {
				t.Errorf("allocated %d MB reading a 3 GB reply", alloc>>20)
			}
			if n := <-sent; n >= 3<<30 {
				t.Errorf("lynctrust read the whole %d bytes", n)
			}
			t.Logf("%s: %v after %v, %d MB allocated", auth, err, time.Since(start).Round(time.Millisecond), alloc>>20)
		})
	}
}

// A reply announced as 3 GB is refused before a byte of it is read.
func TestAnnouncedLengthIsRefused(t *testing.T) {
	addr := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3221225472")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("<s:Envelope>"))
	}))
	_, err := psremote.Run(context.Background(), basicConn(addr), "x", nil)
	if !errors.Is(err, psremote.ErrReplyTooLarge) || !strings.Contains(err.Error(), "larger than 4 MB") {
		t.Fatalf("err = %v", err)
	}
}

// An envelope nested a million deep never reaches masterzen's XPath tree
// builder, which took minutes to hours over it.
func TestMillionDeepEnvelopeIsRefused(t *testing.T) {
	body := "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>" + strings.Repeat("<a>", 1_000_000)
	addr := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		io.WriteString(w, body)
	}))
	start := time.Now()
	var err error
	top := peak(func() { _, err = psremote.Run(context.Background(), basicConn(addr), "x", nil) })
	if !errors.Is(err, psremote.ErrReplyTooDeep) {
		t.Fatalf("err = %v, want the reply too deep", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	if top > memoryBound {
		t.Errorf("peak heap %d MB", top>>20)
	}
	if !strings.Contains(err.Error(), "deeper than 64 levels") {
		t.Errorf("message: %v", err)
	}
}

// silent accepts connections and never answers.
func silent(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// Against a server that accepts and never answers, a request ends at its
// timeout (it took the HTTP client's 45 s), and a cancel ends it at once.
func TestSilentServer(t *testing.T) {
	addr := silent(t)
	c := basicConn(addr)
	c.Auth = "" // NTLM: the handshake's first request meets the silence
	c.Timeout, c.OperationTimeout = 2*time.Second, time.Second
	start := time.Now()
	_, err := psremote.Run(context.Background(), c, "x", nil)
	d := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("err = %v, want timed out", err)
	}
	if d > 3*time.Second {
		t.Errorf("a 2 s timeout took %v", d)
	}

	c.Timeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start = time.Now()
	_, err = psremote.Run(ctx, c, "x", nil)
	if d := time.Since(start); d > 300*time.Millisecond+time.Second {
		t.Errorf("a cancel after 300 ms ended the command after %v", d)
	}
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("err = %v, want interrupted", err)
	}
}

// chatty is a WinRM service (Basic, no encryption) whose command prints
// 1 MB per Receive and never ends.
func chatty(t *testing.T) string {
	return listen(t, lab.ScriptedPeer("stdout", bytes.Repeat([]byte("LYNCTRUST\tx\n"), 1<<20/12), false, 0))
}

// A command that prints without end is stopped at MaxOutput.
func TestEndlessOutputIsCapped(t *testing.T) {
	var err error
	addr := chatty(t)
	top := peak(func() {
		_, err = psremote.Run(context.Background(), basicConn(addr), "x", map[string]int{"x": 0})
	})
	if !errors.Is(err, psremote.ErrOutputTooLarge) {
		t.Fatalf("err = %v, want the output too large", err)
	}
	if top > memoryBound {
		t.Errorf("peak heap %d MB", top>>20)
	}
	t.Logf("%v; peak heap %d MB", err, top>>20)
}

// webPage answers every request of one kind ("Command" or "Receive") with an
// HTTP 200 web page, as a proxy's or a load balancer's error page can be,
// and everything else as a WinRM service whose command prints its end
// record. It counts the requests it spoiled.
func webPage(t *testing.T, kind string, spoiled *atomic.Int64) string {
	peer := lab.ScriptedPeer("stdout", []byte("LYNCTRUST\tend\n"), true, 0)
	return listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if bytes.Contains(b, []byte("shell/"+kind+"<")) {
			spoiled.Add(1)
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><body><h1>Service Unavailable</h1></body></html>")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		peer.ServeHTTP(w, r)
	}))
}

// A Command or a Receive answered with a web page is an error at once,
// which names what came back: a Receive's was read as "still running" and
// asked again about 10,000 times a second until the deadline.
func TestAnsweredWithAWebPage(t *testing.T) {
	for _, kind := range []string{"Command", "Receive"} {
		var spoiled atomic.Int64
		addr := webPage(t, kind, &spoiled)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := psremote.Run(ctx, basicConn(addr), "x", map[string]int{"end": 0})
		cancel()
		if !errors.Is(err, psremote.ErrNotShellReply) {
			t.Errorf("%s: err = %v, want not a WinRM shell reply", kind, err)
			continue
		}
		if !strings.Contains(err.Error(), "Service Unavailable") || !strings.Contains(err.Error(), kind+"Response") {
			t.Errorf("%s: the error does not say what came back: %v", kind, err)
		}
		if n := spoiled.Load(); n != 1 {
			t.Errorf("%s: asked %d times, want once", kind, n)
		}
	}
}

// A server that answers every Receive at once with nothing, the command
// still running (Windows holds a Receive until there is output, or until
// its OperationTimeout: winrm-facts §1.4), is asked less and less often:
// it was asked about 10,000 times a second.
func TestQuietRepliesArePaced(t *testing.T) {
	var receives atomic.Int64
	peer := lab.ScriptedPeer("stdout", nil, false, 0)
	addr := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if bytes.Contains(b, []byte("shell/Receive<")) {
			receives.Add(1)
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		peer.ServeHTTP(w, r)
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := psremote.Run(ctx, basicConn(addr), "x", map[string]int{"end": 0})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want timed out", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a 2 s deadline took %v", d)
	}
	// 10, 20, 40 … 640 ms, then a second: 9 or 10 Receives in 2 s.
	if n := receives.Load(); n > 20 {
		t.Errorf("%d Receives in 2 s", n)
	}
}
