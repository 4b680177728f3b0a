package lab

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	tlab "github.com/lynctrust/lynctrust/internal/lab/exchange"
	"github.com/lynctrust/lynctrust/internal/netx"
)

// Options shape a lab deployment.
type Options struct {
	Product   string // 2010, 2013, 2015 or 2019 (2019 when empty)
	Edition   string // standard or enterprise (standard when empty)
	FrontEnds int    // Front Ends in the pool (Enterprise Edition); 1 when zero
	// StandardServers is the number of Standard Edition servers, each its
	// own pool (Standard Edition); 1 when zero. The first hosts the Central
	// Management Store; the others read it over the network.
	StandardServers int
	Directors       int           // Director servers
	Scenario        tlab.Scenario // the Exchange certificate scenario (healthy when empty)
	StateDir        string        // where lab.json and the CA files go; a temporary directory when empty
	// SiteCollection creates a site-scope Web Services collection for the
	// pool's site, which then governs the pool instead of Global.
	SiteCollection bool
	// Site is the name of the site every pool is in ("Redmond" when
	// empty). Lync allows more characters in a site name than letters,
	// digits, space, '.', '_' and '-'.
	Site string
	// MissingRootOn lists servers whose LocalMachine\Root lacks the Exchange root.
	MissingRootOn []string
	// AllowUnencrypted and Basic change the WinRM service defaults (both false on Windows).
	AllowUnencrypted bool
	Basic            bool
	// Certificate turns on Service/Auth/Certificate (false on Windows by
	// default); the mapping of the lab's client certificate is always there.
	Certificate bool
	// AdminUser names the domain account in RTCUniversalServerAdmins and
	// Administrators (lyncadmin when empty).
	AdminUser string
	// Culture is the servers' culture (en-US when empty; de-DE, fi-FI): it
	// shapes dates a script formats and the words schtasks prints.
	Culture string
	// Kerberos starts a real MIT KDC for the domain (Debian's krb5-kdc and
	// krb5-admin-server) and gives every server its HTTP/FQDN key.
	Kerberos bool
	// IdleTimeout is how long a WinRM connection may sit idle before the
	// server closes it: HTTP.sys's IdleConnectionTimeout, 2 minutes when
	// zero (docs/lab.md).
	IdleTimeout time.Duration
	Now         func() time.Time
	// Persist keeps the lab's state in StateDir/state.json: started again
	// from the same directory, it has the same certificates, addresses,
	// accounts, Central Management Store and certificate stores.
	Persist bool
}

// ServerInfo is one server in lab.json.
type ServerInfo struct {
	FQDN          string `json:"fqdn"`
	Role          string `json:"role"`
	Pool          string `json:"pool"`
	Site          string `json:"site"`
	WinRMURL      string `json:"winrm_url"`
	WinRMHTTPSURL string `json:"winrm_https_url"`
	WebURL        string `json:"web_url"`
}

// AccountInfo is one lab account in lab.json.
type AccountInfo struct {
	User     string   `json:"user"`
	Password string   `json:"password"`
	Groups   []string `json:"groups"`
}

// Info is lab.json: the stable description runbooks and tests read.
type Info struct {
	Product                string        `json:"product"`
	Windows                string        `json:"windows"`    // the servers' Windows, e.g. Windows Server 2008 R2
	PowerShell             int           `json:"powershell"` // the Windows PowerShell version, e.g. 2
	Culture                string        `json:"culture"`    // the servers' culture, e.g. en-US
	Edition                string        `json:"edition"`
	Scenario               string        `json:"scenario"`
	Domain                 string        `json:"domain"`
	OWAURL                 string        `json:"owa_url"`
	EWSURL                 string        `json:"ews_url"`
	AutodiscoverDomain     string        `json:"autodiscover_domain"`
	ExchangeRootThumbprint string        `json:"exchange_root_thumbprint"`
	Servers                []ServerInfo  `json:"servers"`
	Accounts               []AccountInfo `json:"accounts"`
	Resolve                []string      `json:"resolve"`
	PublicCAFile           string        `json:"public_ca_file"`
	EnterpriseCAFile       string        `json:"enterprise_ca_file"`
	// LocalAccount is every server's own local Administrator (.\Administrator):
	// what Basic and client certificates sign in as.
	LocalAccount AccountInfo `json:"local_account"`
	// ClientCertFile and ClientKeyFile are a client certificate (UPN
	// lynctrust@lab.test, issued by the enterprise CA) that every server maps
	// to its local Administrator; it signs in when Service/Auth/Certificate is on.
	ClientCertFile  string `json:"client_cert_file"`
	ClientKeyFile   string `json:"client_key_file"`
	CertificateAuth bool   `json:"certificate_auth"`
	// Realm and Krb5Conf are set when the lab runs a KDC: point KRB5_CONFIG
	// at Krb5Conf.
	Realm    string `json:"realm,omitempty"`
	Krb5Conf string `json:"krb5_conf,omitempty"`
}

// Lab is a running simulated deployment: Lync servers with WinRM, and Exchange.
type Lab struct {
	Info       Info
	Deployment *Deployment
	Exchange   *tlab.Exchange
	Knobs      *Knobs
	servers    []*http.Server
	listeners  []net.Listener
	ports      map[string]int // named listeners, for a restart from the state directory
	// Restored says the lab came back from its state directory.
	Restored    bool
	saved       *savedState
	statePath   string
	shape       Options
	issuedAt    time.Time
	serialStart int64
	saveMu      sync.Mutex
	tmpDir      string
	kdc         *KDC
	wg          sync.WaitGroup
}

func randomPassword() string {
	b := make([]byte, 9)
	rand.Read(b)
	return "Lab-" + hex.EncodeToString(b)
}

// Start starts a lab.
func Start(opts Options) (*Lab, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	l := &Lab{Knobs: &Knobs{}, ports: map[string]int{}}
	if opts.Persist && opts.StateDir == "" {
		return nil, fmt.Errorf("a persistent lab needs a state directory")
	}
	if opts.Persist {
		if opts, err = l.loadSaved(opts); err != nil {
			return nil, err
		}
	}
	l.Knobs.SetCulture(opts.Culture)
	issuedAt := opts.Now()
	if l.saved != nil {
		issuedAt = l.saved.IssuedAt
	}
	serialStart := tlab.Serial()
	if opts.StateDir, err = l.makeStateDir(opts.StateDir); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			l.Close()
		}
	}()
	if err := l.startExchange(opts, issuedAt); err != nil {
		return nil, err
	}
	d := newDeployment(opts, l.Knobs)
	l.Deployment = d
	if err := l.startServers(opts, issuedAt); err != nil {
		return nil, err
	}
	if l.saved != nil {
		if err := l.saved.restore(d); err != nil {
			return nil, fmt.Errorf("%s: %w", l.statePath, err)
		}
		for i, a := range d.Accounts {
			l.Info.Accounts[i].Password = a.Password
		}
	}
	l.Info.LocalAccount = AccountInfo{User: `.\` + d.LocalAdmin.User, Password: d.LocalAdmin.Password, Groups: d.LocalAdmin.Groups}
	if opts.Kerberos {
		if err := l.startKDC(opts.StateDir); err != nil {
			return nil, err
		}
	}
	if opts.Persist {
		l.shape = opts
		l.issuedAt, l.serialStart = issuedAt, serialStart
		d.OnChange = func() { l.save() }
		if err := l.save(); err != nil {
			return nil, err
		}
	}
	if err := l.writeInfo(opts.StateDir); err != nil {
		return nil, err
	}
	ok = true
	return l, nil
}

// withDefaults fills in the options left empty and refuses those that
// describe no deployment.
func withDefaults(opts Options) (Options, error) {
	if opts.Product == "" {
		opts.Product = "2019"
	}
	if _, ok := windowsOf[opts.Product]; !ok {
		return opts, fmt.Errorf("product %q: want 2010, 2013, 2015 or 2019", opts.Product)
	}
	if opts.Edition == "" {
		opts.Edition = "standard"
	}
	if opts.Culture != "" {
		if _, err := LookupCulture(opts.Culture); err != nil {
			return opts, err
		}
	}
	if opts.Edition != "standard" && opts.Edition != "enterprise" {
		return opts, fmt.Errorf("edition %q: want standard or enterprise", opts.Edition)
	}
	if opts.FrontEnds <= 0 {
		opts.FrontEnds = 1
	}
	if opts.Edition == "standard" && opts.FrontEnds > 1 {
		return opts, fmt.Errorf("a Standard Edition pool has one server; use --edition enterprise for %d Front Ends", opts.FrontEnds)
	}
	if opts.StandardServers <= 0 {
		opts.StandardServers = 1
	}
	if opts.Edition == "enterprise" && opts.StandardServers > 1 {
		return opts, fmt.Errorf("%d Standard Edition servers: they are a Standard Edition deployment", opts.StandardServers)
	}
	if opts.Scenario == "" {
		opts.Scenario = tlab.Healthy
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return opts, nil
}

// loadSaved reads a persistent lab's state directory: a lab that ran
// before comes back with its options, keys, serial numbers and ports.
func (l *Lab) loadSaved(opts Options) (Options, error) {
	l.statePath = filepath.Join(opts.StateDir, "state.json")
	saved, err := loadState(l.statePath)
	if err != nil {
		return opts, err
	}
	if saved != nil {
		l.saved, l.Restored = saved, true
		opts = saved.apply(opts)
		if err := tlab.LoadKeys(saved.Keys); err != nil {
			return opts, fmt.Errorf("%s: %w", l.statePath, err)
		}
		tlab.SetSerial(saved.Serial)
		l.ports = saved.Ports
	}
	return opts, nil
}

// makeStateDir creates the state directory, or a temporary one when none
// is given, and returns it.
func (l *Lab) makeStateDir(dir string) (string, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "lynctrust-lab-")
		if err != nil {
			return "", err
		}
		l.tmpDir = d
		return d, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// startExchange starts Exchange's endpoints, on their earlier ports after
// a restart.
func (l *Lab) startExchange(opts Options, issuedAt time.Time) error {
	ex, err := tlab.StartExchange(opts.Scenario, tlab.ExchangeOptions{Domain: "contoso.test", Dir: opts.StateDir, Now: issuedAt,
		TLSPort: l.ports["exchange-tls"], AIAPort: l.ports["exchange-aia"]})
	if err != nil {
		return err
	}
	l.Exchange = ex
	l.ports["exchange-tls"], l.ports["exchange-aia"] = ex.Addr2Port(), ex.AIAPort
	return nil
}

// newDeployment describes the deployment: its domain, accounts, pools and
// servers, and a Central Management Store with the global configuration.
func newDeployment(opts Options, knobs *Knobs) *Deployment {
	dom := Domain{NetBIOS: "LAB", DNS: "lab.test"}
	site := opts.Site
	if site == "" {
		site = "Redmond"
	}
	d := &Deployment{Product: opts.Product, Edition: opts.Edition, Domain: dom, Knobs: knobs, now: opts.Now, Sites: []string{site}}
	win := windowsOf[opts.Product]
	// Remote Management Users arrived with Windows Server 2012: on 2008 R2
	// the group does not exist, and only Administrators reach WinRM.
	remote := []string{GroupRemoteMgmt}
	if !win.RemoteManagementUsers {
		remote = nil
	}
	admin := opts.AdminUser
	if admin == "" {
		admin = "lyncadmin"
	}
	d.Accounts = []*Account{
		{User: admin, Password: randomPassword(), Groups: []string{GroupServerAdmins, GroupAdministrators}},
		{User: "lyncreader", Password: randomPassword(), Groups: append([]string{GroupReadOnlyAdmins}, remote...)},
		{User: "helpdesk", Password: randomPassword(), Groups: remote},
	}
	d.LocalAdmin = &Account{User: "Administrator", Password: randomPassword(), Groups: []string{GroupAdministrators}}
	d.addPools(opts, site)
	global := newWebConfig("Global", opts.Product)
	st := &cmsState{Version: 1, Time: opts.Now().Add(-time.Hour), Configs: map[string]*WebConfig{"global": global}}
	if opts.SiteCollection {
		st.Configs[strings.ToLower("site:"+site)] = newWebConfig("Site:"+site, opts.Product)
	}
	d.history = []*cmsState{st}
	return d
}

// addPools adds the Front End pool (Standard or Enterprise Edition), any
// further Standard Edition servers, and the Directors.
func (d *Deployment) addPools(opts Options, site string) {
	dom := d.Domain
	poolFQDN := "se01." + dom.DNS
	var names []string
	if opts.Edition == "enterprise" {
		poolFQDN = "pool01." + dom.DNS
		for i := 1; i <= opts.FrontEnds; i++ {
			names = append(names, fmt.Sprintf("fe%02d.pool01.%s", i, dom.DNS))
		}
		d.CMSHost = "sql01." + dom.DNS
	} else {
		names = []string{poolFQDN}
		d.CMSHost = poolFQDN
	}
	d.Pools = append(d.Pools, &Pool{FQDN: poolFQDN, Site: site, Role: "FrontEnd", Computers: names})
	for _, n := range names {
		d.Servers = append(d.Servers, &Server{FQDN: n, Role: "FrontEnd", Pool: poolFQDN, Site: site})
	}
	for i := 2; i <= opts.StandardServers; i++ {
		n := fmt.Sprintf("se%02d.%s", i, dom.DNS)
		d.Pools = append(d.Pools, &Pool{FQDN: n, Site: site, Role: "FrontEnd", Computers: []string{n}})
		d.Servers = append(d.Servers, &Server{FQDN: n, Role: "FrontEnd", Pool: n, Site: site})
	}
	if opts.Directors > 0 {
		dirPool := "dir01." + dom.DNS
		var dnames []string
		for i := 1; i <= opts.Directors; i++ {
			n := dirPool
			if opts.Directors > 1 {
				dirPool = "dirpool." + dom.DNS
				n = fmt.Sprintf("dir%02d.%s", i, dom.DNS)
			}
			dnames = append(dnames, n)
			d.Servers = append(d.Servers, &Server{FQDN: n, Role: "Director", Pool: dirPool, Site: site})
		}
		d.Pools = append(d.Pools, &Pool{FQDN: dirPool, Site: site, Role: "Director", Computers: dnames})
	}
}

// startServers issues the enterprise CA and the certificates it signs,
// and starts every server.
func (l *Lab) startServers(opts Options, now time.Time) error {
	d := l.Deployment
	// The enterprise CA issues the pool's and the WinRM listeners' certificates:
	// the situation tethered phones fail in, against Exchange's public CA.
	entRoot, err := tlab.Issue(tlab.Spec{CommonName: "Lab Enterprise Root CA", IsCA: true, NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(10, 0, 0), Key: tlab.Key(2048, 4)}, nil)
	if err != nil {
		return err
	}
	entFile := filepath.Join(opts.StateDir, "enterprise-ca.pem")
	if err := os.WriteFile(entFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: entRoot.DER()}), 0o644); err != nil {
		return err
	}
	missing := map[string]bool{}
	for _, m := range opts.MissingRootOn {
		missing[strings.ToLower(m)] = true
	}
	l.describe(opts, entFile)
	if err := l.issueClientCert(opts.StateDir, now, entRoot); err != nil {
		return err
	}
	l.Info.CertificateAuth = opts.Certificate
	mapping := CertMapping{Issuer: thumbprint(entRoot.Cert), Subject: ClientUPN, URI: "*", UserName: d.LocalAdmin.User}
	for i, srv := range d.Servers {
		l.setUpServer(srv, opts, entRoot, mapping, !missing[strings.ToLower(srv.FQDN)])
		if err := l.listenServer(i, srv, entRoot, now); err != nil {
			return err
		}
	}
	// SIP over TCP (5060) is closed, as on most pools: a port nobody listens on.
	if closed, ok := l.closedPort("closed-5060"); ok {
		for _, p := range d.Pools {
			l.Info.Resolve = append(l.Info.Resolve, p.FQDN+":5060:127.0.0.1:"+strconv.Itoa(closed))
		}
	}
	return nil
}

// closedPort is a port nobody listens on: the one used before, restored
// from the state directory, while a connection to it is still refused
// (nothing listens there, though the system may have lent the number to
// a client's connection since, so it cannot be bound again); otherwise a
// free one, found by listening and closing.
func (l *Lab) closedPort(name string) (int, bool) {
	if p := l.ports[name]; p != 0 {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second)
		if err != nil && errors.Is(err, syscall.ECONNREFUSED) {
			return p, true
		}
		if err == nil {
			c.Close()
		}
		l.ports[name] = 0
	}
	ln, err := l.listen(name)
	if err != nil {
		return 0, false
	}
	ln.Close()
	return l.ports[name], true
}

// describe starts the lab's Info: what it runs, Exchange's URLs and
// roots, and the domain accounts.
func (l *Lab) describe(opts Options, entFile string) {
	d, ex, win, dom := l.Deployment, l.Exchange, windowsOf[opts.Product], l.Deployment.Domain
	culture := opts.Culture
	if culture == "" {
		culture = "en-US"
	}
	l.Info = Info{Product: opts.Product, Windows: win.Name, PowerShell: win.PowerShell, Culture: culture, Edition: opts.Edition, Scenario: string(opts.Scenario), Domain: dom.DNS,
		OWAURL: ex.OWAURL, EWSURL: ex.EWSURL, AutodiscoverDomain: ex.Domain,
		ExchangeRootThumbprint: thumbprint(ex.Root.Cert), PublicCAFile: ex.PublicRootFile, EnterpriseCAFile: entFile,
		Resolve: append([]string(nil), ex.Resolve...)}
	for _, a := range d.Accounts {
		l.Info.Accounts = append(l.Info.Accounts, AccountInfo{User: dom.NetBIOS + `\` + a.User, Password: a.Password, Groups: a.Groups})
	}
}

// issueClientCert issues and writes to dir a client certificate for
// WinRM's certificate authentication: Client Authentication EKU and a UPN
// in the subject alternative name, as WinRM requires (winrm-facts §7;
// MS-WSMV 2.2.4.3).
func (l *Lab) issueClientCert(dir string, now time.Time, entRoot *tlab.Issued) error {
	upn, err := UPNExtension(ClientUPN)
	if err != nil {
		return err
	}
	client, err := tlab.Issue(tlab.Spec{CommonName: "lynctrust operator", NotBefore: now.AddDate(0, -1, 0), NotAfter: now.AddDate(1, 0, 0),
		Key: tlab.Key(2048, 8), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Extensions: []pkix.Extension{upn}}, entRoot)
	if err != nil {
		return err
	}
	l.Info.ClientCertFile, l.Info.ClientKeyFile = filepath.Join(dir, "client-cert.pem"), filepath.Join(dir, "client-key.pem")
	if err := os.WriteFile(l.Info.ClientCertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: client.DER()}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(l.Info.ClientKeyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(client.Key)}), 0o600)
}

// setUpServer gives a server its certificate stores (with Exchange's roots
// unless exchangeRoots is false), its local Administrator and its WinRM
// service.
func (l *Lab) setUpServer(srv *Server, opts Options, entRoot *tlab.Issued, mapping CertMapping, exchangeRoots bool) {
	d, win := l.Deployment, windowsOf[opts.Product]
	srv.Counters = &Counters{}
	srv.stores = map[string]map[string]*x509.Certificate{}
	srv.AddToStore("Root", entRoot.Cert)
	if exchangeRoots {
		for _, r := range l.Exchange.Roots {
			srv.AddToStore("Root", r.Cert)
		}
	}
	srv.replica = 1
	srv.Local = []*Account{{User: d.LocalAdmin.User, Password: d.LocalAdmin.Password, Groups: d.LocalAdmin.Groups, Computer: srv.Computer()}}
	srv.WinRM = NewWinRM(WinRMConfig{Computer: srv.Computer(), Domain: d.Domain, Lookup: d.Lookup, Local: srv.Local,
		CanConnect: func(a *Account) bool {
			return inGroup(a, GroupAdministrators) || win.RemoteManagementUsers && inGroup(a, GroupRemoteMgmt)
		},
		MaxShellsPerUser: win.MaxShellsPerUser, MaxOperationsPerUser: win.MaxConcurrentOperationsPerUser, MaxEnvelopeKB: win.MaxEnvelopeKB,
		AllowUnencrypted: opts.AllowUnencrypted, Basic: opts.Basic, Certificate: opts.Certificate,
		CertMappings: []CertMapping{mapping}, FindCert: srv.findCert, IdleTimeout: opts.IdleTimeout,
		Run: d.process(srv), Knobs: l.Knobs, Counters: srv.Counters})
}

// listenServer issues a server's certificate from the enterprise CA and
// opens its listeners: WinRM over HTTP and HTTPS, the web services, and SIP
// over TLS; Info says how to reach them.
func (l *Lab) listenServer(i int, srv *Server, entRoot *tlab.Issued, now time.Time) error {
	d := l.Deployment
	names := []string{srv.FQDN, srv.Pool}
	leaf, err := tlab.Issue(tlab.Spec{CommonName: srv.FQDN, DNSNames: names, NotBefore: now.AddDate(0, -1, 0), NotAfter: now.AddDate(1, 0, 0), Key: tlab.Key(2048, 5+i%3)}, entRoot)
	if err != nil {
		return err
	}
	tlsCert := tls.Certificate{Certificate: [][]byte{leaf.DER()}, PrivateKey: leaf.Key}
	httpPort, err := l.serve(srv.FQDN+":5985", srv.WinRM.Server(), nil)
	if err != nil {
		return err
	}
	// The HTTPS listener asks for a client certificate and lets the
	// WinRM service decide (certificate authentication, when it is on).
	httpsPort, err := l.serve(srv.FQDN+":5986", srv.WinRM.Server(), l.schannel(&tls.Config{Certificates: []tls.Certificate{tlsCert}, ClientAuth: tls.RequestClientCert}))
	if err != nil {
		return err
	}
	web := &http.Server{Handler: l.webHandler(srv), ReadHeaderTimeout: 10 * time.Second}
	webPort, err := l.serve(srv.FQDN+":443", web, l.schannel(&tls.Config{Certificates: []tls.Certificate{tlsCert}}))
	if err != nil {
		return err
	}
	extPort, err := l.serve(srv.FQDN+":4443", &http.Server{Handler: l.webHandler(srv), ReadHeaderTimeout: 10 * time.Second}, l.schannel(&tls.Config{Certificates: []tls.Certificate{tlsCert}}))
	if err != nil {
		return err
	}
	sipPort, err := l.serveSIP(srv.FQDN+":5061", l.schannel(&tls.Config{Certificates: []tls.Certificate{tlsCert}}))
	if err != nil {
		return err
	}
	l.Info.Servers = append(l.Info.Servers, ServerInfo{FQDN: srv.FQDN, Role: srv.Role, Pool: srv.Pool, Site: srv.Site,
		WinRMURL: "http://" + srv.FQDN + ":5985/wsman", WinRMHTTPSURL: "https://" + srv.FQDN + ":5986/wsman",
		WebURL: "https://" + srv.FQDN + "/"})
	for _, m := range [][2]int{{5985, httpPort}, {5986, httpsPort}, {443, webPort}, {4443, extPort}, {5061, sipPort}} {
		l.Info.Resolve = append(l.Info.Resolve, srv.FQDN+":"+strconv.Itoa(m[0])+":127.0.0.1:"+strconv.Itoa(m[1]))
		// The pool's name reaches its first server, as a load balancer
		// or DNS round robin would.
		if srv.Pool != srv.FQDN && d.pool(srv.Pool).Computers[0] == srv.FQDN && m[0] != 5985 && m[0] != 5986 {
			l.Info.Resolve = append(l.Info.Resolve, srv.Pool+":"+strconv.Itoa(m[0])+":127.0.0.1:"+strconv.Itoa(m[1]))
		}
	}
	return nil
}

// quietLog drops the HTTP servers' own log lines (a port probe that closes
// without a handshake is not news).
var quietLog = log.New(io.Discard, "", 0)

// listen opens a named loopback listener, on the port it had before the
// restart when there is one.
func (l *Lab) listen(name string) (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(l.ports[name]))
	if err != nil {
		return nil, fmt.Errorf("listening for %s: %w", name, err)
	}
	l.ports[name] = ln.Addr().(*net.TCPAddr).Port
	return ln, nil
}

func (l *Lab) serve(name string, srv *http.Server, cfg *tls.Config) (int, error) {
	srv.ErrorLog = quietLog
	ln, err := l.listen(name)
	if err != nil {
		return 0, err
	}
	l.listeners = append(l.listeners, ln)
	l.servers = append(l.servers, srv)
	if cfg != nil {
		srv.TLSConfig = cfg
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		ln = tls.NewListener(ln, cfg)
	}
	l.wg.Add(1)
	go func() { defer l.wg.Done(); srv.Serve(ln) }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// serveSIP listens for SIP over TLS: it completes the handshake and closes,
// which is all a reachability check can see.
func (l *Lab) serveSIP(name string, cfg *tls.Config) (int, error) {
	ln, err := l.listen(name)
	if err != nil {
		return 0, err
	}
	l.listeners = append(l.listeners, ln)
	tln := tls.NewListener(ln, cfg)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			c, err := tln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// webHandler answers the pool's web services with a Date header shifted by
// the clock-skew knob.
func (l *Lab) webHandler(srv *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(l.Knobs.ClockSkew()).UTC().Format(http.TimeFormat))
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "Lync web services on %s (lynctrust lab)\n", srv.FQDN)
	})
}

// ClientUPN is the user principal name in the lab's client certificate.
const ClientUPN = "lynctrust@lab.test"

// startKDC runs a KDC for the domain with every domain account and every
// server's HTTP/FQDN principal, and gives each server its own key.
func (l *Lab) startKDC(stateDir string) error {
	d := l.Deployment
	dir := filepath.Join(stateDir, "kdc")
	os.RemoveAll(dir) // a new realm each start; the passwords come from the lab
	users := map[string]string{}
	for _, a := range d.Accounts {
		users[a.User] = a.Password
	}
	var names []string
	for _, srv := range d.Servers {
		names = append(names, srv.FQDN)
	}
	realm := strings.ToUpper(d.Domain.DNS)
	kdc, err := StartKDC(dir, realm, users, names)
	if err != nil {
		return err
	}
	l.kdc = kdc
	kt, err := kdc.Keytab()
	if err != nil {
		return err
	}
	for _, srv := range d.Servers {
		srv.WinRM.cfg.Kerberos = &Kerberos{Realm: realm, SPN: "HTTP/" + strings.ToLower(srv.FQDN), Keytab: kt}
	}
	l.Info.Realm, l.Info.Krb5Conf = realm, kdc.Krb5Conf
	return nil
}

// KerberosImpostor makes every server answer Kerberos without the AP-REP
// that proves it, as a man in the middle would.
func (l *Lab) KerberosImpostor(on bool) {
	for _, srv := range l.Deployment.Servers {
		if k := srv.WinRM.cfg.Kerberos; k != nil {
			k.Impostor.Store(on)
		}
	}
}

// KDC is the lab's Kerberos KDC, or nil.
func (l *Lab) KDC() *KDC { return l.kdc }

// Server finds a server of the deployment.
func (l *Lab) Server(fqdn string) *Server { return l.Deployment.Server(fqdn) }

// Close stops everything the lab started and removes its temporary files.
func (l *Lab) Close() {
	for _, s := range l.servers {
		s.Close()
	}
	for _, ln := range l.listeners {
		ln.Close()
	}
	l.wg.Wait()
	if l.kdc != nil {
		l.kdc.Close()
	}
	if l.Exchange != nil {
		l.Exchange.Close()
	}
	if l.tmpDir != "" {
		os.RemoveAll(l.tmpDir)
	}
}

// Admin returns the administrator account's user name (DOMAIN\user) and
// password: lyncadmin, or the name Options.AdminUser gave it.
func (l *Lab) Admin() (string, string) { return l.Account(l.Deployment.Accounts[0].User) }

// Account returns a lab account's user name (DOMAIN\user) and password.
func (l *Lab) Account(user string) (string, string) {
	for _, a := range l.Deployment.Accounts {
		if strings.EqualFold(a.User, user) {
			return l.Deployment.Domain.NetBIOS + `\` + a.User, a.Password
		}
	}
	return "", ""
}

// Counters sums the counters of every server.
func (l *Lab) Counters() CountersSnapshot {
	var t CountersSnapshot
	for _, s := range l.Deployment.Servers {
		c := s.Counters.Snapshot()
		t.Requests += c.Requests
		t.Handshakes += c.Handshakes
		t.Shells += c.Shells
		t.Commands += c.Commands
		t.ModuleImports += c.ModuleImports
		t.Writes += c.Writes
	}
	return t
}

func (l *Lab) writeInfo(dir string) error {
	b, err := json.MarshalIndent(l.Info, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "lab.json"), append(b, '\n'), 0o600)
}

// Dial connects the lab's names to its loopback listeners, as lynctrust's
// --resolve HOST:PORT:ADDR[:PORT] mappings (Info.Resolve) do: for Go
// clients of the lab, in tests and benchmarks.
func (l *Lab) Dial() netx.DialFunc {
	m := map[string]string{}
	for _, r := range l.Info.Resolve {
		p := strings.SplitN(r, ":", 3)
		to := p[2]
		if _, _, err := net.SplitHostPort(to); err != nil {
			to = net.JoinHostPort(to, p[1])
		}
		m[p[0]+":"+p[1]] = to
	}
	d := &net.Dialer{}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := m[addr]; ok {
			addr = to
		}
		return d.DialContext(ctx, network, addr)
	}
}
