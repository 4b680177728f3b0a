package psremote

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer answers each connection with reply(n, request) for its n-th
// request, written as it is; close says to close the connection after it.
func rawServer(t *testing.T, reply func(n int, req *http.Request) (raw string, close bool)) (addr string, conns *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 0; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					raw, end := reply(n, req)
					io.WriteString(c, raw)
					if end {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), conns
}

func post(t *testing.T, ctx context.Context, addr, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/wsman", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func testConn(addr string) *httpConn {
	return &httpConn{dial: (&net.Dialer{}).DialContext, addr: addr}
}

const okReply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// One connection carries every request while the server keeps it open,
// also after a pause long enough for it to be checked.
func TestOneConnectionForEveryRequest(t *testing.T) {
	addr, conns := rawServer(t, func(int, *http.Request) (string, bool) { return okReply, false })
	h := testConn(addr)
	defer h.close()
	for i := 0; i < 5; i++ {
		if i == 4 {
			time.Sleep(idleCheck + 20*time.Millisecond)
		}
		_, body, err := h.roundTrip(post(t, context.Background(), addr, "x"), 100)
		if err != nil || string(body) != "ok" {
			t.Fatalf("request %d: %q %v", i, body, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// A server that closes the connection after a reply, saying so or not, is
// dialled again for the next request, which is sent once (idle past
// idleCheck when it did not say so).
func TestClosedConnectionIsDialledAgain(t *testing.T) {
	for _, reply := range []string{okReply, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"} {
		var requests atomic.Int32
		addr, conns := rawServer(t, func(int, *http.Request) (string, bool) { requests.Add(1); return reply, true })
		h := testConn(addr)
		for i := 0; i < 3; i++ {
			if i > 0 {
				time.Sleep(idleCheck + 20*time.Millisecond)
			}
			if _, body, err := h.roundTrip(post(t, context.Background(), addr, "x"), 100); err != nil || string(body) != "ok" {
				t.Fatalf("%q, request %d: %q %v", reply[:20], i, body, err)
			}
		}
		h.close()
		if c, r := conns.Load(), requests.Load(); c != 3 || r != 3 {
			t.Errorf("%d connections and %d requests, want 3 of each", c, r)
		}
	}
}

// What net/http's Transport refuses is refused here: a head over 1 MB,
// endless interim replies, a body over the limit, a short body; interim
// replies before the answer are skipped, a chunked body is read, and bytes
// beyond the reply keep the connection from being used again.
func TestRepliesAreReadAsNetHTTPReadsThem(t *testing.T) {
	for _, c := range []struct {
		name, raw string
		body, err string
		reused    bool
	}{
		{"head over 1 MB", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 1<<20) + "\r\n\r\n", "", "headers are over", false},
		{"endless interim replies", strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 10) + okReply, "", "interim", false},
		{"two interim replies", strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 2) + okReply, "ok", "", true},
		{"announced too large", "HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", "", "larger than", false},
		{"chunked too large", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n" + strings.Repeat("b", 101) + "\r\n0\r\n\r\n", "", "larger than", false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", "ok", "", true},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok", "", "EOF", false},
		{"bytes beyond the reply", okReply + "HTTP/1.1 200 OK\r\n", "ok", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var served atomic.Int32
			addr, conns := rawServer(t, func(int, *http.Request) (string, bool) {
				if served.Add(1) > 1 {
					return okReply, false
				}
				return c.raw, strings.Contains(c.name, "short")
			})
			h := testConn(addr)
			defer h.close()
			_, body, err := h.roundTrip(post(t, context.Background(), addr, "x"), 100)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %q, %v; want an error with %q", body, err, c.err)
				}
				if c.err == "larger than" && !errors.Is(err, ErrReplyTooLarge) {
					t.Errorf("not ErrReplyTooLarge: %v", err)
				}
			} else if err != nil || string(body) != c.body {
				t.Fatalf("got %q, %v; want %q", body, err, c.body)
			}
			if _, _, err := h.roundTrip(post(t, context.Background(), addr, "x"), 100); err != nil {
				t.Fatalf("the next request: %v", err)
			}
			if reused := conns.Load() == 1; reused != c.reused {
				t.Errorf("connection used again: %v, want %v", reused, c.reused)
			}
		})
	}
}

// A context that ends while the server holds the reply ends the request
// at once, with the context's error.
func TestContextEndsAHeldReply(t *testing.T) {
	addr, _ := rawServer(t, func(int, *http.Request) (string, bool) { time.Sleep(5 * time.Second); return okReply, false })
	for _, end := range []string{"cancel", "deadline"} {
		h := testConn(addr)
		ctx, cancel := context.WithCancel(context.Background())
		want := context.Canceled
		if end == "deadline" {
			ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
			want = context.DeadlineExceeded
		} else {
			time.AfterFunc(50*time.Millisecond, cancel)
		}
		start := time.Now()
		_, _, err := h.roundTrip(post(t, ctx, addr, "x"), 100)
		cancel()
		if !errors.Is(err, want) || time.Since(start) > 2*time.Second {
			t.Errorf("%s: %v after %v", end, err, time.Since(start))
		}
		if h.nc != nil {
			t.Errorf("%s: the connection is kept", end)
		}
	}
}

// A reply over the limit is refused as too large at once, whether it comes
// in one chunk the server never finishes or in endless small chunks (the
// limit counts their framing), not after the request's timeout and not as
// a closed connection.
func TestChunkedRepliesOverTheLimit(t *testing.T) {
	for name, raw := range map[string]string{
		"an unfinished chunk": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nc8\r\n" + strings.Repeat("a", 200),
		"small chunks":        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("1\r\na\r\n", 1000),
	} {
		addr, _ := rawServer(t, func(int, *http.Request) (string, bool) { return raw, false })
		h := testConn(addr)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		start := time.Now()
		_, _, err := h.roundTrip(post(t, ctx, addr, "x"), 100)
		cancel()
		h.close()
		if !errors.Is(err, ErrReplyTooLarge) || time.Since(start) > time.Second {
			t.Errorf("%s: %v after %v", name, err, time.Since(start))
		}
	}
}

// Nothing is sent once the request's context has ended; a server that
// switches protocols (101) is refused and its connection dropped.
func TestNothingSentAfterTheContext(t *testing.T) {
	var requests atomic.Int32
	addr, conns := rawServer(t, func(int, *http.Request) (string, bool) {
		if requests.Add(1) == 1 {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n" + okReply, false
		}
		return okReply, false
	})
	h := testConn(addr)
	defer h.close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := h.roundTrip(post(t, ctx, addr, "x"), 100); !errors.Is(err, context.Canceled) {
		t.Errorf("an ended context: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests reached the server after the context ended", n)
	}
	if _, _, err := h.roundTrip(post(t, context.Background(), addr, "x"), 100); err == nil || !strings.Contains(err.Error(), "101") {
		t.Errorf("a 101: %v", err)
	}
	if _, body, err := h.roundTrip(post(t, context.Background(), addr, "x"), 100); err != nil || string(body) != "ok" || conns.Load() != 2 {
		t.Errorf("after the 101: %q %v, %d connections", body, err, conns.Load())
	}
}

// A connection idle past maxIdle is not used again, though the server
// kept it open: a firewall may have dropped it without a word.
func TestLongIdleConnectionIsNotUsed(t *testing.T) {
	addr, conns := rawServer(t, func(int, *http.Request) (string, bool) { return okReply, false })
	h := testConn(addr)
	defer h.close()
	for i := 0; i < 2; i++ {
		if _, _, err := h.roundTrip(post(t, context.Background(), addr, "x"), 100); err != nil {
			t.Fatal(err)
		}
		h.idle = h.idle.Add(-maxIdle)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// NTLM signs in a connection: a challenge whose connection the server
// closes cannot be answered, and lynctrust says so rather than sending
// the AUTHENTICATE on another and calling the password wrong.
func TestChallengeOnAClosedConnection(t *testing.T) {
	addr, conns := rawServer(t, func(int, *http.Request) (string, bool) {
		return "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate TlRMTVNTUAACAAAA\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", true
	})
	tr := newTransport("http://"+addr+"/wsman", `LAB\u`, "p", "ntlm", true, nil, (&net.Dialer{}).DialContext, 5*time.Second)
	c := tr.take()
	defer c.http.close()
	err := tr.handshake(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "closed the connection after its challenge") || errors.Is(err, ErrUnauthorized) {
		t.Errorf("got %v", err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections: the AUTHENTICATE went out on another", n)
	}
}
