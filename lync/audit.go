package lync

import (
	"context"
	"fmt"
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
	servers := inv.WebServers()
	out := make([]ServerStores, len(servers))
	idx := map[string]int{}
	for i, s := range servers {
		idx[s] = i
		out[i].Server = s
	}
	var todo []string
	for _, s := range servers {
		if strings.EqualFold(s, c.Host()) {
			if certs, ok := pick(inv.Stores, entries); ok {
				out[idx[s]].Certs = certs
				continue
			}
		}
		todo = append(todo, s)
	}
	parallel.ForEach(ctx, todo, n, func(ctx context.Context, s string) {
		peer, err := c.Peer(ctx, s)
		if err != nil {
			out[idx[s]].Error, out[idx[s]].Refused = err.Error(), true
			return
		}
		if len(entries) == 0 {
			return
		}
		certs, err := CheckStores(ctx, peer, entries)
		if err != nil {
			out[idx[s]].Error = err.Error()
			return
		}
		out[idx[s]].Certs = certs
	})
	return out
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

// readOverlapped reads as ReadInventory does, but deletes the shell while
// the caller goes on (the other servers' store checks need only what was
// read); closed waits for that.
func readOverlapped(ctx context.Context, c psremote.Conn) (inv *Inventory, closed func(), err error) {
	script, err := AuditScript(false)
	if err != nil {
		return nil, nil, err
	}
	st, err := psremote.Start(ctx, c, script, recordFields)
	if err != nil {
		return nil, nil, err
	}
	st.EndIsLast()
	out, err := st.Wait(ctx)
	done := make(chan struct{})
	go func() {
		st.Close()
		close(done)
	}()
	closed = func() { <-done }
	if err == nil && out.ExitCode != 0 {
		err = classify(c, out)
	}
	if err == nil {
		inv, err = parseInventory(c, out)
	}
	if err != nil {
		closed()
		return nil, nil, err
	}
	return inv, closed, nil
}

// Audit reads the configuration, checks every web server's stores and
// reports what is wrong.
func Audit(ctx context.Context, c psremote.Conn, opts AuditOptions) (*AuditReport, error) {
	inv, closed, err := readOverlapped(ctx, c)
	if err != nil {
		return nil, err
	}
	defer closed()
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	r := &AuditReport{Server: inv.Server, Module: inv.Module, PSVersion: inv.PSVersion, Configs: inv.Configs,
		Replicas: inv.Replicas, ExchangeRoot: opts.ExchangeRoot.String(), Findings: []trust.Finding{}, ReadsLocalStore: true}
	r.Stores = StoresOnWebServers(ctx, c, inv, inv.Entries(), opts.Parallel)
	for _, s := range r.Stores {
		if s.Refused {
			r.add(trust.SevError, "unexpected-server", "", "a web server of the topology: "+s.Error,
				"check the topology (Get-CsPool) for this computer; a name outside the domain of --server, or one that does not resolve, is never signed in to")
		}
	}
	r.poolRules(inv, opts.ExchangeRoot)
	r.configRules(inv)
	sha2 := false
	for _, e := range inv.Entries() {
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
		for _, e := range cfg.Trusted {
			seen[e.Thumbprint]++
		}
		for t, n := range seen {
			if n > 1 {
				r.add(trust.SevWarning, "duplicate", t.String(), fmt.Sprintf("%s lists %s %d times", cfg.Identity, t, n), "remove the extra entries with lynctrust remove")
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
