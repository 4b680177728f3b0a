// Package doctor runs the checks that the Lync sign-in and Exchange
// troubleshooting articles ask an administrator to make by hand: the Exchange
// chains, the pool's CA against Exchange's, weak hashes, intermediates, clock
// skew, ports, the trusted root on every Front End, and the client-side
// causes of a quoted error message.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lynctrust/lynctrust/internal/parallel"
	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/psremote"
	"github.com/lynctrust/lynctrust/trust"
)

// Status of a check.
type Status string

// Statuses, from worst.
const (
	Fail   Status = "fail"
	Warn   Status = "warn"
	Pass   Status = "pass"
	Skip   Status = "skip"
	Manual Status = "manual" // a step for a person, from --symptom
)

// Check is one item of the checklist.
type Check struct {
	ID       int      `json:"id"`
	Name     string   `json:"name"`
	Status   Status   `json:"status"`
	Evidence []string `json:"evidence"`
	Fix      string   `json:"fix,omitempty"`
}

// Report is the whole checklist.
type Report struct {
	Checks []Check `json:"checks"`
	// asked and reached: whether anything was to be asked over the
	// network, and whether anything answered.
	asked, reached bool
}

// Unreached reports whether there was something to ask over the network and
// nothing answered: no Exchange chain, no topology, no open port.
func (r *Report) Unreached() bool { return r.asked && !r.reached }

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	for _, c := range r.Checks {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// Options say what to check.
type Options struct {
	OWA          string
	EWS          string
	Autodiscover string
	Pool         string // the Lync pool FQDN; from the topology when a connection is given
	ExtraRoots   []trust.StoreCert
	Dial         trust.DialFunc
	Timeout      time.Duration // per network operation
	Now          func() time.Time
	Conn         *psremote.Conn // nil: no credentials, the server-side checks are skipped
	Parallel     int
	Symptom      string
}

// MaxSkew is where certificate sign-in breaks (Kerberos and the sign-in
// articles: five minutes).
const MaxSkew = 5 * time.Minute

type resolved struct {
	kind   string
	target string
	report *trust.Report
	err    error
}

// Run runs the checks, in parallel where they are independent.
func Run(ctx context.Context, o Options) *Report {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Dial == nil {
		o.Dial = (&net.Dialer{}).DialContext
	}
	r := &Report{}
	var mu sync.Mutex
	add := func(c Check) {
		mu.Lock()
		r.Checks = append(r.Checks, c)
		mu.Unlock()
	}
	ropts := trust.ResolveOptions{ExtraRoots: o.ExtraRoots, Dial: o.Dial, Timeout: o.Timeout, Now: o.Now}
	// 1, 3, 4: the Exchange chains, read while the inventory is.
	results, inv, invErr := gather(ctx, o, ropts)
	add(chainCheck(results))
	add(weakHashCheck(results))
	add(intermediateCheck(results))

	var exchangeRoot string
	for _, res := range results {
		if res.kind == "owa" && res.report != nil && res.report.Recommended() != nil {
			exchangeRoot = res.report.Recommended().RootThumbprint
		}
	}
	pool, frontEnds, refused := poolAndFrontEnds(ctx, o, inv)
	probed := pool
	if probed == "" && o.Conn != nil {
		probed = o.Conn.Host() // the pool is unknown: the server's own ports
	}
	// 2, 5, 6, 7 are independent of each other.
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); add(poolRootCheck(ctx, o, pool, exchangeRoot, inv, ropts)) }()
	go func() { defer wg.Done(); add(clockCheck(ctx, o, frontEnds)) }()
	portsOpen := false
	go func() {
		defer wg.Done()
		c, open := portsCheck(ctx, o, probed)
		portsOpen = open
		add(c)
	}()
	go func() { defer wg.Done(); add(serverCheck(ctx, o, exchangeRoot, invErr)) }()
	wg.Wait()
	r.asked = len(results) > 0 || probed != "" || o.Conn != nil
	r.reached = inv != nil || portsOpen
	for _, res := range results {
		r.reached = r.reached || res.report != nil
	}
	if o.Symptom != "" {
		add(symptomCheck(o.Symptom))
	}
	if len(refused) > 0 {
		add(Check{ID: 9, Name: "server names in the topology", Status: Fail, Evidence: refused,
			Fix: "check the topology (Get-CsPool): lynctrust signs in only to host names in the domain of --server that resolve"})
	}
	sort.Slice(r.Checks, func(i, j int) bool { return r.Checks[i].ID < r.Checks[j].ID })
	return r
}

// gather resolves the Exchange endpoints and reads the inventory, all at
// once.
func gather(ctx context.Context, o Options, ropts trust.ResolveOptions) ([]resolved, *lync.Inventory, error) {
	var targets []struct{ kind, url string }
	if o.OWA != "" {
		targets = append(targets, struct{ kind, url string }{"owa", o.OWA})
	}
	if o.EWS != "" {
		targets = append(targets, struct{ kind, url string }{"ews", o.EWS})
	}
	if o.Autodiscover != "" {
		targets = append(targets, struct{ kind, url string }{"autodiscover", "https://autodiscover." + o.Autodiscover + "/autodiscover/autodiscover.xml"})
	}
	results := make([]resolved, len(targets))
	var inv *lync.Inventory
	var invErr error
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = resolved{kind: t.kind, target: t.url}
			ep, err := trust.ParseEndpoint(t.url)
			if err != nil {
				results[i].err = err
				return
			}
			results[i].report, results[i].err = trust.Resolve(ctx, ep, ropts)
		}()
	}
	if o.Conn != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inv, invErr = lync.ReadInventory(ctx, *o.Conn)
		}()
	}
	wg.Wait()
	return results, inv, invErr
}

// poolAndFrontEnds names the phones' registrar pool and the web servers
// whose clocks are checked.
// Names from the topology that CheckPeer refuses are left out, and listed
// in refused.
func poolAndFrontEnds(ctx context.Context, o Options, inv *lync.Inventory) (pool string, frontEnds, refused []string) {
	pool = o.Pool
	// Names from the topology are contacted only if CheckPeer passes them.
	expected := func(name string) bool {
		if o.Conn == nil {
			return true // no topology without a connection
		}
		if err := o.Conn.CheckPeer(ctx, name); err != nil {
			refused = append(refused, err.Error())
			return false
		}
		return true
	}
	if inv != nil {
		for _, p := range inv.Pools {
			if p.Web && !p.Director && pool == "" && expected(p.FQDN) {
				pool = p.FQDN // the phones' registrar pool, not a Director
			}
			if p.Web {
				for _, fe := range p.Computers {
					if expected(fe) {
						frontEnds = append(frontEnds, fe)
					}
				}
			}
		}
	}
	if len(frontEnds) == 0 && pool != "" {
		frontEnds = []string{pool}
	}
	if len(frontEnds) == 0 && o.Conn != nil {
		// The inventory could not be read: the server named on the command
		// line is still a Front End whose clock and ports can be checked.
		frontEnds = []string{o.Conn.Host()}
	}
	return pool, frontEnds, refused
}

func chainCheck(results []resolved) Check {
	c := Check{ID: 1, Name: "Exchange certificate chains (OWA, EWS, autodiscover)", Status: Pass}
	if len(results) == 0 {
		c.Status, c.Evidence = Skip, []string{"no --owa, --ews or --autodiscover given"}
		return c
	}
	for _, res := range results {
		if res.err != nil {
			c.Status = Fail
			c.Evidence = append(c.Evidence, fmt.Sprintf("%s %s: %v", res.kind, res.target, res.err))
			continue
		}
		rep := res.report
		line := fmt.Sprintf("%s %s: %d certificate(s) sent, %d path(s)", res.kind, rep.Address, len(rep.Sent), len(rep.Paths))
		if p := rep.Recommended(); p != nil && p.RootThumbprint != "" {
			line += ", root " + p.RootThumbprint
		}
		c.Evidence = append(c.Evidence, line)
		if !rep.Healthy() {
			c.Status = Fail
		} else if rep.Worst() == trust.SevWarning && c.Status == Pass {
			c.Status = Warn
		}
		for _, f := range allFindings(rep) {
			if f.Severity != trust.SevInfo {
				c.Evidence = append(c.Evidence, fmt.Sprintf("  %s: %s", f.Severity, f.Message))
			}
		}
	}
	if c.Status != Pass {
		c.Fix = "lynctrust resolve shows every path; fix the chain on Exchange (a trusted root cannot fix these)"
		if fix, only := onlyLegacyTLS(results); only {
			c.Fix = fix // the chain is fine: the TLS settings are what to change
		}
	}
	return c
}

// onlyLegacyTLS reports whether old TLS is the only thing wrong, with its fix.
func onlyLegacyTLS(results []resolved) (string, bool) {
	fix := ""
	for _, res := range results {
		if res.err != nil {
			return "", false
		}
		for _, f := range allFindings(res.report) {
			switch {
			case f.Code == trust.FindLegacyTLS:
				fix = f.Fix
			case f.Severity != trust.SevInfo:
				return "", false
			}
		}
	}
	return fix, fix != ""
}

func allFindings(r *trust.Report) []trust.Finding {
	fs := append([]trust.Finding(nil), r.Findings...)
	for _, p := range r.Paths {
		if p.Recommended {
			fs = append(fs, p.Findings...)
		}
	}
	return fs
}

// unread says why no Exchange chain can be looked at, or "" when one was
// read: a check of the chains that read none is skipped, not passed.
func unread(results []resolved) string {
	if len(results) == 0 {
		return "no --owa, --ews or --autodiscover given"
	}
	for _, res := range results {
		if res.report != nil {
			return ""
		}
	}
	return "no Exchange chain was read (check 1 says why)"
}

func weakHashCheck(results []resolved) Check {
	c := Check{ID: 3, Name: "MD2/MD4/MD5 signatures in the Exchange paths", Status: Pass}
	if why := unread(results); why != "" {
		c.Status, c.Evidence = Skip, []string{why}
		return c
	}
	for _, res := range results {
		if res.report == nil {
			continue
		}
		for _, f := range allFindings(res.report) {
			switch {
			case f.Code == trust.FindWeakSignature && f.Severity == trust.SevError:
				c.Status = Fail
				c.Evidence = append(c.Evidence, res.kind+": "+f.Message)
			case f.Code == trust.FindWeakRootSignature && strings.Contains(f.Message, "MD2"):
				if c.Status == Pass {
					c.Status = Warn
				}
				c.Evidence = append(c.Evidence, res.kind+": "+f.Message)
			}
		}
	}
	if c.Status == Fail {
		c.Fix = "reissue the certificate signed with SHA-256: clients refuse such paths with TLS alert 43 and log SChannel 36888 (lynctrust explain schannel 36888)"
	}
	if len(c.Evidence) == 0 {
		c.Evidence = []string{"no certificate in the recommended paths is signed with MD2, MD4 or MD5"}
	}
	return c
}

func intermediateCheck(results []resolved) Check {
	c := Check{ID: 4, Name: "Exchange sends its intermediates", Status: Pass}
	if why := unread(results); why != "" {
		c.Status, c.Evidence = Skip, []string{why}
		return c
	}
	for _, res := range results {
		if res.report == nil {
			continue
		}
		for _, f := range allFindings(res.report) {
			if f.Code == trust.FindIntermediateNotSent || f.Code == trust.FindNoPath {
				c.Status = Fail
				c.Evidence = append(c.Evidence, res.kind+": "+f.Message)
			}
		}
	}
	if c.Status == Fail {
		c.Fix = "install the intermediate in LocalMachine\\CA on every Exchange server and restart IIS"
	} else {
		c.Evidence = []string{"every intermediate of the recommended paths was sent by the server"}
	}
	return c
}

func poolRootCheck(ctx context.Context, o Options, pool, exchangeRoot string, inv *lync.Inventory, ropts trust.ResolveOptions) Check {
	c := Check{ID: 2, Name: "Lync pool CA against Exchange CA (tethered phones)", Status: Pass}
	if pool == "" || exchangeRoot == "" {
		var why []string
		switch {
		case o.OWA == "":
			why = append(why, "needs --owa")
		case exchangeRoot == "":
			why = append(why, "OWA's chain gave no root (check 1 says why)")
		}
		switch {
		case pool != "":
		case o.Conn == nil:
			why = append(why, "needs the pool: --pool, or --server with credentials")
		case inv == nil:
			why = append(why, "the pool is unknown: the topology could not be read (check 7 says why); give --pool")
		default:
			why = append(why, "the topology names no web pool lynctrust could use (check 9 says why, if it failed); give --pool")
		}
		c.Status, c.Evidence = Skip, why
		return c
	}
	rep, err := trust.Resolve(ctx, trust.Endpoint{Target: "https://" + pool + "/", Host: pool, Port: "443"}, ropts)
	if err != nil {
		c.Status, c.Evidence = Fail, []string{fmt.Sprintf("pool web services %s: %v", pool, err)}
		return c
	}
	poolRoot := ""
	if p := rep.Recommended(); p != nil {
		poolRoot = p.RootThumbprint
	}
	c.Evidence = append(c.Evidence, fmt.Sprintf("pool %s chains to %s; Exchange chains to %s", pool, orUnknown(poolRoot), exchangeRoot))
	if poolRoot == "" {
		// Without the pool's root there is nothing to compare: not a pass.
		c.Status = Warn
		c.Evidence = append(c.Evidence, "the pool's chain reaches no root that this machine or --owa-ca-file trusts, so the two CAs cannot be compared")
		c.Fix = fmt.Sprintf("give the pool's root CA with --owa-ca-file, or see why: lynctrust resolve --owa https://%s/", pool)
		return c
	}
	if poolRoot == exchangeRoot {
		c.Evidence = append(c.Evidence, "the same CA: the phones trust Exchange already")
		return c
	}
	if inv == nil {
		c.Status = Warn
		c.Evidence = append(c.Evidence, "different CAs: whether TrustedCACerts holds the Exchange root needs --server and credentials")
		c.Fix = "lynctrust audit --owa URL --server FQDN"
		return c
	}
	for _, p := range inv.Pools {
		if !strings.EqualFold(p.FQDN, pool) {
			continue
		}
		id := inv.Governing(p)
		cfg := inv.Config(id)
		for _, e := range cfg.Trusted {
			if e.Thumbprint.String() == exchangeRoot {
				c.Evidence = append(c.Evidence, fmt.Sprintf("different CAs, and %s (which governs %s) trusts the Exchange root", id, pool))
				return c
			}
		}
		c.Status = Fail
		c.Evidence = append(c.Evidence, fmt.Sprintf("different CAs, and %s (which governs %s) does not trust the Exchange root", id, pool))
		c.Fix = fmt.Sprintf("lynctrust add --owa %s --identity %s", o.OWA, id)
		return c
	}
	c.Status = Warn
	c.Evidence = append(c.Evidence, "the pool is not in the topology read from the server")
	return c
}

func orUnknown(s string) string {
	if s == "" {
		return "(no root found)"
	}
	return s
}

// dateOf asks a web server for its clock (the Date header).
func dateOf(ctx context.Context, o Options, url string) (time.Time, error) {
	client := &http.Client{Timeout: o.Timeout, Transport: &http.Transport{DialContext: o.Dial, Proxy: nil,
		// Only the Date header is read and nothing secret is sent: the chain
		// is checked elsewhere, and a server that offers only TLS 1.0 with
		// RSA key exchange (Windows Server 2008 R2) still has a clock.
		TLSClientConfig: trust.ReadOnlyTLSConfig("")}}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return time.Time{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	resp.Body.Close()
	return http.ParseTime(resp.Header.Get("Date"))
}

// DateResolution is the resolution of the HTTP Date header (RFC 9110
// §5.6.7 counts whole seconds): a skew this small cannot be told from none.
const DateResolution = time.Second

// skewOf estimates how far a server's clock is from this machine's, from the
// Date header it sent between before and after. The header truncates the
// server's time to the second, so the server's time lies in [date, date+1s):
// the estimate is the middle of that second less the middle of the request.
func skewOf(date, before, after time.Time) time.Duration {
	mid := before.Add(after.Sub(before) / 2)
	return date.Add(DateResolution / 2).Sub(mid)
}

func clockCheck(ctx context.Context, o Options, frontEnds []string) Check {
	c := Check{ID: 5, Name: "clock skew between here, Exchange and every Front End", Status: Pass}
	var urls []string
	if o.OWA != "" {
		if ep, err := trust.ParseEndpoint(o.OWA); err == nil {
			urls = append(urls, "https://"+ep.Address()+"/")
		}
	}
	for _, fe := range frontEnds {
		urls = append(urls, "https://"+fe+"/")
	}
	if len(urls) == 0 {
		c.Status, c.Evidence = Skip, []string{"no server to ask"}
		return c
	}
	type res struct {
		url  string
		skew time.Duration
		err  error
	}
	out := make([]res, len(urls))
	parallel.ForEach(ctx, indexes(len(urls)), max(o.Parallel, 1), func(ctx context.Context, i int) {
		before := o.Now()
		d, err := dateOf(ctx, o, urls[i])
		after := o.Now()
		out[i] = res{urls[i], skewOf(d, before, after), err}
	})
	for _, r := range out {
		switch {
		case r.err != nil:
			c.Evidence = append(c.Evidence, fmt.Sprintf("%s: no answer (%v)", r.url, r.err))
			if c.Status == Pass {
				c.Status = Warn
			}
		case r.skew > MaxSkew || r.skew < -MaxSkew:
			c.Status = Fail
			c.Evidence = append(c.Evidence, fmt.Sprintf("%s: %s off this machine's clock", r.url, r.skew.Round(time.Second)))
		case r.skew >= -DateResolution && r.skew <= DateResolution:
			c.Evidence = append(c.Evidence, fmt.Sprintf("%s: in sync (within %s, the Date header's resolution)", r.url, DateResolution))
		default:
			c.Evidence = append(c.Evidence, fmt.Sprintf("%s: %s off", r.url, r.skew.Round(time.Second)))
		}
	}
	if c.Status == Fail {
		c.Fix = "synchronise the clocks (w32tm /resync; check the domain time hierarchy): over five minutes, certificate sign-in fails"
	}
	return c
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// portsCheck also says whether any port was open.
func portsCheck(ctx context.Context, o Options, pool string) (Check, bool) {
	c := Check{ID: 6, Name: "ports reachable from here", Status: Pass}
	type probe struct {
		addr     string
		what     string
		required bool
	}
	var probes []probe
	if o.OWA != "" {
		if ep, err := trust.ParseEndpoint(o.OWA); err == nil {
			probes = append(probes, probe{ep.Address(), "Exchange (HTTPS)", true})
		}
	}
	if pool != "" {
		probes = append(probes,
			probe{net.JoinHostPort(pool, "443"), "pool web services, internal (HTTPS)", true},
			probe{net.JoinHostPort(pool, "4443"), "pool web services, external (HTTPS)", true},
			probe{net.JoinHostPort(pool, "5061"), "SIP over TLS", true},
			probe{net.JoinHostPort(pool, "5060"), "SIP over TCP (usually disabled; noted only)", false})
	}
	if len(probes) == 0 {
		c.Status, c.Evidence = Skip, []string{"no server to probe"}
		return c, false
	}
	open := make([]error, len(probes))
	parallel.ForEach(ctx, indexes(len(probes)), len(probes), func(ctx context.Context, i int) {
		ctx, cancel := context.WithTimeout(ctx, min(o.Timeout, 3*time.Second))
		defer cancel()
		conn, err := o.Dial(ctx, "tcp", probes[i].addr)
		if err == nil {
			conn.Close()
		}
		open[i] = err
	})
	anyOpen := false
	for i, p := range probes {
		state := "open"
		anyOpen = anyOpen || open[i] == nil
		if open[i] != nil {
			state = "closed or filtered (" + shortErr(open[i]) + ")"
			if p.required {
				c.Status = Fail
			}
		}
		c.Evidence = append(c.Evidence, fmt.Sprintf("%s %s: %s", p.addr, p.what, state))
	}
	if c.Status == Fail {
		c.Fix = "open TCP 443, 4443 and 5061 between the clients and the pool (and 443 to Exchange) in firewalls and proxies"
	}
	return c, anyOpen
}

func shortErr(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

func serverCheck(ctx context.Context, o Options, exchangeRoot string, invErr error) Check {
	c := Check{ID: 7, Name: "trusted root on every web server, collections, replication", Status: Pass}
	if o.Conn == nil {
		c.Status, c.Evidence = Skip, []string{"needs --server and credentials"}
		return c
	}
	if invErr != nil {
		c.Status, c.Evidence = Fail, []string{invErr.Error()}
		return c
	}
	root, _ := lync.ParseThumbprint(exchangeRoot) // "" when the chain gave none: the zero value
	rep, err := lync.Audit(ctx, *o.Conn, lync.AuditOptions{Parallel: o.Parallel, ExchangeRoot: root, Now: o.Now()})
	if err != nil {
		c.Status, c.Evidence = Fail, []string{err.Error()}
		return c
	}
	for _, cfg := range rep.Configs {
		c.Evidence = append(c.Evidence, fmt.Sprintf("%s: %d trusted CA(s), InferCertChainFromSSL=%v", cfg.Identity, len(cfg.Trusted), cfg.InferCertChainFromSSL))
	}
	for _, f := range rep.Findings {
		switch f.Severity {
		case trust.SevError:
			c.Status = Fail
		case trust.SevWarning:
			if c.Status == Pass {
				c.Status = Warn
			}
		}
		c.Evidence = append(c.Evidence, fmt.Sprintf("%s: %s", f.Severity, f.Message))
	}
	if c.Status != Pass {
		c.Fix = "lynctrust audit shows the details; lynctrust add fixes the missing root"
	}
	return c
}

func symptomCheck(text string) Check {
	c := Check{ID: 8, Name: "client-side causes of the reported symptom", Status: Manual}
	matches := trust.MatchSymptoms(text)
	if len(matches) == 0 {
		c.Status = Skip
		c.Evidence = []string{fmt.Sprintf("%q matches no known message (lynctrust explain error --list)", text)}
		return c
	}
	m := matches[0]
	c.Evidence = append(c.Evidence, fmt.Sprintf("%q (%s)", m.Message, m.Where))
	for i, cause := range m.Causes {
		c.Evidence = append(c.Evidence, fmt.Sprintf("%d. %s: %s", i+1, cause.Cause, cause.Check))
	}
	c.Fix = "work through the causes in order; those with a lynctrust command are checked above"
	return c
}
