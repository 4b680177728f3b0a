package lab

import (
	"crypto/x509"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Windows is the operating system under a product's servers, as far as the
// lab imitates it (docs/lab.md, "Windows per product", gives the sources).
type Windows struct {
	Name       string // e.g. "Windows Server 2008 R2"
	PowerShell int    // the Windows PowerShell major version the Management Shell runs
	Version    string // the same, as Microsoft writes it: 2.0, 4.0, 5.1
	// WinRM's quotas (winrm-facts §7): WinRM 2.0 on Server 2008 R2 has far
	// lower defaults than WinRM 3.0 and later.
	MaxShellsPerUser               int
	MaxConcurrentOperationsPerUser int
	MaxEnvelopeKB                  int
	// RemoteManagementUsers says the local group exists (Windows Server
	// 2012 and later); on 2008 R2 only Administrators reach WinRM.
	RemoteManagementUsers bool
}

// windowsOf is the Windows each product's lab servers run: Lync Server 2010
// on Windows Server 2008 R2 with PowerShell 2.0, Lync Server 2013 on 2012 R2
// with PowerShell 4.0, Skype for Business Server 2015 and 2019 on 2016 and
// 2019 with PowerShell 5.1 (lync-facts §3).
var windowsOf = map[string]Windows{
	"2010": {"Windows Server 2008 R2", 2, "2.0", 5, 15, 150, false},
	"2013": {"Windows Server 2012 R2", 4, "4.0", 30, 1500, 500, true},
	"2015": {"Windows Server 2016", 5, "5.1", 30, 1500, 500, true},
	"2019": {"Windows Server 2019", 5, "5.1", 30, 1500, 500, true},
}

// Windows is the operating system the deployment's servers run.
func (d *Deployment) Windows() Windows { return windowsOf[d.Product] }

// moduleOf is the module each product's management shell loads.
var moduleOf = map[string]string{"2010": "Lync", "2013": "Lync", "2015": "SkypeForBusiness", "2019": "SkypeForBusiness"}

// Group names.
const (
	GroupServerAdmins   = "RTCUniversalServerAdmins"
	GroupReadOnlyAdmins = "RTCUniversalReadOnlyAdmins"
	GroupAdministrators = "Administrators"
	GroupRemoteMgmt     = "Remote Management Users"
)

// StoreCert is a certificate in a server's LocalMachine store.
type StoreCert struct {
	Cert *x509.Certificate
}

// Server is one simulated Lync server.
type Server struct {
	FQDN     string
	Role     string // "FrontEnd" or "Director"
	Pool     string
	Site     string
	Counters *Counters
	WinRM    *WinRM
	Local    []*Account // the server's own accounts
	mu       sync.Mutex
	stores   map[string]map[string]*x509.Certificate // "Root", "CA", "AuthRoot" -> thumbprint -> cert
	replica  int                                     // the CMS version this server's replica holds
	fs       fileSystem
	taskMu   sync.Mutex
	tasks    map[string]*task
	audit    auditLog
}

// findCert looks a certificate up by thumbprint in the server's Root and CA
// stores.
func (s *Server) findCert(thumb string) *x509.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, store := range []string{"Root", "CA"} {
		if c, ok := s.stores[store][strings.ToUpper(thumb)]; ok {
			return c
		}
	}
	return nil
}

// Computer is the server's NetBIOS name.
func (s *Server) Computer() string { return strings.ToUpper(strings.SplitN(s.FQDN, ".", 2)[0]) }

// StoreHas reports whether a certificate is in one of the server's stores.
func (s *Server) StoreHas(store, thumb string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.stores[store][strings.ToUpper(thumb)]
	return ok
}

// AddToStore puts a certificate in a store.
func (s *Server) AddToStore(store string, c *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stores[store] == nil {
		s.stores[store] = map[string]*x509.Certificate{}
	}
	s.stores[store][thumbprint(c)] = c
}

// RemoveFromStore deletes a certificate from a store.
func (s *Server) RemoveFromStore(store, thumb string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.stores[store], strings.ToUpper(thumb))
}

// Pool is a Front End or Director pool.
type Pool struct {
	FQDN      string
	Site      string
	Role      string
	Computers []string
}

// Deployment is the simulated Lync topology with its Central Management Store.
type Deployment struct {
	Product  string
	Edition  string // "standard" or "enterprise"
	Domain   Domain
	Accounts []*Account
	// LocalAdmin is the local Administrator every server has (the same
	// password on each, as an image leaves it).
	LocalAdmin *Account
	Sites      []string
	Pools      []*Pool
	Servers    []*Server
	Knobs      *Knobs
	// CMSHost is where the Central Management Store lives: the Standard
	// Edition server itself, or a SQL back end in Enterprise Edition.
	CMSHost string
	now     func() time.Time

	mu      sync.Mutex
	history []*cmsState // every CMS version, oldest first
	// OnChange is called after every write (state persistence).
	OnChange func()
	// BeforeReplicationStatus, when set, is called before
	// Get-CsManagementStoreReplicationStatus answers, on the server it
	// runs on: tests use it to hold a script at that point.
	BeforeReplicationStatus func(server string)
}

// Server finds a server by FQDN.
func (d *Deployment) Server(fqdn string) *Server {
	for _, s := range d.Servers {
		if strings.EqualFold(s.FQDN, fqdn) {
			return s
		}
	}
	return nil
}

// Lookup maps a user name and domain, as sent in NTLM or Basic, to an account.
func (d *Deployment) Lookup(user, domain string) *Account {
	if n, dom, ok := strings.Cut(user, "@"); ok && domain == "" {
		user, domain = n, dom
	}
	if domain != "" && !strings.EqualFold(domain, d.Domain.NetBIOS) && !strings.EqualFold(domain, d.Domain.DNS) {
		return nil
	}
	for _, a := range d.Accounts {
		if strings.EqualFold(a.User, user) {
			return a
		}
	}
	return nil
}

func inGroup(a *Account, g string) bool {
	for _, x := range a.Groups {
		if strings.EqualFold(x, g) {
			return true
		}
	}
	return false
}

// current is the newest CMS version.
func (d *Deployment) current() *cmsState {
	return d.history[len(d.history)-1]
}

// CMS returns a copy of the Central Management Store's collections.
func (d *Deployment) CMS() []*WebConfig {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*WebConfig
	for _, c := range d.current().sorted() {
		out = append(out, c.clone())
	}
	return out
}

// Trusted returns the TrustedCACerts of a collection in the CMS.
func (d *Deployment) Trusted(identity string) []CACert {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.current().Configs[strings.ToLower(canonicalIdentity(identity))]
	if c == nil {
		return nil
	}
	return append([]CACert(nil), c.TrustedCACerts...)
}

// commit stores a new CMS version.
func (d *Deployment) commit(s *cmsState) {
	d.mu.Lock()
	s.Version = d.current().Version + 1
	s.Time = d.now()
	d.history = append(d.history, s)
	d.mu.Unlock()
	if d.OnChange != nil {
		d.OnChange()
	}
}

// replicaOf is what a server's local replica holds now: the newest version
// older than the replication delay.
func (d *Deployment) replicaOf(srv *Server) *cmsState {
	d.mu.Lock()
	defer d.mu.Unlock()
	cutoff := d.now().Add(-d.Knobs.ReplicationDelay())
	for i := len(d.history) - 1; i >= 0; i-- {
		if !d.history[i].Time.After(cutoff) || i == 0 {
			return d.history[i]
		}
	}
	return d.history[0]
}

// ReplicationStatus says, per server, whether its replica is up to date.
func (d *Deployment) ReplicationStatus() map[string]bool {
	out := map[string]bool{}
	for _, s := range d.Servers {
		out[s.FQDN] = d.replicaOf(s).Version == d.currentVersion()
	}
	return out
}

func (d *Deployment) currentVersion() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.current().Version
}

// WebServers are every server that runs web services: Front Ends and Directors.
func (d *Deployment) WebServers() []*Server {
	out := append([]*Server(nil), d.Servers...)
	sort.Slice(out, func(i, j int) bool { return out[i].FQDN < out[j].FQDN })
	return out
}

// NameComputer makes the topology list a computer in a pool that the lab
// does not run: the test hook of a topology that names a foreign host
// (the hostile-peer tests). The name is taken as it is, port or path included.
func (d *Deployment) NameComputer(pool, name string) {
	if p := d.pool(pool); p != nil {
		p.Computers = append(p.Computers, name)
	}
}

func (d *Deployment) pool(fqdn string) *Pool {
	for _, p := range d.Pools {
		if strings.EqualFold(p.FQDN, fqdn) {
			return p
		}
	}
	return nil
}

func (d *Deployment) String() string {
	return fmt.Sprintf("Lync %s %s edition, %d servers", d.Product, d.Edition, len(d.Servers))
}
