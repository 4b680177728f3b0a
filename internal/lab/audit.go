package lab

import (
	"strings"
	"sync"
)

// What Windows auditing would record on a server: every process created,
// with its command line (Security event 4688 with "Include command line in
// process creation events", Sysmon event 1), and every PowerShell script
// block compiled (Script Block Logging, event 4104). Neither records a
// process's environment. Tests read the log to prove what a secret never
// reaches.

// Audit kinds.
const (
	AuditProcess     = "4688" // a process started: its command line
	AuditScriptBlock = "4104" // a script block compiled: its text
)

// AuditEvent is one audited event.
type AuditEvent struct {
	Kind string
	Text string
}

type auditLog struct {
	mu     sync.Mutex
	events []AuditEvent
}

func (a *auditLog) add(kind, text string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, AuditEvent{kind, text})
}

// Audit is everything the server's auditing recorded so far.
func (s *Server) Audit() []AuditEvent {
	s.audit.mu.Lock()
	defer s.audit.mu.Unlock()
	return append([]AuditEvent(nil), s.audit.events...)
}

// audited makes a runtime report its script blocks and the programs its
// scripts start to the server's audit log.
func (s *session) audited() {
	log := &s.srv.audit
	s.rt.ScriptBlock = func(text string) { log.add(AuditScriptBlock, text) }
	s.rt.Started = func(name string, args []string) { log.add(AuditProcess, nativeCommandLine(name, args)) }
}

// nativeCommandLine is the command line PowerShell builds for a program:
// arguments with spaces are quoted (Windows PowerShell does not escape the
// quotes inside them, which is what mangles a '"' in a password).
func nativeCommandLine(name string, args []string) string {
	parts := []string{name}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t") {
			a = `"` + a + `"`
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
