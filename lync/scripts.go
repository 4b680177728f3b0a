package lync

import (
	"embed"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/lynctrust/lynctrust/psremote"
)

//go:embed scripts/*.ps1
var scriptFS embed.FS

func scriptText(name string) string {
	b, err := scriptFS.ReadFile("scripts/" + name)
	if err != nil {
		panic("missing embedded script " + name) // a build error, caught by every test
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// psArray renders values as a PowerShell array of single-quoted strings.
func psArray(values []string) (string, error) {
	parts := make([]string, len(values))
	for i, v := range values {
		q, err := Quote(v)
		if err != nil {
			return "", err
		}
		parts[i] = q
	}
	return "@(" + strings.Join(parts, ", ") + ")", nil
}

// Entry is one TrustedCACerts item.
type Entry struct {
	Thumbprint Thumbprint `json:"thumbprint"`
	CAStore    CAStore    `json:"ca_store"`
}

func (e Entry) String() string { return e.Thumbprint.String() + ":" + string(e.CAStore) }

// ParseEntry reads THUMBPRINT:CASTORE as the scripts print it.
func ParseEntry(s string) (Entry, error) {
	t, st, ok := strings.Cut(s, ":")
	if !ok {
		return Entry{}, fmt.Errorf("trusted entry %q: want THUMBPRINT:CASTORE", s)
	}
	th, err := ParseThumbprint(t)
	if err != nil {
		return Entry{}, err
	}
	cs, err := ParseCAStore(st)
	if err != nil {
		return Entry{}, err
	}
	return Entry{th, cs}, nil
}

// EntryList is the compare-and-swap form of a list: THUMB:STORE,THUMB:STORE.
func EntryList(es []Entry) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, ",")
}

// ParseEntryList reads what EntryList writes.
func ParseEntryList(s string) ([]Entry, error) {
	var out []Entry
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, p := range strings.Split(s, ",") {
		e, err := ParseEntry(p)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Action is what a change does to TrustedCACerts.
type Action string

// The PSListModifier actions.
const (
	Add     Action = "Add"
	Remove  Action = "Remove"
	Replace Action = "Replace"
)

// Change is one collection's change: the list lynctrust read (for the
// compare-and-swap), and the entries to add, remove, or replace the list with.
type Change struct {
	Identity Identity `json:"identity"`
	Expected []Entry  `json:"expected"`
	Action   Action   `json:"action"`
	Entries  []Entry  `json:"entries"`
}

// Script names, for the PowerShell that can be shown, emitted and parsed.
const (
	ScriptAudit   = "audit"
	ScriptStores  = "stores"
	ScriptChange  = "change"
	ScriptInstall = "install"
)

// AuditScript reads the configuration, topology and this server's stores,
// looking in the stores also for the extra entries (what add is about to trust).
func AuditScript(fromCMS bool, extra ...Entry) (string, error) {
	read, err := auditRead(fromCMS, false, extra)
	if err != nil {
		return "", err
	}
	return read + endBuffered, nil
}

// earlyAuditScript is Audit's: AuditScript(false) that, when the topology
// has other web servers, prints the collections and the topology first,
// ended by a topology record, for their store checks to start.
func earlyAuditScript() (string, error) {
	read, err := auditRead(false, true, nil)
	if err != nil {
		return "", err
	}
	return read + endBuffered, nil
}

// auditRead is the audit script without its end: what it read is in
// $records, but for what it printed early.
func auditRead(fromCMS, early bool, extra []Entry) (string, error) {
	vals := make([]string, len(extra))
	for i, e := range extra {
		if _, err := ParseEntry(e.String()); err != nil {
			return "", err
		}
		vals[i] = e.String()
	}
	arr, err := psArray(vals)
	if err != nil {
		return "", err
	}
	return "$holdModuleRecord = $true\n" + scriptText("prelude.ps1") + "\n$extraWanted = " + arr + "\n$fromCMS = " + psBool(fromCMS) +
		"\n$earlyTopology = " + psBool(early) + "\n" + scriptText("inventory.ps1") + "\n" + scriptText("stores.ps1"), nil
}

// endRecord closes every script that prints its records as it goes (or
// endBuffered, one that gathers them): Run refuses a success without it.
const endRecord = "\n[Console]::Out.WriteLine('LYNCTRUST' + \"`t\" + 'end')\n"

// endBuffered closes a script that gathers its records in $records: they
// and the end record go out in one write, which a Receive that returns as
// soon as there is output carries whole (in the lab; on Windows, .NET's
// Console.Out writes it to the pipe in back-to-back pieces: docs/performance.md).
const endBuffered = "\n[Console]::Out.Write($records + 'LYNCTRUST' + \"`t\" + 'end' + \"`r`n\")\n"

func psBool(b bool) string {
	if b {
		return "$true"
	}
	return "$false"
}

// StoresScript looks for the entries in a server's LocalMachine stores.
func StoresScript(entries []Entry) (string, error) {
	vals := make([]string, len(entries))
	for i, e := range entries {
		vals[i] = e.String()
	}
	arr, err := psArray(vals)
	if err != nil {
		return "", err
	}
	return "$wanted = " + arr + "\n" + scriptText("stores.ps1") + endBuffered, nil
}

// checkChange validates a change before any of it enters a script: the
// identity by the grammar of identities read from a server, the action,
// and every entry (a zero thumbprint or an unknown store is refused).
func checkChange(c Change) (Identity, error) {
	id, err := ParseServerIdentity(string(c.Identity))
	if err != nil {
		return "", err
	}
	switch c.Action {
	case Add, Remove, Replace:
	default:
		return "", fmt.Errorf("%w: action %q", ErrInvalidValue, c.Action)
	}
	for _, e := range append(append([]Entry(nil), c.Expected...), c.Entries...) {
		if _, err := ParseEntry(e.String()); err != nil {
			return "", err
		}
	}
	return id, nil
}

// ChangeScript renders the changes: every value is validated by its type and
// single-quoted by Quote.
func ChangeScript(changes []Change) (string, error) {
	var b strings.Builder
	b.WriteString(scriptText("prelude.ps1"))
	b.WriteString("\n# The changes: identity, the list as lynctrust read it, the action, the entries.\n$changes = @()\n")
	for _, c := range changes {
		id, err := checkChange(c)
		if err != nil {
			return "", err
		}
		qid, _ := Quote(string(id))
		qexp, _ := Quote(EntryList(c.Expected))
		qact, _ := Quote(string(c.Action))
		vals := make([]string, len(c.Entries))
		for i, e := range c.Entries {
			vals[i] = e.String()
		}
		arr, err := psArray(vals)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "$changes += ,@(%s, %s, %s, %s)\n", qid, qexp, qact, arr)
	}
	b.WriteString(scriptText("change.ps1"))
	b.WriteString(endRecord)
	return b.String(), nil
}

var goNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^lynctrust-[0-9a-f]{16}\.go$`) })
var sha256Re = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}$`) })

// SessionScript reads as AuditScript(true, extra...) does, then waits up to
// wait seconds for the go-ahead file goName in %TEMP% and makes the changes
// it names: one module import for the read and the write.
func SessionScript(extra []Entry, goName string, wait int) (string, error) {
	if !goNameRe().MatchString(goName) || wait <= 0 {
		return "", fmt.Errorf("%w: go-ahead file %q, wait %d", ErrInvalidValue, goName, wait)
	}
	read, err := auditRead(true, false, extra)
	if err != nil {
		return "", err
	}
	return read + "\n$goName = '" + goName + "'\n$goWait = " + fmt.Sprint(wait) + "\n" + scriptText("session.ps1") + "\n" + scriptText("change.ps1") + endRecord, nil
}

// GoAheadScript writes the go-ahead file that SessionScript waits for: the
// snapshot's SHA-256 and the changes, every value validated by its type.
// With no changes it tells the session to stop without writing.
func GoAheadScript(goName, snapshotSHA256 string, changes []Change) (string, error) {
	if !goNameRe().MatchString(goName) {
		return "", fmt.Errorf("%w: go-ahead file %q", ErrInvalidValue, goName)
	}
	lines := []string{"stop"}
	if len(changes) > 0 {
		if !sha256Re().MatchString(snapshotSHA256) {
			return "", fmt.Errorf("%w: snapshot hash %q", ErrInvalidValue, snapshotSHA256)
		}
		lines = []string{"go", snapshotSHA256}
	}
	for _, c := range changes {
		id, err := checkChange(c)
		if err != nil {
			return "", err
		}
		lines = append(lines, string(id), "="+EntryList(c.Expected), string(c.Action), "="+EntryList(c.Entries))
	}
	arr, err := psArray(lines)
	if err != nil {
		return "", err
	}
	return "Set-Content -Path ($env:TEMP + '\\" + goName + "') -Encoding UTF8 -Value " + arr + endRecord, nil
}

// TaskScript wraps a change script so that it runs as a one-shot scheduled
// task under the administrator's account (the Enterprise Edition remedy).
// The script holds no password: the task's password travels in the WinRM
// shell's environment (TaskEnvironment), which the script reads and clears,
// so it is never in a script block or on a command line.
func TaskScript(inner, user string) (string, error) {
	qi, err := QuoteText(inner)
	if err != nil {
		return "", err
	}
	qu, err := Quote(user)
	if err != nil {
		return "", err
	}
	return "$inner = " + qi + "\n$taskUser = " + qu + "\n" + scriptText("task.ps1"), nil
}

// TaskPasswordVariable is the shell environment variable that carries the
// task's password to the task script.
const TaskPasswordVariable = "LYNCTRUST_TASK_PASSWORD"

// TaskEnvironment is the shell environment that TaskScript reads: the
// password, which any character but a control character may hold (an
// environment variable and the SOAP request that carries it cannot).
func TaskEnvironment(password string) (map[string]string, error) {
	if password == "" {
		return nil, fmt.Errorf("%w: the scheduled task logs on with the account's password, and there is none (certificate or ticket sign-in)", ErrInvalidValue)
	}
	for _, r := range password {
		if r < 0x20 || r == 0x7f {
			return nil, fmt.Errorf("%w: the password has a control character and cannot go to the task", ErrInvalidValue)
		}
	}
	return map[string]string{TaskPasswordVariable: password}, nil
}

var base64Re = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9+/]+={0,2}$`) })

// InstallScript puts a DER certificate (base64) into a LocalMachine store.
func InstallScript(derBase64 string, store CAStore) (string, error) {
	if !base64Re().MatchString(derBase64) {
		return "", fmt.Errorf("%w: certificate is not base64", ErrInvalidValue)
	}
	qs, err := Quote(store.CertStore())
	if err != nil {
		return "", err
	}
	return "$certificate = '" + derBase64 + "'\n$storeName = " + qs + "\n" + scriptText("install.ps1") + endRecord, nil
}

// UninstallScript takes a certificate out of a LocalMachine store (Root,
// CA or AuthRoot): what rollback does to a change's installs.
func UninstallScript(thumb Thumbprint, storeName string) (string, error) {
	if thumb.IsZero() {
		return "", fmt.Errorf("%w: no thumbprint", ErrInvalidValue)
	}
	switch storeName {
	case "Root", "CA", "AuthRoot":
	default:
		return "", fmt.Errorf("%w: store %q", ErrInvalidValue, storeName)
	}
	qt, _ := Quote(thumb.String())
	qs, _ := Quote(storeName)
	return "$thumbprint = " + qt + "\n$storeName = " + qs + "\n" + scriptText("uninstall.ps1") + endRecord, nil
}

// recordFields is every record kind the scripts print, with its field count.
var recordFields = map[string]int{
	"module": 2, "error": 2, "config": 4, "director": 1, "end": 0, "source": 1, "trusted": 3, "pool": 2, "computer": 2, "webserver": 2,
	"replica": 2, "replication-unknown": 1, "cert": 7, "conflict": 2, "written": 1, "after": 2, "installed": 2, "uninstalled": 3,
	"ready": 0, "go": 1, "stopped": 0, "topology": 0,
}

// AllScripts renders every script lynctrust can send, with sample values,
// for the tests that parse them and check them against the reference: the
// audit (from the replica and from the store, with and without extra
// entries), the store checks, every change action (alone, together, an
// empty Replace), each as a scheduled task too (--run-as-task), the
// installation of a root (--install-root) in each store, and the bootstrap
// that runs a long script; and the lines thumbprint --ps prints for pasting.
func AllScripts() map[string]string {
	e := Entry{Thumbprint{"A909502DD82AE41504C0E0052E3C61AB8EB10D6B"}, TrustedRootCA}
	f := Entry{Thumbprint{"0563B8630D62D75ABBC8AB1E4BDFB5A899B24D43"}, IntermediateCA}
	out := map[string]string{"bootstrap": psremote.Bootstrap(1234)}
	out["paste"], _ = PasteLines(e.Thumbprint, e.CAStore, "site:Redmond")
	out[ScriptStores], _ = StoresScript([]Entry{e, f})
	out[ScriptAudit], _ = AuditScript(true, e)
	out["audit-replica"], _ = AuditScript(false)
	out["audit-early"], _ = earlyAuditScript()
	changes := map[string][]Change{
		ScriptChange: {{Identity: "site:Redmond", Expected: nil, Action: Add, Entries: []Entry{e}},
			{Identity: "Global", Expected: []Entry{e}, Action: Remove, Entries: []Entry{e}}},
		"change-add":           {{Identity: "Global", Action: Add, Entries: []Entry{e, f}}},
		"change-remove":        {{Identity: "service:WebServer:pool01.lab.test", Expected: []Entry{e, f}, Action: Remove, Entries: []Entry{f}}},
		"change-replace":       {{Identity: "Global", Expected: []Entry{e}, Action: Replace, Entries: []Entry{f}}},
		"change-replace-empty": {{Identity: "Global", Expected: []Entry{e}, Action: Replace}},
	}
	for name, cs := range changes {
		script, _ := ChangeScript(cs)
		out[name] = script
		out[name+"-task"], _ = TaskScript(script, `LAB\lyncadmin`)
	}
	out["session"], _ = SessionScript([]Entry{e}, "lynctrust-0123456789abcdef.go", GoAheadWait)
	out["go-ahead"], _ = GoAheadScript("lynctrust-0123456789abcdef.go", strings.Repeat("ab", 32), changes[ScriptChange])
	out["go-ahead-stop"], _ = GoAheadScript("lynctrust-0123456789abcdef.go", "", nil)
	out["task"] = out[ScriptChange+"-task"]
	delete(out, ScriptChange+"-task")
	for _, st := range []CAStore{TrustedRootCA, IntermediateCA, ThirdPartyRootCA} {
		name := ScriptInstall
		if st != TrustedRootCA {
			name += "-" + string(st)
		}
		out[name], _ = InstallScript("MIIB", st)
	}
	out["uninstall"], _ = UninstallScript(e.Thumbprint, "Root")
	return out
}
