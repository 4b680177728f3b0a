package lync

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/lynctrust/lynctrust/psremote"
)

// Errors a script can end in, classified so the CLI can explain them.
var (
	ErrModuleNotFound = errors.New("neither the SkypeForBusiness nor the Lync module loads on the server")
	ErrNotAdmin       = errors.New("the account may not change the Lync configuration: it must be a member of RTCUniversalServerAdmins")
	ErrNoCMSAccess    = errors.New("the account cannot read the Central Management Store: it must be a member of RTCUniversalServerAdmins or RTCUniversalReadOnlyAdmins")
	ErrDoubleHop      = errors.New("the Central Management Store is on another server (the SQL back end in Enterprise Edition, the Standard Edition server that hosts it otherwise), which refuses the second hop from a WinRM session (Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON')")
	ErrConflict       = errors.New("someone changed TrustedCACerts since lynctrust read it")
	ErrLocalAccount   = errors.New("Basic and certificate authentication sign in a local account of the server, and the Lync cmdlets need a domain account in RTCUniversalServerAdmins")
	ErrLocalUser      = errors.New("the user is a local account of the server, and the Lync cmdlets need a domain account in RTCUniversalServerAdmins, a domain group no local account can join")
	ErrScriptFailed   = errors.New("the script failed on the server")
)

// ScriptError is a script that did not succeed, with what PowerShell said.
type ScriptError struct {
	Server   string
	Kind     error
	ExitCode int
	Messages []string
}

func (e *ScriptError) Error() string {
	msg := e.Kind.Error()
	if len(e.Messages) > 0 {
		msg += ": " + e.Messages[0]
	}
	return fmt.Sprintf("on %s: %s", e.Server, msg)
}

func (e *ScriptError) Unwrap() error { return e.Kind }

// classify decides what a failed run means from its records and errors.
func classify(c psremote.Conn, out *psremote.Output) error {
	server := c.Host()
	text := strings.Join(out.Errors, " ")
	for _, r := range out.Records {
		if r.Kind == "error" {
			text += " " + r.Fields[1]
			if r.Fields[0] == "module-not-found" {
				return &ScriptError{server, ErrModuleNotFound, out.ExitCode, []string{r.Fields[1]}}
			}
		}
	}
	kind := ErrScriptFailed
	switch {
	case strings.Contains(text, "ANONYMOUS LOGON"):
		kind = ErrDoubleHop
	case strings.Contains(text, "EXECUTE permission was denied"):
		kind = ErrNotAdmin
	case strings.Contains(text, `Cannot open database "xds"`):
		kind = ErrNoCMSAccess
	case strings.Contains(text, "is not recognized as the name of a cmdlet") && strings.Contains(text, "-Cs"):
		kind = ErrModuleNotFound
	}
	switch {
	case kind != ErrNotAdmin && kind != ErrNoCMSAccess:
	case c.SignsInLocally():
		kind = ErrLocalAccount
	case c.LocalUser():
		kind = ErrLocalUser
	}
	msgs := out.Errors
	if len(msgs) == 0 {
		for _, r := range out.Records {
			if r.Kind == "error" {
				msgs = append(msgs, r.Fields[1])
			}
		}
	}
	if len(msgs) == 0 {
		msgs = []string{"exit code " + strconv.Itoa(out.ExitCode)}
	}
	return &ScriptError{server, kind, out.ExitCode, msgs}
}

// Config is one Web Services configuration collection.
type Config struct {
	Identity              Identity `json:"identity"`
	InferCertChainFromSSL bool     `json:"infer_cert_chain_from_ssl"`
	UseCertificateAuth    bool     `json:"use_certificate_auth"`
	UsePinAuth            bool     `json:"use_pin_auth"`
	Trusted               []Entry  `json:"trusted_ca_certs"`
}

// Pool is a pool with web services.
type Pool struct {
	FQDN      string   `json:"fqdn"`
	Site      string   `json:"site"`
	Computers []string `json:"computers"`
	Web       bool     `json:"web_services"`
	Director  bool     `json:"director"`
}

// CertStatus is one trusted certificate as one server's store holds it.
type CertStatus struct {
	Entry     Entry  `json:"entry"`
	Present   bool   `json:"present"`
	Subject   string `json:"subject,omitempty"`
	Issuer    string `json:"issuer,omitempty"`
	NotAfter  string `json:"not_after,omitempty"`
	Algorithm string `json:"signature_algorithm,omitempty"`
}

func certStatus(e Entry, f []string) CertStatus {
	return CertStatus{Entry: e, Present: f[2] == "present", Subject: f[3], Issuer: f[4], NotAfter: f[5], Algorithm: f[6]}
}

// Inventory is what audit reads from the first server.
type Inventory struct {
	Server           string          `json:"server"`
	Module           string          `json:"module"`
	Source           string          `json:"source"` // cms or replica
	PSVersion        int             `json:"powershell_version"`
	Configs          []Config        `json:"configs"`
	Pools            []Pool          `json:"pools"`
	Replicas         map[string]bool `json:"replicas,omitempty"`
	ReplicationError string          `json:"replication_error,omitempty"`
	Stores           []CertStatus    `json:"stores"`
	Requests         int             `json:"-"`
}

// Config finds a collection by identity, ignoring case.
func (inv *Inventory) Config(id Identity) *Config {
	for i := range inv.Configs {
		if strings.EqualFold(string(inv.Configs[i].Identity), string(id)) {
			return &inv.Configs[i]
		}
	}
	return nil
}

func parseBool(s string) bool { return strings.EqualFold(s, "True") }

// ReadInventory runs the audit script on a server, reading the local
// replica; its store check covers every trusted entry and the extra ones.
func ReadInventory(ctx context.Context, c psremote.Conn, extra ...Entry) (*Inventory, error) {
	return readInventory(ctx, c, false, extra)
}

// ReadForChange reads as ReadInventory does, but the collections from the
// Central Management Store itself, which a change's compare-and-swap reads
// too (the replica may lag); Inventory.Source says which was read.
func ReadForChange(ctx context.Context, c psremote.Conn, extra ...Entry) (*Inventory, error) {
	return readInventory(ctx, c, true, extra)
}

// runScript runs a script and turns a failed one into a classified error.
func runScript(ctx context.Context, c psremote.Conn, script string, err error) (*psremote.Output, error) {
	if err != nil {
		return nil, err
	}
	out, err := psremote.RunToEnd(ctx, c, script, recordFields)
	if err != nil {
		return nil, err
	}
	if out.ExitCode != 0 {
		return nil, classify(c, out)
	}
	return out, nil
}

func readInventory(ctx context.Context, c psremote.Conn, fromCMS bool, extra []Entry) (*Inventory, error) {
	script, err := AuditScript(fromCMS, extra...)
	out, err := runScript(ctx, c, script, err)
	if err != nil {
		return nil, err
	}
	return parseInventory(c, out)
}

// parseInventory reads the records of the audit script.
func parseInventory(c psremote.Conn, out *psremote.Output) (*Inventory, error) {
	inv := &Inventory{Server: c.Host(), Replicas: map[string]bool{}, Requests: out.Requests}
	pools := map[string]*Pool{}
	poolOf := func(fqdn string) *Pool {
		k := strings.ToLower(fqdn)
		if pools[k] == nil {
			pools[k] = &Pool{FQDN: fqdn}
			inv.Pools = append(inv.Pools, Pool{})
		}
		return pools[k]
	}
	for _, r := range out.Records {
		f := r.Fields
		switch r.Kind {
		case "source":
			inv.Source = f[0]
		case "module":
			inv.Module = f[0]
			inv.PSVersion, _ = strconv.Atoi(f[1])
		case "config":
			id, err := ParseServerIdentity(f[0])
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", c.Host(), err)
			}
			inv.Configs = append(inv.Configs, Config{Identity: id, InferCertChainFromSSL: parseBool(f[1]), UseCertificateAuth: parseBool(f[2]), UsePinAuth: parseBool(f[3])})
		case "trusted":
			id, err := ParseServerIdentity(f[0])
			if err != nil {
				return nil, err
			}
			e, err := ParseEntry(f[1] + ":" + f[2])
			if err != nil {
				return nil, fmt.Errorf("reading TrustedCACerts of %s on %s: %w", id, c.Host(), err)
			}
			if cfg := inv.Config(id); cfg != nil {
				cfg.Trusted = append(cfg.Trusted, e)
			}
		case "pool":
			p := poolOf(f[0])
			p.Site = strings.TrimPrefix(strings.TrimPrefix(f[1], "Site:"), "site:")
		case "computer":
			p := poolOf(f[0])
			p.Computers = append(p.Computers, strings.ToLower(f[1]))
		case "webserver":
			poolOf(f[0]).Web = true
		case "director":
			poolOf(f[0]).Director = true
		case "replica":
			inv.Replicas[strings.ToLower(f[0])] = parseBool(f[1])
		case "replication-unknown":
			inv.ReplicationError = f[0]
		case "cert":
			e, err := ParseEntry(f[0] + ":" + f[1])
			if err != nil {
				return nil, err
			}
			inv.Stores = append(inv.Stores, certStatus(e, f))
		}
	}
	inv.Pools = inv.Pools[:0]
	var keys []string
	for k := range pools {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		inv.Pools = append(inv.Pools, *pools[k])
	}
	return inv, nil
}

// WebServers are the computers of every pool with web services: Front Ends
// and Directors.
func (inv *Inventory) WebServers() []string {
	var out []string
	for _, p := range inv.Pools {
		if p.Web {
			out = append(out, p.Computers...)
		}
	}
	sort.Strings(out)
	return out
}

// Governing says which collection governs a pool: service over site over
// global, with no inheritance between them (lync-facts §2).
func (inv *Inventory) Governing(p Pool) Identity {
	if c := inv.Config(Identity("service:WebServer:" + strings.ToLower(p.FQDN))); c != nil {
		return c.Identity
	}
	if c := inv.Config(Identity("site:" + p.Site)); c != nil {
		return c.Identity
	}
	return GlobalIdentity
}

// CheckStores looks for entries in one server's stores (no module loaded).
func CheckStores(ctx context.Context, c psremote.Conn, entries []Entry) ([]CertStatus, error) {
	script, err := StoresScript(entries)
	out, err := runScript(ctx, c, script, err)
	if err != nil {
		return nil, err
	}
	var st []CertStatus
	for _, r := range out.Records {
		if r.Kind != "cert" {
			continue
		}
		e, err := ParseEntry(r.Fields[0] + ":" + r.Fields[1])
		if err != nil {
			return nil, err
		}
		st = append(st, certStatus(e, r.Fields))
	}
	return st, nil
}

// ChangeResult is the outcome of a change script.
type ChangeResult struct {
	Written  []Identity           `json:"written"`
	After    map[Identity][]Entry `json:"after"`
	Conflict map[Identity][]Entry `json:"conflict,omitempty"`
	Requests int                  `json:"-"`
}

// Apply runs the change script. A compare-and-swap failure returns
// ErrConflict with the list found; nothing was written then. With asTask the
// script runs as a one-shot scheduled task under the connection's account.
func Apply(ctx context.Context, c psremote.Conn, changes []Change, asTask ...bool) (*ChangeResult, error) {
	script, err := ChangeScript(changes)
	if err != nil {
		return nil, err
	}
	return RunChange(ctx, c, script, len(asTask) > 0 && asTask[0])
}

// RunChange sends a script that ChangeScript rendered, exactly as it is (in
// the scheduled task's wrapper with asTask), and reads its records.
func RunChange(ctx context.Context, c psremote.Conn, script string, asTask bool) (*ChangeResult, error) {
	run := func(ctx context.Context, c psremote.Conn, script string, fields map[string]int) (*psremote.Output, error) {
		return psremote.RunToEnd(ctx, c, script, fields)
	}
	if asTask {
		// The wrapper removes the task and its files after relaying the
		// task's records: read it to its exit code. The password travels
		// in the shell's environment, never in the script.
		var err error
		if script, err = TaskScript(script, c.User); err != nil {
			return nil, err
		}
		env, err := TaskEnvironment(c.Password)
		if err != nil {
			return nil, err
		}
		run = func(ctx context.Context, c psremote.Conn, script string, fields map[string]int) (*psremote.Output, error) {
			return psremote.RunWithEnv(ctx, c, script, fields, env)
		}
	}
	out, err := run(ctx, c, script, recordFields)
	return changeResult(c, out, err)
}

// changeResult reads the records of the change script.
func changeResult(c psremote.Conn, out *psremote.Output, err error) (*ChangeResult, error) {
	res := &ChangeResult{After: map[Identity][]Entry{}, Conflict: map[Identity][]Entry{}}
	if out != nil {
		res.Requests = out.Requests
		for _, r := range out.Records {
			switch r.Kind {
			case "written":
				id, _ := ParseServerIdentity(r.Fields[0])
				res.Written = append(res.Written, id)
			case "after", "conflict":
				id, _ := ParseServerIdentity(r.Fields[0])
				list, perr := ParseEntryList(r.Fields[1])
				if perr != nil {
					return res, perr
				}
				if r.Kind == "after" {
					res.After[id] = list
				} else {
					res.Conflict[id] = list
				}
			}
		}
	}
	if err != nil {
		return res, err
	}
	if len(res.Conflict) > 0 {
		return res, &ScriptError{c.Host(), ErrConflict, out.ExitCode, nil}
	}
	if out.ExitCode != 0 {
		return res, classify(c, out)
	}
	return res, nil
}

// Install puts a certificate (DER, base64) into a server's store.
func Install(ctx context.Context, c psremote.Conn, derBase64 string, store CAStore) error {
	script, err := InstallScript(derBase64, store)
	_, err = runScript(ctx, c, script, err)
	return err
}

// Uninstall takes a certificate out of a LocalMachine store; removed is
// false when the store did not hold it.
func Uninstall(ctx context.Context, c psremote.Conn, thumb Thumbprint, storeName string) (removed bool, err error) {
	script, err := UninstallScript(thumb, storeName)
	out, err := runScript(ctx, c, script, err)
	if err != nil {
		return false, err
	}
	for _, r := range out.Records {
		if r.Kind == "uninstalled" {
			return r.Fields[2] == "removed", nil
		}
	}
	return false, fmt.Errorf("on %s: the script did not say what it removed", c.Host())
}
