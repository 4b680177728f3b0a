package lab

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Kerberos is a server's Kerberos acceptor: the keys of its HTTP/FQDN
// service principal, from the KDC the lab started.
type Kerberos struct {
	Realm  string
	SPN    string // HTTP/fe01.pool01.lab.test
	Keytab *keytab.Keytab
	// Impostor answers without the AP-REP that proves the server (what a
	// man in the middle without the service key would do); for tests.
	Impostor atomic.Bool
}

// isKerberosToken tells an SPNEGO or raw Kerberos token (ASN.1) from an NTLM
// message (NTLMSSP\0): both arrive under "Negotiate".
func isKerberosToken(b []byte) bool {
	return len(b) > 0 && (b[0] == 0x60 || b[0] == 0xa1)
}

// accept verifies a client's AP-REQ (SPNEGO-wrapped, or a bare Kerberos
// GSS token) against this server's key: a ticket for another server, an
// expired or replayed one, or a clock more than five minutes apart fails.
// It returns the client's user name and realm, and the reply token that
// proves the server to the client (mutual authentication: an AP-REP, inside
// SPNEGO when the client used SPNEGO).
func (k *Kerberos) accept(token []byte) (user, realm string, reply []byte, err error) {
	var st spnego.SPNEGOToken
	mech, wrapped := token, false
	if err := st.Unmarshal(token); err == nil {
		if !st.Init || len(st.NegTokenInit.MechTokenBytes) == 0 {
			return "", "", nil, errors.New("SPNEGO token without a Kerberos mechanism token")
		}
		mech, wrapped = st.NegTokenInit.MechTokenBytes, true
	}
	var kt spnego.KRB5Token
	if err := kt.Unmarshal(mech); err != nil {
		return "", "", nil, fmt.Errorf("not a Kerberos token: %w", err)
	}
	if !kt.IsAPReq() {
		return "", "", nil, errors.New("the Kerberos token is not an AP-REQ")
	}
	settings := service.NewSettings(k.Keytab, service.KeytabPrincipal(k.SPN), service.MaxClockSkew(5*time.Minute), service.DecodePAC(false))
	ok, creds, err := service.VerifyAPREQ(&kt.APReq, settings)
	if err != nil {
		return "", "", nil, err
	}
	if !ok || creds == nil {
		return "", "", nil, errors.New("the AP-REQ did not verify")
	}
	if !strings.EqualFold(creds.Domain(), k.Realm) {
		return "", "", nil, fmt.Errorf("the client is in realm %s, not %s", creds.Domain(), k.Realm)
	}
	// RFC 4120 §3.2.4: an AP-REP only when the client asked for mutual
	// authentication; else SPNEGO's bare accept-completed.
	var rep []byte
	if types.IsFlagSet(&kt.APReq.APOptions, flags.APOptionMutualRequired) && !k.Impostor.Load() {
		if rep, err = apRep(&kt.APReq); err != nil {
			return "", "", nil, err
		}
	}
	reply = rep
	if wrapped {
		mechOID := kt.OID
		if len(st.NegTokenInit.MechTypes) > 0 {
			mechOID = st.NegTokenInit.MechTypes[0] // answer in the client's own OID (MS or standard)
		}
		resp := spnego.NegTokenResp{NegState: asn1.Enumerated(spnego.NegStateAcceptCompleted), SupportedMech: mechOID, ResponseToken: rep}
		if reply, err = resp.Marshal(); err != nil {
			return "", "", nil, err
		}
	}
	return creds.UserName(), creds.Domain(), reply, nil
}

// apRep builds the GSS-API Kerberos token (RFC 4121 §4.1) that carries a
// KRB_AP_REP (RFC 4120 §5.5.2): the authenticator's time, and the
// acceptor's initial sequence number, sealed with the ticket's session key.
func apRep(req *messages.APReq) ([]byte, error) {
	var seq [4]byte
	rand.Read(seq[:])
	part := struct {
		CTime          time.Time `asn1:"generalized,explicit,tag:0"`
		Cusec          int       `asn1:"explicit,tag:1"`
		SequenceNumber int64     `asn1:"optional,explicit,tag:3"`
	}{req.Authenticator.CTime, req.Authenticator.Cusec, int64(binary.BigEndian.Uint32(seq[:])&0x3fffffff) + 1}
	b, err := asn1.Marshal(part)
	if err != nil {
		return nil, err
	}
	b = asn1tools.AddASNAppTag(b, asnAppTag.EncAPRepPart)
	enc, err := crypto.GetEncryptedData(b, req.Ticket.DecryptedEncPart.Key, keyusage.AP_REP_ENCPART, 0)
	if err != nil {
		return nil, err
	}
	rep, err := asn1.Marshal(struct {
		PVNO    int                 `asn1:"explicit,tag:0"`
		MsgType int                 `asn1:"explicit,tag:1"`
		EncPart types.EncryptedData `asn1:"explicit,tag:2"`
	}{iana.PVNO, msgtype.KRB_AP_REP, enc})
	if err != nil {
		return nil, err
	}
	rep = asn1tools.AddASNAppTag(rep, asnAppTag.APREP)
	tok, err := asn1.Marshal(gssapi.OIDKRB5.OID())
	if err != nil {
		return nil, err
	}
	tok = append(tok, 0x02, 0x00) // TOK_ID KRB_AP_REP
	return asn1tools.AddASNAppTag(append(tok, rep...), 0), nil
}
