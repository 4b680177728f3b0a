package lab

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// Kerberos is a server's Kerberos acceptor: the keys of its HTTP/FQDN
// service principal, from the KDC the lab started.
type Kerberos struct {
	Realm  string
	SPN    string // HTTP/fe01.pool01.lab.test
	Keytab *keytab.Keytab
}

// isKerberosToken tells an SPNEGO or raw Kerberos token (ASN.1) from an NTLM
// message (NTLMSSP\0): both arrive under "Negotiate".
func isKerberosToken(b []byte) bool {
	return len(b) > 0 && (b[0] == 0x60 || b[0] == 0xa1)
}

// accept verifies a client's AP-REQ (SPNEGO-wrapped, or a bare Kerberos
// GSS token) against this server's key: a ticket for another server, an
// expired or replayed one, or a clock more than five minutes apart fails.
// It returns the client's user name and realm.
func (k *Kerberos) accept(token []byte) (user, realm string, err error) {
	var st spnego.SPNEGOToken
	mech := token
	if err := st.Unmarshal(token); err == nil {
		if !st.Init || len(st.NegTokenInit.MechTokenBytes) == 0 {
			return "", "", errors.New("SPNEGO token without a Kerberos mechanism token")
		}
		mech = st.NegTokenInit.MechTokenBytes
	}
	var kt spnego.KRB5Token
	if err := kt.Unmarshal(mech); err != nil {
		return "", "", fmt.Errorf("not a Kerberos token: %w", err)
	}
	if !kt.IsAPReq() {
		return "", "", errors.New("the Kerberos token is not an AP-REQ")
	}
	settings := service.NewSettings(k.Keytab, service.KeytabPrincipal(k.SPN), service.MaxClockSkew(5*time.Minute), service.DecodePAC(false))
	ok, creds, err := service.VerifyAPREQ(&kt.APReq, settings)
	if err != nil {
		return "", "", err
	}
	if !ok || creds == nil {
		return "", "", errors.New("the AP-REQ did not verify")
	}
	if !strings.EqualFold(creds.Domain(), k.Realm) {
		return "", "", fmt.Errorf("the client is in realm %s, not %s", creds.Domain(), k.Realm)
	}
	return creds.UserName(), creds.Domain(), nil
}
