package psremote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Stream is a script running in a shell of its own, read record by record
// while it runs; beside it, a second, short command can run in the same
// shell (a WinRM shell takes a Command while another runs, each counted
// against MaxConcurrentOperationsPerUser: winrm-facts §6, MS-WSMV product
// note <118>; docs/lab.md). Every message
// goes over the one signed-in connection: the stream polls its command only
// when asked to, so nothing overlaps.
type Stream struct {
	c      Conn
	s      *session
	shell  string
	cmd    string
	fields map[string]int
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   bool
	code   int
	// seen is how much of stdout Until has returned.
	seen int
	// endIsLast: the script's end record is its last statement.
	endIsLast bool
	// quiet counts the Receives in a row that brought nothing (poll).
	quiet int
}

// EndIsLast says that the script prints its end record as its very last
// statement: Wait then returns once the record has arrived, without a
// Receive of its own for the exit code (Close ends the command). Not for a
// script with work after its end record, such as the scheduled task's
// wrapper, which relays the task's records and then removes its files.
func (st *Stream) EndIsLast() { st.endIsLast = true }

// Start opens a shell and starts script in it, without reading its output.
func Start(ctx context.Context, c Conn, script string, fields map[string]int) (*Stream, error) {
	return StartWithEnv(ctx, c, script, fields, nil)
}

// StartWithEnv is Start with more variables in the shell's environment.
func StartWithEnv(ctx context.Context, c Conn, script string, fields map[string]int, extra map[string]string) (*Stream, error) {
	cmdline, env, err := CommandLine(script)
	if err != nil {
		return nil, err
	}
	for k, v := range extra {
		if env == nil {
			env = map[string]string{}
		}
		env[k] = v
	}
	// The stream outlives the call that starts it: each call passes its
	// own context (use), and Close ends the stream's.
	s, err := open(context.WithoutCancel(ctx), c)
	if err != nil {
		return nil, err
	}
	s.tr.ctx = ctx
	st := &Stream{c: c, s: s, fields: fields}
	st.shell, err = st.create(env)
	if err == nil {
		st.cmd, err = st.execute(cmdline)
	}
	if err != nil {
		err = s.legacy(c, err)
		st.Close()
		return nil, explainConnect(c, err)
	}
	return st, nil
}

func (st *Stream) create(env map[string]string) (id string, err error) {
	defer guard(&err)
	reply, err := st.s.tr.exchange(st.s.h.createShell(env))
	if err != nil {
		return "", err
	}
	r, err := readReply(reply, io.Discard, io.Discard)
	switch {
	case err != nil:
	case r.action != createReply:
		err = wrongReply("Create Shell", "a CreateResponse", r, reply)
	case r.shellID == "":
		err = noID("CreateResponse", "ShellId", reply)
	}
	return r.shellID, err
}

// guard turns a panic while a message is built or a reply read (the WinRM
// library's code and lynctrust's) into an error.
func guard(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("the WinRM exchange broke off: %v", r)
	}
}

func (st *Stream) execute(cmdline string) (id string, err error) {
	defer guard(&err)
	reply, err := st.s.tr.exchange(st.s.h.command(st.shell, cmdline))
	if err != nil {
		return "", err
	}
	r, err := readReply(reply, io.Discard, io.Discard)
	switch {
	case err != nil:
	case r.action != commandReply:
		err = wrongReply("Command", "a CommandResponse", r, reply)
	case r.commandID == "":
		err = noID("CommandResponse", "CommandId", reply)
	}
	return r.commandID, err
}

// receive asks once for a command's output; the server answers as soon as
// there is some, or with its TimedOut fault, which is no error here. quiet
// is an answer Windows never gives: a ReceiveResponse that brought nothing
// and left the command running, or a TimedOut fault long before the
// OperationTimeout (Windows holds a Receive until there is output or the
// OperationTimeout ends, then answers with that fault: winrm-facts §1.4).
func (st *Stream) receive(id string, stdout, stderr *bytes.Buffer) (done bool, code int, quiet bool, err error) {
	defer guard(&err)
	sent := time.Now()
	reply, err := st.s.tr.exchange(st.s.h.receive(st.shell, id))
	if err != nil {
		if timedOut(err) {
			// No output yet: ask again, at once when the server held the
			// Receive for most of its OperationTimeout, as Windows does.
			return false, 0, time.Since(sent) < st.s.opTimeout/2, nil
		}
		return false, 0, false, err
	}
	before := stdout.Len() + stderr.Len()
	r, err := readReply(reply, stdout, stderr)
	if err == nil && r.action != receiveReply {
		err = wrongReply("Receive", "a ReceiveResponse", r, reply)
	}
	if err == nil && stdout.Len()+stderr.Len() > MaxOutput {
		err = ErrOutputTooLarge
	}
	return r.done, r.exitCode, !r.done && stdout.Len()+stderr.Len() == before, err
}

// Until reads the stream's command until it prints a record of kind, and
// returns the records printed so far (reached true), or, when the command
// ends first, its whole output (reached false).
func (st *Stream) Until(ctx context.Context, kind string) (out *Output, reached bool, err error) {
	st.use(ctx)
	mark := recordPrefix + kind
	from := st.seen // each line is looked at once, however many Receives it takes
	for !st.done {
		end, next := lineIndex(st.stdout.Bytes(), from, mark)
		if end >= 0 {
			recs, warns, perr := ParseRecords(string(st.stdout.Bytes()[:end]), st.fields)
			st.seen = end
			out := &Output{Records: recs, Warnings: warns, Requests: st.s.tr.requests, Errors: DecodeCLIXML(st.stderr.String())}
			return out, true, perr
		}
		from = next
		if err := st.poll(); err != nil {
			return &Output{Requests: st.s.tr.requests}, false, explainConnect(st.c, err)
		}
	}
	out, err = st.Wait(ctx)
	return out, false, err
}

// lineIndex finds the end of the first whole line of b at or after from
// that starts with mark (and goes on with a tab or ends there), or -1; next
// is where a later look can start: after the last whole line looked at.
func lineIndex(b []byte, from int, mark string) (end, next int) {
	off := from
	for {
		nl := bytes.IndexByte(b[off:], '\n')
		if nl < 0 {
			return -1, off
		}
		line := bytes.TrimRight(b[off:off+nl], "\r")
		off += nl + 1
		if bytes.HasPrefix(line, []byte(mark)) && (len(line) == len(mark) || line[len(mark)] == '\t') {
			return off, off
		}
	}
}

// use makes ctx the context of the next messages.
func (st *Stream) use(ctx context.Context) {
	st.s.tr.ctx = ctx
}

// poll receives once. After a quiet reply, the next Receive waits a
// little, doubling up to a second, so that a server that answers at once
// with nothing is not asked again thousands of times a second.
func (st *Stream) poll() error {
	if st.quiet > 0 {
		pause := min(quietPause<<min(st.quiet-1, 10), time.Second)
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-st.s.tr.ctx.Done():
			t.Stop()
			return st.s.tr.ctx.Err()
		}
	}
	done, code, quiet, err := st.receive(st.cmd, &st.stdout, &st.stderr)
	if err != nil {
		return err
	}
	st.done, st.code = done, code
	if quiet {
		st.quiet++
	} else {
		st.quiet = 0
	}
	return nil
}

// quietPause is the wait after the first quiet reply.
const quietPause = 10 * time.Millisecond

// timedOut reports whether err is WS-Management's TimedOut fault, by its
// subcode or its code (the text is in the server's language).
func timedOut(err error) bool {
	var f *Fault
	if !errors.As(err, &f) {
		return false
	}
	return f.Code == "2150858793" || f.Subcode == "TimedOut" || strings.HasSuffix(f.Subcode, ":TimedOut")
}

// Also starts a second, short script in the stream's shell and returns at
// once, without reading its output: the stream's own command reports what
// came of it. The script must fit in the command line, since the shell's
// environment was set when it opened.
func (st *Stream) Also(ctx context.Context, script string) error {
	st.use(ctx)
	cmdline, env, err := CommandLine(script)
	if err != nil {
		return err
	}
	if env != nil {
		return fmt.Errorf("a second command must fit in the command line (%d characters)", maxCommandLine)
	}
	if _, err := st.execute(cmdline); err != nil {
		return explainConnect(st.c, err)
	}
	return nil
}

// Wait reads the stream's command to its end and returns its whole output,
// parsed as Run's is.
// It waits for the exit code, unless EndIsLast said the end record is
// enough.
func (st *Stream) Wait(ctx context.Context) (*Output, error) {
	st.use(ctx)
	from := st.seen
	for !st.done {
		if st.endIsLast {
			end, next := lineIndex(st.stdout.Bytes(), from, recordPrefix+"end")
			if end >= 0 {
				break
			}
			from = next
		}
		if err := st.poll(); err != nil {
			return &Output{Requests: st.s.tr.requests}, explainConnect(st.c, err)
		}
	}
	out := &Output{ExitCode: st.code, Requests: st.s.tr.requests, Errors: DecodeCLIXML(st.stderr.String())}
	recs, warns, err := ParseRecords(st.stdout.String(), st.fields)
	out.Records, out.Warnings = recs, warns
	if err != nil {
		return out, err
	}
	if out.ExitCode == 0 && (len(recs) == 0 || recs[len(recs)-1].Kind != "end") {
		out.ExitCode = -1
		out.Errors = append(out.Errors, "the script ended without its end record: it did not run to its end")
	}
	return out, nil
}

// Requests is how many messages the stream has sent so far.
func (st *Stream) Requests() int { return st.s.tr.requests }

// Close deletes the shell, which ends whatever still runs in it, and drops
// the connection.
func (st *Stream) Close() {
	if st.shell != "" {
		_, _ = st.s.tr.cleanup(st.s.h.deleteShell(st.shell))
		st.shell = ""
	}
	st.s.tr.close()
	st.s.cancel(nil)
}
