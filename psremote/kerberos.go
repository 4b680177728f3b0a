package psremote

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Krb5ConfPath is where the Kerberos configuration comes from when the
// command line names none: KRB5_CONFIG, else /etc/krb5.conf when it exists;
// "" means none (then the realm's KDCs are looked up in DNS).
func Krb5ConfPath() string {
	if p := os.Getenv("KRB5_CONFIG"); p != "" {
		return p
	}
	if _, err := os.Stat("/etc/krb5.conf"); err == nil {
		return "/etc/krb5.conf"
	}
	return ""
}

// kerberosConfig loads krb5.conf, or without one makes the configuration a
// domain-joined Windows workstation has implicitly: the realm is the user's
// DNS domain in capitals and its KDCs are the domain controllers that DNS
// names (_kerberos._tcp.REALM SRV records, which Active Directory publishes).
func kerberosConfig(path, realm string) (*config.Config, error) {
	if path != "" {
		cfg, err := config.Load(path)
		if err != nil {
			return nil, fmt.Errorf("Kerberos configuration %s: %w", path, err)
		}
		return cfg, nil
	}
	if realm == "" {
		return nil, ErrNoRealm
	}
	cfg := config.New()
	cfg.LibDefaults.DefaultRealm = realm
	cfg.LibDefaults.DNSLookupKDC = true
	cfg.LibDefaults.UDPPreferenceLimit = 1 // TCP: AD tickets with a PAC outgrow UDP
	cfg.Realms = []config.Realm{{Realm: realm}}
	return cfg, nil
}

// kerberosPrincipal splits the user into a name and a realm: user@dns.domain
// gives DNS.DOMAIN; DOMAIN\user (a NetBIOS name, not a realm) takes the
// configuration's default realm.
func kerberosPrincipal(user string, cfg *config.Config) (name, realm string, err error) {
	if n, d, ok := strings.Cut(user, "@"); ok {
		return n, strings.ToUpper(d), nil
	}
	name, _ = splitDomain(user)
	if cfg == nil || cfg.LibDefaults.DefaultRealm == "" {
		return "", "", fmt.Errorf("%s names no realm: give the user as user@dns.domain (e.g. admin@contoso.com), or a krb5.conf with a default_realm", user)
	}
	return name, cfg.LibDefaults.DefaultRealm, nil
}

// KerberosPrincipal checks that Kerberos can start for the connection: the
// server is a name, there is a configuration (or DNS to ask), and the user
// has a realm. It returns the principal, e.g. lyncadmin@CONTOSO.COM.
func KerberosPrincipal(c Conn) (string, error) {
	if err := kerberosServerName(c); err != nil {
		return "", err
	}
	_, name, realm, err := kerberosSetup(c.User, krb5ConfOf(c))
	if err != nil {
		return "", err
	}
	return name + "@" + realm, nil
}

// kerberosServerName refuses an address: the ticket is for HTTP/FQDN.
func kerberosServerName(c Conn) error {
	if net.ParseIP(c.Host()) != nil {
		return setupError{fmt.Errorf("Kerberos needs the server's name, not an address (%s): the ticket is for HTTP/FQDN", c.Host())}
	}
	return nil
}

func krb5ConfOf(c Conn) string {
	if c.Krb5Conf != "" {
		return c.Krb5Conf
	}
	return Krb5ConfPath()
}

// kerberosSetup loads the configuration and works out the user's principal.
func kerberosSetup(user, path string) (cfg *config.Config, name, realm string, err error) {
	if _, d, ok := strings.Cut(user, "@"); ok {
		realm = strings.ToUpper(d)
	}
	if cfg, err = kerberosConfig(path, realm); err != nil {
		return nil, "", "", setupError{err}
	}
	if name, realm, err = kerberosPrincipal(user, cfg); err != nil {
		return nil, "", "", setupError{err}
	}
	return cfg, name, realm, nil
}

// signIns keeps one Kerberos sign-in per account and configuration for the
// life of the process: a fan-out to fifty Front Ends reads krb5.conf once,
// asks the KDC for one ticket-granting ticket, then for one service ticket
// per server.
var signIns = struct {
	sync.Mutex
	m map[string]*signIn
}{m: map[string]*signIn{}}

type signIn struct {
	once sync.Once
	cl   *client.Client
	err  error
}

// kerberosLogin gets (or reuses) a ticket-granting ticket for the
// connection's user.
func kerberosLogin(c Conn) (*client.Client, error) {
	if err := kerberosServerName(c); err != nil {
		return nil, err
	}
	path := krb5ConfOf(c)
	sum := sha256.Sum256([]byte(c.Password))
	key := strings.Join([]string{path, strings.ToLower(c.User), hex.EncodeToString(sum[:])}, "\x00")
	signIns.Lock()
	s := signIns.m[key]
	if s == nil {
		s = &signIn{}
		signIns.m[key] = s
	}
	signIns.Unlock()
	s.once.Do(func() {
		cfg, name, realm, err := kerberosSetup(c.User, path)
		if err != nil {
			s.err = err
			return
		}
		// Active Directory requires pre-authentication: send it at once.
		cl := client.NewWithPassword(name, realm, c.Password, cfg, client.DisablePAFXFAST(true), client.AssumePreAuthentication(true))
		if err := cl.Login(); err != nil {
			s.err = &KerberosError{Realm: realm, Err: err}
			return
		}
		s.cl = cl
	})
	return s.cl, s.err
}

// kerberosToken makes the SPNEGO token for HTTP/host, asking for mutual
// authentication, and returns what the server's AP-REP must echo.
func kerberosToken(cl *client.Client, host string) (string, *apReqSent, error) {
	tkt, key, err := cl.GetServiceTicket("HTTP/" + strings.ToLower(host))
	if err != nil {
		return "", nil, &KerberosError{Realm: cl.Credentials.Realm(), Err: err}
	}
	tok, err := spnego.NewKRB5TokenAPREQ(cl, tkt, key, []int{gssapi.ContextFlagInteg, gssapi.ContextFlagConf, gssapi.ContextFlagMutual},
		[]int{flags.APOptionMutualRequired})
	if err != nil {
		return "", nil, err
	}
	// The authenticator's time is what the AP-REP must give back.
	if err := tok.APReq.DecryptAuthenticator(key); err != nil {
		return "", nil, err
	}
	mech, err := tok.Marshal()
	if err != nil {
		return "", nil, err
	}
	st := spnego.SPNEGOToken{Init: true, NegTokenInit: spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{gssapi.OIDKRB5.OID()}, MechTokenBytes: mech}}
	b, err := st.Marshal()
	if err != nil {
		return "", nil, err
	}
	sent := &apReqSent{key: key, ctime: tok.APReq.Authenticator.CTime, cusec: tok.APReq.Authenticator.Cusec}
	return "Negotiate " + base64.StdEncoding.EncodeToString(b), sent, nil
}

// apReqSent is what a Kerberos request asked the server to prove.
type apReqSent struct {
	key   types.EncryptionKey
	ctime time.Time
	cusec int
}

// errNoMutual is a server that took the ticket without proving it holds
// the HTTP/ service key: something in the path answered for it.
var errNoMutual = errors.New("Kerberos: the server did not prove who it is (no valid AP-REP in its answer): mutual authentication failed")

// verify checks the server's answer (WWW-Authenticate: Negotiate TOKEN):
// an AP-REP sealed with the session key, echoing the authenticator's time.
func (a *apReqSent) verify(header string) error {
	b64, ok := strings.CutPrefix(header, "Negotiate ")
	if !ok {
		return errNoMutual
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return errNoMutual
	}
	var resp spnego.NegTokenResp
	if err := resp.Unmarshal(raw); err != nil || len(resp.ResponseToken) == 0 {
		return errNoMutual
	}
	var tok spnego.KRB5Token
	if err := tok.Unmarshal(resp.ResponseToken); err != nil || !tok.IsAPRep() {
		return errNoMutual
	}
	plain, err := crypto.DecryptEncPart(tok.APRep.EncPart, a.key, keyusage.AP_REP_ENCPART)
	if err != nil {
		return errNoMutual
	}
	var part messages.EncAPRepPart
	if err := part.Unmarshal(plain); err != nil || !part.CTime.Equal(a.ctime) || part.Cusec != a.cusec {
		return errNoMutual
	}
	return nil
}

// setupError is Kerberos that cannot start: no realm, no configuration,
// an address for a name.
type setupError struct{ error }

func (e setupError) Unwrap() error { return e.error }

// ErrNoRealm: the user names no realm and no Kerberos configuration does.
var ErrNoRealm = errors.New("no Kerberos configuration (KRB5_CONFIG, /etc/krb5.conf) and no realm in the user name")

// KerberosError is a failure to get a ticket, explained by the KDC's code.
type KerberosError struct {
	Realm string
	Err   error
}

func (e *KerberosError) Error() string {
	text := e.code()
	for _, k := range kdcErrors {
		if strings.Contains(text, k.code) {
			return "Kerberos: " + k.meaning + " (" + k.code + ")"
		}
	}
	if strings.Contains(text, "no KDCs") || strings.Contains(text, "networking_error") || strings.Contains(text, "communicat") {
		return fmt.Sprintf("Kerberos: no KDC for realm %s answered", e.Realm)
	}
	return "Kerberos: " + text
}

func (e *KerberosError) Unwrap() error { return e.Err }

// code is the error's text, with a reply the password does not decrypt
// named as the KDC would have named it had it asked for pre-authentication
// (Active Directory does by default).
func (e *KerberosError) code() string {
	text := e.Err.Error()
	if strings.Contains(text, "client password/keytab incorrect") {
		return "KDC_ERR_PREAUTH_FAILED"
	}
	return text
}

// Code is the KDC's error code (KDC_ERR_PREAUTH_FAILED, …), or "" when no
// KDC answered or the code is not one lynctrust knows.
func (e *KerberosError) Code() string {
	text := e.code()
	for _, k := range kdcErrors {
		if strings.Contains(text, k.code) {
			return k.code
		}
	}
	return ""
}

var kdcErrors = []struct{ code, meaning string }{
	{"KDC_ERR_PREAUTH_FAILED", "the domain controller refused the password"},
	{"KDC_ERR_C_PRINCIPAL_UNKNOWN", "the domain does not know this user"},
	{"KDC_ERR_S_PRINCIPAL_UNKNOWN", "the domain has no HTTP/ service name for this server"},
	{"KDC_ERR_CLIENT_REVOKED", "the account is disabled or locked out"},
	{"KDC_ERR_KEY_EXPIRED", "the password has expired"},
	{"KRB_AP_ERR_SKEW", "the clocks here and on the domain controller differ by more than five minutes"},
	{"KDC_ERR_WRONG_REALM", "the realm is not the user's"},
}
