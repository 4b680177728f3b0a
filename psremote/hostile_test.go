package psremote_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

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

// intercept is next, except that the requests whose body holds kind (the
// end of their action: "transfer/Create<", "shell/Command<",
// "shell/Receive<") are counted in seen (when not nil), and answered by
// answer (when not nil) if it returns true; n counts them from 1.
func intercept(next http.Handler, kind string, seen *atomic.Int64, answer func(w http.ResponseWriter, n int64) bool) http.Handler {
	var count atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if bytes.Contains(b, []byte(kind)) {
			n := count.Add(1)
			if seen != nil {
				seen.Add(1)
			}
			if answer != nil && answer(w, n) {
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		next.ServeHTTP(w, r)
	})
}

// ending is a WinRM service whose command prints its end record and is done.
func ending() http.Handler { return lab.ScriptedPeer("stdout", []byte("LYNCTRUST\tend\n"), true, 0) }

// webPage answers every request of one kind ("Command" or "Receive") with an
// HTTP 200 web page, as a proxy's or a load balancer's error page can be,
// and everything else as ending does. It counts the requests it spoiled.
func webPage(t *testing.T, kind string, spoiled *atomic.Int64) string {
	return listen(t, intercept(ending(), "shell/"+kind+"<", spoiled, func(w http.ResponseWriter, _ int64) bool {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body><h1>Service Unavailable</h1></body></html>")
		return true
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
	addr := listen(t, intercept(lab.ScriptedPeer("stdout", nil, false, 0), "shell/Receive<", &receives, nil))
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

// challenge is an NTLM CHALLENGE message (MS-NLMP 2.2.1.2) with these
// flags, a domain LAB and the AV pairs Windows sends.
func challenge(flags uint32) string {
	u16 := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = binary.LittleEndian.AppendUint16(b, uint16(r))
		}
		return b
	}
	av := func(id uint16, v []byte) []byte {
		b := binary.LittleEndian.AppendUint16(nil, id)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
		return append(b, v...)
	}
	ts := binary.LittleEndian.AppendUint64(nil, uint64(time.Now().UnixNano()/100+116444736000000000))
	info := slices.Concat(av(2, u16("LAB")), av(1, u16("FE01")), av(7, ts), av(0, nil))
	target := u16("LAB")
	msg := make([]byte, 56)
	copy(msg, "NTLMSSP\x00")
	binary.LittleEndian.PutUint32(msg[8:], 2)
	field := func(off, n, at int) {
		binary.LittleEndian.PutUint16(msg[off:], uint16(n))
		binary.LittleEndian.PutUint16(msg[off+2:], uint16(n))
		binary.LittleEndian.PutUint32(msg[off+4:], uint32(at))
	}
	field(12, len(target), 56)
	binary.LittleEndian.PutUint32(msg[20:], flags)
	copy(msg[24:], "12345678")
	field(40, len(info), 56+len(target))
	copy(msg[48:], []byte{10, 0, 0x63, 0x45, 0, 0, 0, 15})
	return "Negotiate " + base64.StdEncoding.EncodeToString(slices.Concat(msg, target, info))
}

// A challenge that leaves out sealing or 128-bit keys, as a machine in the
// middle of plain HTTP can make it, ends the sign-in before any SOAP
// message: the AUTHENTICATE travels with the first one (Create Shell, whose
// environment can hold the script and, for --run-as-task, the password),
// which bodgit/ntlmssp would have signed and sent readable.
func TestNTLMChallengeWithoutSealingIsRefused(t *testing.T) {
	const (
		unicode, sign, seal, ntlm, alwaysSign   = 0x1, 0x10, 0x20, 0x200, 0x8000
		ess, targetInfo, version, b128, kx, b56 = 0x80000, 0x800000, 0x2000000, 0x20000000, 0x40000000, 0x80000000
	)
	all := uint32(unicode | sign | seal | ntlm | alwaysSign | ess | targetInfo | version | b128 | kx | b56)
	for name, flags := range map[string]uint32{
		"no sealing":                  all &^ seal,
		"40-bit keys":                 all &^ (b128 | b56),
		"neither signing nor sealing": all &^ (sign | seal),
	} {
		var requests atomic.Int64
		var leaked atomic.Bool
		addr := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			b, _ := io.ReadAll(r.Body)
			if len(b) == 0 {
				w.Header().Set("WWW-Authenticate", challenge(flags))
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			leaked.Store(bytes.Contains(b, []byte("Secret-Pa55")) || bytes.Contains(b, []byte("Environment")))
			w.WriteHeader(http.StatusInternalServerError)
		}))
		c := basicConn(addr)
		c.Auth, c.User, c.Password, c.AllowUnencrypted = "", `LAB\lyncadmin`, "Secret-Pa55", false
		_, err := psremote.RunWithEnv(context.Background(), c, "x", nil, map[string]string{"LYNCTRUST_X": "Secret-Pa55"})
		if !errors.Is(err, psremote.ErrWeakNTLM) {
			t.Errorf("%s: err = %v, want the challenge refused", name, err)
		}
		if n := requests.Load(); n != 1 || leaked.Load() {
			t.Errorf("%s: %d requests (want the NEGOTIATE alone), the body readable: %v", name, n, leaked.Load())
		}
	}
}

// fault is a SOAP fault as Windows words it (HTTP 500).
func fault(subcode, code, msg string) string {
	return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value>` +
		`<s:Subcode><s:Value>` + subcode + `</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">` + msg + `</s:Text></s:Reason>` +
		`<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="` + code + `" Machine="fe01"><f:Message>` + msg +
		`</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>`
}

// receiving is ending, except that answer writes the reply to the nth
// Receive when it returns true. It counts the Receives.
func receiving(t *testing.T, receives *atomic.Int64, answer func(w http.ResponseWriter, n int64) bool) string {
	return listen(t, intercept(ending(), "shell/Receive<", receives, answer))
}

const timedOutText = "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "

// The TimedOut fault is known by its code, in any language, and only it
// means "no output yet": other errors that mention OperationTimeout end
// the command, and TimedOut faults that come at once are paced. Each of
// the last two was asked again thousands of times a second.
func TestTimedOutFaults(t *testing.T) {
	soapFault := func(body string) func(w http.ResponseWriter, n int64) bool {
		return func(w http.ResponseWriter, n int64) bool {
			w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, body)
			return true
		}
	}
	for _, tc := range []struct {
		name    string
		answer  func(w http.ResponseWriter, n int64) bool
		err     string // "" for success
		maxRecv int64
	}{
		{"TimedOut in German, then the output", func(w http.ResponseWriter, n int64) bool {
			return n == 1 && soapFault(fault("w:TimedOut", "2150858793", "Der WS-Verwaltungsdienst kann den Vorgang nicht in der angegebenen Zeit abschließen."))(w, n)
		}, "", 2},
		{"TimedOut at once, forever", soapFault(fault("w:TimedOut", "2150858793", timedOutText)), "timed out", 20},
		{"access denied, naming OperationTimeout", soapFault(fault("w:AccessDenied", "5", "Access is denied. The OperationTimeout value is out of range.")), "Access is denied", 1},
		{"a proxy's 502 naming OperationTimeout", func(w http.ResponseWriter, n int64) bool {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "Bad gateway: upstream exceeded OperationTimeout\n")
			return true
		}, "HTTP 502", 1},
	} {
		var receives atomic.Int64
		addr := receiving(t, &receives, tc.answer)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := psremote.Run(ctx, basicConn(addr), "x", map[string]int{"end": 0})
		cancel()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
		}
		if n := receives.Load(); n > tc.maxRecv {
			t.Errorf("%s: %d Receives, want at most %d", tc.name, n, tc.maxRecv)
		}
	}
}

// A fault's text is cut at 1,000 bytes: a server's 1.5 MB message was the
// error, whole.
func TestLongFaultIsClipped(t *testing.T) {
	var receives atomic.Int64
	addr := receiving(t, &receives, func(w http.ResponseWriter, n int64) bool {
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, fault("w:InternalError", "1", strings.Repeat("é", 750<<10)))
		return true
	})
	_, err := psremote.Run(context.Background(), basicConn(addr), "x", map[string]int{"end": 0})
	if err == nil || !strings.Contains(err.Error(), "éé…") {
		t.Fatalf("err = %.200v", err)
	}
	if n := len(err.Error()); n > 2000 || !utf8.ValidString(err.Error()) {
		t.Errorf("the error is %d bytes (valid UTF-8: %v)", n, utf8.ValidString(err.Error()))
	}
}

// A Create Shell answered with a web page, a CreateResponse without a
// ShellId and a CommandResponse without a CommandId end the command at
// once: each went on with an empty ID until the deadline ("timed out").
func TestRepliesWithoutTheirIDs(t *testing.T) {
	env := func(action, body string) string {
		return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ` +
			`xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">` +
			`<s:Header><a:Action>` + action + `</a:Action></s:Header><s:Body>` + body + `</s:Body></s:Envelope>`
	}
	for _, tc := range []struct{ name, request, reply, want string }{
		{"Create answered with a web page", "transfer/Create<", "<html><body><h1>Welcome to IIS</h1></body></html>", "Welcome to IIS"},
		{"CreateResponse without ShellId", "transfer/Create<", env("http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse", `<w:ResourceCreated/>`), "names no ShellId"},
		{"CommandResponse without CommandId", "shell/Command<", env("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse", `<rsp:CommandResponse/>`), "names no CommandId"},
	} {
		var receives atomic.Int64
		counted := intercept(lab.ScriptedPeer("stdout", nil, false, 0), "shell/Receive<", &receives, nil)
		addr := listen(t, intercept(counted, tc.request, nil, func(w http.ResponseWriter, _ int64) bool {
			io.WriteString(w, tc.reply)
			return true
		}))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := psremote.Run(ctx, basicConn(addr), "x", map[string]int{"end": 0})
		cancel()
		if !errors.Is(err, psremote.ErrNotShellReply) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want not a WinRM shell reply, %q", tc.name, err, tc.want)
		}
		if n := receives.Load(); n != 0 {
			t.Errorf("%s: %d Receives", tc.name, n)
		}
	}
}

// Until, against a command that prints 256 KB of short lines per Receive
// and never the record awaited, stops at the 16 MB cap. It used to look at
// every line again on every Receive: 4.7 s here against 1.4 s now (the
// scan itself is TestLineIndexResumes).
func TestUntilStopsAtTheOutputCap(t *testing.T) {
	addr := listen(t, lab.ScriptedPeer("stdout", []byte(strings.Repeat("ab\n", 256<<10/3)), false, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := psremote.Start(ctx, basicConn(addr), "x", map[string]int{"ready": 0})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var reached bool
	total := allocated(func() { _, reached, err = st.Until(ctx, "ready") })
	if reached || !errors.Is(err, psremote.ErrOutputTooLarge) {
		t.Fatalf("reached %v, err = %v, want the output too large", reached, err)
	}
	if total > 1<<30 {
		t.Errorf("%d MB allocated", total>>20)
	}
}

// A 401 that offers no NTLM says so: it read "wrong user or password",
// though no password had been sent.
func TestNoNTLMOffered(t *testing.T) {
	for offer, want := range map[string]string{`Basic realm="WSMAN"`: "it offers Basic", "Kerberos": "it offers Kerberos"} {
		addr := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("WWW-Authenticate", offer)
			w.WriteHeader(http.StatusUnauthorized)
		}))
		c := basicConn(addr)
		c.Auth, c.AllowUnencrypted = "", false
		_, err := psremote.Run(context.Background(), c, "x", nil)
		if err == nil || !strings.Contains(err.Error(), "does not offer NTLM") || !strings.Contains(err.Error(), want) || errors.Is(err, psremote.ErrUnauthorized) {
			t.Errorf("%s: err = %v", offer, err)
		}
	}
}
