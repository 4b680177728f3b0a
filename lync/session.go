package lync

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/lynctrust/lynctrust/psremote"
)

// GoAheadWait is how long, in seconds, a session's script waits on the
// server for lynctrust's go-ahead before it ends without writing: long
// enough for an administrator to answer replace's confirmation.
const GoAheadWait = 300

// Session is a change read and written by one PowerShell process on the
// server, so the module is imported once: the script prints the state and
// waits; lynctrust saves the snapshot, then sends the go-ahead from a second,
// module-less command in the same shell, and the script writes and reads
// back. Nothing is written without the go-ahead.
type Session struct {
	conn      psremote.Conn
	stream    *psremote.Stream
	goName    string
	Inventory *Inventory
}

// OpenSession reads as ReadForChange does, looking in the store for the
// extra entries too, and leaves the script waiting for Write.
func OpenSession(ctx context.Context, c psremote.Conn, extra ...Entry) (*Session, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	s := &Session{conn: c, goName: "lynctrust-" + hex.EncodeToString(b[:]) + ".go"}
	script, err := SessionScript(extra, s.goName, GoAheadWait)
	if err != nil {
		return nil, err
	}
	if s.stream, err = psremote.Start(ctx, c, script, recordFields); err != nil {
		return nil, err
	}
	s.stream.EndIsLast()
	out, reached, err := s.stream.Until(ctx, "ready")
	if err == nil && !reached {
		err = classify(c, out)
		if out.ExitCode == 0 {
			err = &ScriptError{c.Host(), ErrScriptFailed, out.ExitCode, []string{"the script ended before it read the state"}}
		}
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	if s.Inventory, err = parseInventory(c, out); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Write sends the go-ahead with the snapshot's SHA-256 and the changes,
// and reads what the script wrote and read back, as RunChange does.
func (s *Session) Write(ctx context.Context, snapshotSHA256 string, changes []Change) (*ChangeResult, error) {
	script, err := GoAheadScript(s.goName, snapshotSHA256, changes)
	if err != nil {
		return nil, err
	}
	if err := s.stream.Also(ctx, script); err != nil {
		return nil, err
	}
	out, err := s.stream.Wait(ctx)
	res, err := changeResult(s.conn, out, err)
	if err == nil && !goAhead(out, snapshotSHA256) {
		err = &ScriptError{s.conn.Host(), ErrScriptFailed, out.ExitCode, []string{"the script did not confirm the go-ahead"}}
	}
	return res, err
}

func goAhead(out *psremote.Output, hash string) bool {
	for _, r := range out.Records {
		if r.Kind == "go" {
			return r.Fields[0] == hash
		}
	}
	return false
}

// Requests is how many WinRM messages the session has sent so far.
func (s *Session) Requests() int { return s.stream.Requests() }

// Close ends the session: a script still waiting for its go-ahead ends with
// the shell, having written nothing.
func (s *Session) Close() {
	if s.stream != nil {
		s.stream.Close()
	}
}
