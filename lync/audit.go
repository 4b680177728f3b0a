package lync

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/internal/parallel"
	"github.com/lynctrust/lynctrust/psremote"

	"github.com/lynctrust/lynctrust/trust"
)

// ServerStores is what one web server's stores hold of the trusted entries.
type ServerStores struct {
	Server string `json:"server"`
	Error  string `json:"error,omitempty"`
	// Refused: the topology named a server that lynctrust did not
	// contact (CheckPeer); Error says why.
	Refused bool         `json:"refused,omitempty"`
	Certs   []CertStatus `json:"certificates"`
}

// PoolGovernance says which collection governs a pool.
type PoolGovernance struct {
	Pool       string   `json:"pool"`
	Site       string   `json:"site"`
	Governing  Identity `json:"governing_collection"`
	Servers    []string `json:"servers"`
	HasOWARoot *bool    `json:"trusts_exchange_root,omitempty"`
}

// AuditReport is the result of an audit.
type AuditReport struct {
	Server          string           `json:"server"`
	Module          string           `json:"module"`
	PSVersion       int              `json:"powershell_version"`
	Configs         []Config         `json:"configs"`
	Pools           []PoolGovernance `json:"pools"`
	Stores          []ServerStores   `json:"stores"`
	Replicas        map[string]bool  `json:"replicas,omitempty"`
	ExchangeRoot    string           `json:"exchange_root,omitempty"`
	Findings        []trust.Finding  `json:"findings"`
	ReadsLocalStore bool             `json:"reads_local_store"`
}

// Clean is true when there is no error or warning.
func (r *AuditReport) Clean() bool {
	for _, f := range r.Findings {
		if f.Severity == trust.SevError || f.Severity == trust.SevWarning {
			return false
		}
	}
	return true
}

// AuditOptions tune an audit.
type AuditOptions struct {
	Parallel     int
	ExchangeRoot Thumbprint // the root resolve recommends, when --owa was given
	Now          time.Time
}

// Entries lists every distinct trusted entry of the inventory.
func (inv *Inventory) Entries() []Entry {
	seen := map[Entry]bool{}
	var out []Entry
	for _, c := range inv.Configs {
		for _, e := range c.Trusted {
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	return out
}

// StoresOnWebServers checks the entries on every web server: the first
// server's answer comes from the inventory, the others are asked in parallel.
func StoresOnWebServers(ctx context.Context, c psremote.Conn, inv *Inventory, entries []Entry, n int) []ServerStores {
	return storesOn(ctx, c, inv, entries, n, nil)
}

// storesOn is StoresOnWebServers with the answers some servers have given
// already for the same entries (known), which are not asked again.
func storesOn(ctx context.Context, c psremote.Conn, inv *Inventory, entries []Entry, n int, known map[string]ServerStores) []ServerStores {
	servers := inv.WebServers()
	out := make([]ServerStores, len(servers))
	var todo []string
	for i, s := range servers {
		out[i].Server = s
		if strings.EqualFold(s, c.Host()) {
			if certs, ok := pick(inv.Stores, entries); ok {
				out[i].Certs = certs
				continue
			}
		}
		if k, ok := known[s]; ok {
			out[i] = k
			continue
		}
		todo = append(todo, s)
	}
	got := checkServers(ctx, c, todo, entries, n)
	for i, s := range servers {
		if g, ok := got[s]; ok {
			out[i] = g
		}
	}
	return out
}

// checkServers asks each server, n at a time and with no module loaded,
// which of the entries its stores hold.
func checkServers(ctx context.Context, c psremote.Conn, servers []string, entries []Entry, n int) map[string]ServerStores {
	out := make([]ServerStores, len(servers))
	idx := make([]int, len(servers))
	for i, s := range servers {
		idx[i], out[i].Server = i, s
	}
	parallel.ForEach(ctx, idx, n, func(ctx context.Context, i int) {
		peer, err := c.Peer(ctx, servers[i])
		if err != nil {
			out[i].Error, out[i].Refused = err.Error(), true
			return
		}
		if len(entries) == 0 {
			return
		}
		certs, err := CheckStores(ctx, peer, entries)
		if err != nil {
			out[i].Error = err.Error()
			return
		}
		out[i].Certs = certs
	})
	m := make(map[string]ServerStores, len(out))
	for _, s := range out {
		m[s.Server] = s
	}
	return m
}

// pick takes the statuses of the entries from what the inventory read; ok is
// false when one is missing.
func pick(st []CertStatus, es []Entry) ([]CertStatus, bool) {
	have := map[Entry]CertStatus{}
	for _, s := range st {
		have[s.Entry] = s
	}
	out := make([]CertStatus, 0, len(es))
	for _, e := range es {
		s, ok := have[e]
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// early is the store checks of the other web servers, started from the
// collections and the topology while the first server goes on reading.
type early struct {
	entries []Entry
	cancel  context.CancelFunc
	done    chan struct{}
	got     map[string]ServerStores
}

// startEarly checks every web server of part but c's own, in the background.
func startEarly(ctx context.Context, c psremote.Conn, part *Inventory, n int) *early {
	var servers []string
	for _, s := range part.WebServers() {
		if !strings.EqualFold(s, c.Host()) {
			servers = append(servers, s)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	e := &early{entries: part.Entries(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		e.got = checkServers(ctx, c, servers, e.entries, n)
	}()
	return e
}

// answers waits for the checks and returns them, if they looked for
// entries; none when the checks were not started, or looked for others.
func (e *early) answers(entries []Entry) map[string]ServerStores {
	if e == nil {
		return nil
	}
	<-e.done
	e.cancel()
	if !slices.Equal(e.entries, entries) {
		return nil
	}
	return e.got
}

// stop ends the checks and waits for their shells to close.
func (e *early) stop() {
	if e != nil {
		e.cancel()
		<-e.done
	}
}

// Audit reads the configuration, checks every web server's stores and
// reports what is wrong. The audit script prints the collections and the
// topology first, ended by a topology record: the other web servers' store
// checks start then, while the first server reads its replication status
// and its own stores; the first server's shell is deleted while the checks
// go on.
func Audit(ctx context.Context, c psremote.Conn, opts AuditOptions) (*AuditReport, error) {
	script, err := earlyAuditScript()
	if err != nil {
		return nil, err
	}
	st, err := psremote.Start(ctx, c, script, recordFields)
	if err != nil {
		return nil, err
	}
	st.EndIsLast()
	var others *early
	out, reached, err := st.Until(ctx, "topology")
	if err == nil && reached {
		if part, perr := parseInventory(c, out); perr == nil {
			others = startEarly(ctx, c, part, opts.Parallel)
		}
		out, err = st.Wait(ctx)
	}
	closed := make(chan struct{})
	go func() {
		st.Close()
		close(closed)
	}()
	defer func() { <-closed }()
	if err == nil && out.ExitCode != 0 {
		err = classify(c, out)
	}
	var inv *Inventory
	if err == nil {
		inv, err = parseInventory(c, out)
	}
	if err != nil {
		others.stop()
		return nil, err
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	r := &AuditReport{Server: inv.Server, Module: inv.Module, PSVersion: inv.PSVersion, Configs: inv.Configs,
		Replicas: inv.Replicas, ExchangeRoot: opts.ExchangeRoot.String(), Findings: []trust.Finding{}, ReadsLocalStore: true}
	entries := inv.Entries()
	r.Stores = storesOn(ctx, c, inv, entries, opts.Parallel, others.answers(entries))
	for _, s := range r.Stores {
		if s.Refused {
			r.add(trust.SevError, "unexpected-server", "", "a web server of the topology: "+s.Error,
				"check the topology (Get-CsPool) for this computer; a name outside the domain of --server, or one that does not resolve, is never signed in to")
		}
	}
	r.poolRules(inv, opts.ExchangeRoot)
	r.configRules(inv)
	sha2 := false
	for _, e := range entries {
		sha2 = r.entryRules(e, opts.Now) || sha2
	}
	r.replicationRules(inv)
	if sha2 {
		r.add(trust.SevInfo, "sha2-firmware", "", "a trusted CA certificate is SHA-256 signed: Lync Phone Edition firmware older than 4.0.7577.4444 reportedly cannot use SHA-2",
			"update the phones' firmware before relying on SHA-2 CAs")
	}
	return r, nil
}

func (r *AuditReport) add(sev trust.Severity, code, cert, msg, fix string) {
	r.Findings = append(r.Findings, trust.Finding{Severity: sev, Code: code, Certificate: cert, Message: msg, Fix: fix})
}

// poolRules: which collection governs each pool, and whether it trusts the
// Exchange root.
func (r *AuditReport) poolRules(inv *Inventory, root Thumbprint) {
	for _, p := range inv.Pools {
		if !p.Web {
			continue
		}
		pg := PoolGovernance{Pool: p.FQDN, Site: p.Site, Governing: inv.Governing(p), Servers: p.Computers}
		if !root.IsZero() {
			has := false
			if cfg := inv.Config(pg.Governing); cfg != nil {
				for _, e := range cfg.Trusted {
					has = has || e.Thumbprint == root
				}
			}
			pg.HasOWARoot = &has
			if !has {
				r.add(trust.SevError, "exchange-root-not-trusted", "", fmt.Sprintf("pool %s is governed by %s, whose TrustedCACerts lacks the Exchange root %s: tethered phones on this pool cannot reach Exchange",
					p.FQDN, pg.Governing, root), fmt.Sprintf("lynctrust add --thumbprint %s --identity %s", root, pg.Governing))
			}
		}
		r.Pools = append(r.Pools, pg)
	}
}

// configRules: a list that is ignored, and entries listed twice.
func (r *AuditReport) configRules(inv *Inventory) {
	for _, cfg := range inv.Configs {
		if cfg.InferCertChainFromSSL {
			r.add(trust.SevWarning, "infer-cert-chain", "", fmt.Sprintf("%s has InferCertChainFromSSL=True: its TrustedCACerts list is ignored", cfg.Identity),
				fmt.Sprintf("Set-CsWebServiceConfiguration -Identity '%s' -InferCertChainFromSSL $false, if the list is meant to apply", cfg.Identity))
		}
		seen := map[Thumbprint]int{}
		var once []string // the list with each certificate at its first place
		for _, e := range cfg.Trusted {
			if seen[e.Thumbprint]++; seen[e.Thumbprint] == 1 {
				once = append(once, "--thumbprint "+e.String())
			}
		}
		for t, n := range seen {
			if n > 1 {
				// remove would take every copy out, and the certificate
				// with them: one replace keeps the rest as it is.
				r.add(trust.SevWarning, "duplicate", t.String(), fmt.Sprintf("%s lists %s %d times", cfg.Identity, t, n),
					fmt.Sprintf("keep one: lynctrust replace --identity '%s' %s (the list as it is, each certificate once; lynctrust remove would take every copy out)", cfg.Identity, strings.Join(once, " ")))
			}
		}
	}
}

// entryStatus is one trusted entry across the web servers' stores: where it
// is missing, whose stores could not be read, and what one store holds.
func (r *AuditReport) entryStatus(e Entry) (missing, failed []string, info *CertStatus) {
	for i := range r.Stores {
		ss := &r.Stores[i]
		if ss.Refused {
			continue // reported once, as unexpected-server
		}
		if ss.Error != "" {
			failed = append(failed, ss.Server)
			continue
		}
		for j := range ss.Certs {
			cs := &ss.Certs[j]
			switch {
			case cs.Entry != e:
			case !cs.Present:
				missing = append(missing, ss.Server)
			case info == nil:
				info = cs
			}
		}
	}
	return missing, failed, info
}

// entryRules checks one trusted entry on every web server, and says whether
// it is SHA-2 signed.
func (r *AuditReport) entryRules(e Entry, now time.Time) (sha2 bool) {
	missing, failed, info := r.entryStatus(e)
	name := e.Thumbprint.String()
	if len(missing) > 0 {
		r.add(trust.SevError, "missing-on-servers", name, fmt.Sprintf("%s (%s) is not in LocalMachine\\%s on %s", e.Thumbprint, e.CAStore, e.CAStore.CertStore(), strings.Join(missing, ", ")),
			"install the certificate on those servers (lynctrust add --install-root installs it from the Exchange chain)")
	}
	if len(failed) > 0 {
		r.add(trust.SevWarning, "store-unreadable", name, fmt.Sprintf("could not read the stores of %s", strings.Join(failed, ", ")), "check WinRM on those servers")
	}
	if info == nil {
		return false
	}
	name = info.Subject
	if t, err := time.Parse(time.RFC3339, info.NotAfter); err == nil && now.After(t) {
		r.add(trust.SevError, trust.FindExpired, name, fmt.Sprintf("%s expired on %s", info.Subject, t.Format(time.DateOnly)), "replace it with the CA's current certificate")
	}
	alg := strings.ToLower(info.Algorithm)
	switch {
	case strings.HasPrefix(alg, "md2") || strings.HasPrefix(alg, "md4") || strings.HasPrefix(alg, "md5"):
		if info.Subject != info.Issuer {
			r.add(trust.SevError, trust.FindWeakSignature, name, fmt.Sprintf("%s is signed with %s: clients refuse paths through it (TLS alert 43)", info.Subject, info.Algorithm), "trust the CA's SHA-256 certificate instead")
		}
	case strings.HasPrefix(alg, "sha256") || strings.HasPrefix(alg, "sha384") || strings.HasPrefix(alg, "sha512"):
		sha2 = true
	}
	selfIssued := info.Subject == info.Issuer
	switch {
	case e.CAStore == IntermediateCA && selfIssued:
		r.add(trust.SevWarning, "store-mismatch", name, fmt.Sprintf("%s is a root but is trusted as IntermediateCA", info.Subject), "remove it and add it again with --ca-store TrustedRootCA")
	case e.CAStore != IntermediateCA && !selfIssued:
		r.add(trust.SevWarning, "store-mismatch", name, fmt.Sprintf("%s is an intermediate (issued by %s) but is trusted as %s", info.Subject, info.Issuer, e.CAStore),
			"trust the root of its chain as TrustedRootCA, and this certificate as IntermediateCA")
	}
	return sha2
}

// replicationRules: replicas behind the store, or a status that could not
// be read.
func (r *AuditReport) replicationRules(inv *Inventory) {
	var stale []string
	for srv, ok := range inv.Replicas {
		if !ok {
			stale = append(stale, srv)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		r.add(trust.SevWarning, "replication-pending", "", fmt.Sprintf("the Central Management Store has not replicated to %s yet", strings.Join(stale, ", ")),
			"wait a minute and audit again; check Get-CsManagementStoreReplicationStatus")
	}
	if inv.ReplicationError != "" {
		r.add(trust.SevInfo, "replication-unknown", "", "replication status could not be read over WinRM: "+inv.ReplicationError, "run Get-CsManagementStoreReplicationStatus on a Front End")
	}
}
