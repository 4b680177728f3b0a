package lab

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

type shell struct {
	id       string
	owner    *Account
	codepage int
	skipCmd  bool
	env      map[string]string // the Create request's Environment variables
	ops      int               // commands started: text shells keep counting them until deleted
	commands map[string]*command
}

// ShellContext is what a process learns from the shell it runs in.
type ShellContext struct {
	// Env is the shell's environment, from the Create request (MS-WSMV
	// Shell/Environment; winrs -env).
	Env map[string]string
	// ConsoleMode is WINRS_CONSOLEMODE_STDIN=TRUE: stdin is a console, and
	// the client's End does not reach the process as an end of file.
	ConsoleMode bool
}

type shellCtxKey struct{}

// ShellFrom returns the shell context a process runs with.
func ShellFrom(ctx context.Context) ShellContext {
	sc, _ := ctx.Value(shellCtxKey{}).(ShellContext)
	return sc
}

// command is one running WinRS command: its stdin pipe and its unread output.
type command struct {
	id      string
	mu      sync.Mutex
	stdin   *stdinBuf
	stdout  bytes.Buffer
	stderr  bytes.Buffer
	done    bool
	exit    int
	changed chan struct{}
	cancel  context.CancelFunc
}

func (c *command) notify() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

type cmdWriter struct {
	c   *command
	buf func(*command) *bytes.Buffer
	cp  int
}

func (w cmdWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	w.buf(w.c).Write(encodeCodepage(p, w.cp))
	w.c.mu.Unlock()
	w.c.notify()
	return len(p), nil
}

// encodeCodepage turns the UTF-8 a process writes into the shell's code page:
// with 65001 unchanged, otherwise every non-ASCII character becomes '?', as
// WinRS does with code page 437 (winrm-facts §6).
func encodeCodepage(p []byte, cp int) []byte {
	if cp == 65001 {
		return p
	}
	out := make([]byte, 0, len(p))
	for len(p) > 0 {
		r, n := utf8.DecodeRune(p)
		if r < 0x80 {
			out = append(out, byte(r))
		} else {
			out = append(out, '?')
		}
		p = p[n:]
	}
	return out
}

var durationRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?$`) })

// parseTimeout reads an xs:duration such as PT60S or PT20.000S.
func parseTimeout(s string) time.Duration {
	m := durationRe().FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 60 * time.Second
	}
	var d time.Duration
	if m[1] != "" {
		h, _ := strconv.Atoi(m[1])
		d += time.Duration(h) * time.Hour
	}
	if m[2] != "" {
		mi, _ := strconv.Atoi(m[2])
		d += time.Duration(mi) * time.Minute
	}
	if m[3] != "" {
		sec, _ := strconv.ParseFloat(m[3], 64)
		d += time.Duration(sec * float64(time.Second))
	}
	return d
}

// chunk bounds the output returned per Receive so that the response stays
// under the clients' MaxEnvelopeSize (153600 bytes, base64 adds a third).
const chunk = 64 * 1024

func (s *WinRM) lookupShell(req *request) (*shell, *Fault) {
	id, ok := req.selector("ShellId")
	if !ok {
		return nil, faultMissingSelector()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.shells[id]
	if sh == nil {
		return nil, faultNoShell(id)
	}
	return sh, nil
}

// takeOperation counts a command against MaxConcurrentOperationsPerUser:
// a text shell keeps counting it after Signal terminate, until the shell is
// deleted (MS-WSMV product note <118>).
func (s *WinRM) takeOperation(sh *shell) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	ops := 0
	for _, o := range s.shells {
		if o.owner == sh.owner {
			ops += o.ops
		}
	}
	if ops >= s.cfg.MaxOperationsPerUser {
		return faultOperationsQuota(s.cfg.MaxOperationsPerUser)
	}
	sh.ops++
	return nil
}

func (s *WinRM) act(ctx context.Context, acct *Account, req *request) (string, string, *Fault) {
	switch req.Header.Action {
	case actionCreate:
		return s.createShell(acct, req)
	case actionCommand:
		return s.startCommand(req)
	case actionSend:
		return s.send(req)
	case actionReceive:
		return s.receive(ctx, req)
	case actionSignal:
		return s.signal(req)
	case actionDelete:
		return s.deleteShell(req)
	}
	return "", "", &Fault{"s:Sender", "a:ActionNotSupported", "2150858754",
		"The WS-Management service cannot process the request because the action " + req.Header.Action + " is not supported. "}
}

// createShell opens a shell, within MaxShellsPerUser.
func (s *WinRM) createShell(acct *Account, req *request) (string, string, *Fault) {
	s.mu.Lock()
	n := 0
	for _, sh := range s.shells {
		if sh.owner == acct {
			n++
		}
	}
	if n >= s.cfg.MaxShellsPerUser {
		s.mu.Unlock()
		return "", "", faultShellQuota(s.cfg.MaxShellsPerUser)
	}
	cp, err := strconv.Atoi(req.option("WINRS_CODEPAGE"))
	if err != nil {
		cp = 437
	}
	sh := &shell{id: newGUID(), owner: acct, codepage: cp, commands: map[string]*command{}, env: map[string]string{}}
	if req.Body.Shell != nil {
		for _, v := range req.Body.Shell.Environment {
			sh.env[v.Name] = v.Value
		}
	}
	s.shells[sh.id] = sh
	s.mu.Unlock()
	s.cfg.Counters.Shells.Add(1)
	addr := req.Header.To
	if addr == "" {
		addr = "http://" + strings.ToLower(s.cfg.Computer) + ":5985/wsman"
	}
	body := `<x:ResourceCreated><a:Address>` + xmlText(addr) + `</a:Address><a:ReferenceParameters>` +
		`<w:ResourceURI>` + resourceCmd + `</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">` + sh.id +
		`</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>` +
		`<rsp:Shell><rsp:ShellId>` + sh.id + `</rsp:ShellId><rsp:ResourceUri>` + resourceCmd + `</rsp:ResourceUri>` +
		`<rsp:Owner>` + xmlText(acct.Name(s.cfg.Domain)) + `</rsp:Owner><rsp:ClientIP>127.0.0.1</rsp:ClientIP>` +
		`<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams>` +
		`<rsp:OutputStreams>stdout stderr</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>` +
		`<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>`
	return body, actionCreate + "Response", nil
}

// startCommand starts a command line in a shell.
func (s *WinRM) startCommand(req *request) (string, string, *Fault) {
	sh, f := s.lookupShell(req)
	if f != nil {
		return "", "", f
	}
	if req.Body.CommandLine == nil {
		return "", "", faultSchema(errFieldMissing("CommandLine"))
	}
	line := strings.TrimSpace(req.Body.CommandLine.Command)
	for _, a := range req.Body.CommandLine.Arguments {
		line += " " + a
	}
	if len(line) > 32767 {
		return "", "", faultFilenameTooLong()
	}
	skipCmd := strings.EqualFold(req.option("WINRS_SKIP_CMD_SHELL"), "TRUE")
	console := strings.EqualFold(req.option("WINRS_CONSOLEMODE_STDIN"), "TRUE")
	if f := s.takeOperation(sh); f != nil {
		return "", "", f
	}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), shellCtxKey{}, ShellContext{Env: sh.env, ConsoleMode: console}))
	c := &command{id: newGUID(), stdin: newStdin(console), changed: make(chan struct{}, 1), cancel: cancel}
	s.mu.Lock()
	sh.commands[c.id] = c
	s.mu.Unlock()
	s.cfg.Counters.Commands.Add(1)
	stdout := cmdWriter{c, func(c *command) *bytes.Buffer { return &c.stdout }, sh.codepage}
	stderr := cmdWriter{c, func(c *command) *bytes.Buffer { return &c.stderr }, sh.codepage}
	go func() {
		code := 0
		if !skipCmd && len(line) > 8191 {
			// cmd.exe's own limit (winrm-facts §6).
			io.WriteString(stderr, "The command line is too long.\r\n")
			code = 1
		} else {
			code = s.cfg.Run(ctx, sh.owner, line, c.stdin, stdout, stderr)
		}
		c.mu.Lock()
		c.done, c.exit = true, code
		c.mu.Unlock()
		c.notify()
	}()
	return `<rsp:CommandResponse><rsp:CommandId>` + c.id + `</rsp:CommandId></rsp:CommandResponse>`, actionCommand + "Response", nil
}

// send writes to commands' standard input.
func (s *WinRM) send(req *request) (string, string, *Fault) {
	sh, f := s.lookupShell(req)
	if f != nil {
		return "", "", f
	}
	if req.Body.Send == nil {
		return "", "", faultSchema(errFieldMissing("Send"))
	}
	for _, st := range req.Body.Send.Streams {
		s.mu.Lock()
		c := sh.commands[st.CommandID]
		s.mu.Unlock()
		if c == nil {
			return "", "", faultInternal("The command " + st.CommandID + " was not found. ")
		}
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(st.Data))
		if err != nil {
			return "", "", faultSchema(err)
		}
		c.stdin.write(data)
		if strings.EqualFold(st.End, "true") {
			c.stdin.end()
		}
	}
	return `<rsp:SendResponse/>`, actionSend + "Response", nil
}

// receive waits, up to the operation timeout, for a command's output or exit.
func (s *WinRM) receive(ctx context.Context, req *request) (string, string, *Fault) {
	sh, f := s.lookupShell(req)
	if f != nil {
		return "", "", f
	}
	if req.Body.Receive == nil {
		return "", "", faultSchema(errFieldMissing("Receive"))
	}
	id := req.Body.Receive.DesiredStream.CommandID
	s.mu.Lock()
	c := sh.commands[id]
	s.mu.Unlock()
	if c == nil {
		return "", "", faultInternal("The command " + id + " was not found. ")
	}
	timeout := parseTimeout(req.Header.OperationTimeout)
	if timeout > s.cfg.MaxTimeout {
		timeout = s.cfg.MaxTimeout
	}
	if s.cfg.Knobs.armed(FaultTimeout) {
		defer waitedFor(ctx, time.Now())
		select {
		case <-time.After(timeout):
		case <-ctx.Done():
		}
		return "", "", faultTimedOut()
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if c.stdout.Len() > 0 || c.stderr.Len() > 0 || c.done {
			// Next's slices alias the buffers that the process keeps
			// writing to: copy them before letting go of the lock.
			out := append([]byte(nil), c.stdout.Next(chunk)...)
			errOut := append([]byte(nil), c.stderr.Next(chunk)...)
			finished := c.done && c.stdout.Len() == 0 && c.stderr.Len() == 0
			exit := c.exit
			c.mu.Unlock()
			return receiveBody(id, out, errOut, finished, exit), actionReceive + "Response", nil
		}
		c.mu.Unlock()
		waiting := time.Now()
		select {
		case <-c.changed:
			waitedFor(ctx, waiting)
		case <-deadline.C:
			waitedFor(ctx, waiting)
			return "", "", faultTimedOut()
		case <-ctx.Done():
			return "", "", faultTimedOut()
		}
	}
}

// signal stops a command.
func (s *WinRM) signal(req *request) (string, string, *Fault) {
	sh, f := s.lookupShell(req)
	if f != nil {
		return "", "", f
	}
	if req.Body.Signal != nil {
		s.mu.Lock()
		c := sh.commands[req.Body.Signal.CommandID]
		if c != nil && strings.HasSuffix(req.Body.Signal.Code, "/terminate") {
			delete(sh.commands, c.id)
		}
		s.mu.Unlock()
		if c != nil {
			c.cancel()
			c.stdin.close()
		}
	}
	return `<rsp:SignalResponse/>`, actionSignal + "Response", nil
}

// deleteShell closes a shell and stops its commands.
func (s *WinRM) deleteShell(req *request) (string, string, *Fault) {
	sh, f := s.lookupShell(req)
	if f != nil {
		return "", "", f
	}
	s.mu.Lock()
	delete(s.shells, sh.id)
	for _, c := range sh.commands {
		c.cancel()
		c.stdin.close()
	}
	s.mu.Unlock()
	return ``, actionDelete + "Response", nil
}

func receiveBody(id string, out, errOut []byte, done bool, exit int) string {
	var b strings.Builder
	b.WriteString(`<rsp:ReceiveResponse>`)
	if len(out) > 0 {
		b.WriteString(`<rsp:Stream Name="stdout" CommandId="` + id + `">` + base64.StdEncoding.EncodeToString(out) + `</rsp:Stream>`)
	}
	if len(errOut) > 0 {
		b.WriteString(`<rsp:Stream Name="stderr" CommandId="` + id + `">` + base64.StdEncoding.EncodeToString(errOut) + `</rsp:Stream>`)
	}
	if done {
		b.WriteString(`<rsp:Stream Name="stdout" CommandId="` + id + `" End="true"></rsp:Stream>`)
		b.WriteString(`<rsp:Stream Name="stderr" CommandId="` + id + `" End="true"></rsp:Stream>`)
		b.WriteString(`<rsp:CommandState CommandId="` + id + `" State="` + stateDone + `"><rsp:ExitCode>` + strconv.Itoa(exit) + `</rsp:ExitCode></rsp:CommandState>`)
	} else {
		b.WriteString(`<rsp:CommandState CommandId="` + id + `" State="` + stateRunning + `"></rsp:CommandState>`)
	}
	b.WriteString(`</rsp:ReceiveResponse>`)
	return b.String()
}

type errFieldMissing string

func (e errFieldMissing) Error() string { return "missing " + string(e) }

// stdinBuf is a command's standard input: Send appends to it without
// blocking, in order, and the process reads until End closes it. In console
// mode (WINRS_CONSOLEMODE_STDIN=TRUE) the input is a console's: End is no
// end of file, and a reader waits until the command is terminated.
type stdinBuf struct {
	mu      sync.Mutex
	cond    *sync.Cond
	buf     bytes.Buffer
	closed  bool
	console bool
}

func newStdin(console bool) *stdinBuf {
	b := &stdinBuf{console: console}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// end is the client's End="true".
func (b *stdinBuf) end() {
	if !b.console {
		b.close()
	}
}

func (b *stdinBuf) write(p []byte) {
	b.mu.Lock()
	b.buf.Write(p)
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *stdinBuf) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *stdinBuf) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.buf.Len() == 0 && !b.closed {
		b.cond.Wait()
	}
	if b.buf.Len() == 0 {
		return 0, io.EOF
	}
	return b.buf.Read(p)
}
