package lab

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/trust"
)

// certAuthScheme is the whole Authorization header of a client that signs in
// with its TLS client certificate (WS-Management's mutual HTTPS profile; what
// pywinrm's certificate transport and masterzen's ClientAuthRequest send).
const certAuthScheme = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"

// CertMapping is one entry of WSMan:\localhost\ClientCertificate
// (MS-WSMV 2.2.4.3 CertMappingType): client certificates signed by Issuer
// whose subject matches Subject sign in as the local account UserName.
type CertMapping struct {
	Issuer   string // thumbprint of the certificate that signed the client certificate
	Subject  string // the UPN to match; one '*' at the start or the end matches any run of characters
	URI      string // the resource URI prefix; "*" for all
	UserName string // a local account of the server
}

var (
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidUPN            = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}
)

// UPNExtension builds a subject alternative name extension holding one UPN,
// for the lab's client certificates.
func UPNExtension(upn string) (pkix.Extension, error) {
	v, err := asn1.MarshalWithParams(upn, "utf8")
	if err != nil {
		return pkix.Extension{}, err
	}
	id, err := asn1.Marshal(oidUPN)
	if err != nil {
		return pkix.Extension{}, err
	}
	value, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: v})
	if err != nil {
		return pkix.Extension{}, err
	}
	other := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(id, value...)}
	seq, err := asn1.Marshal([]asn1.RawValue{other})
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: oidSubjectAltName, Value: seq}, nil
}

// matchSubject applies a mapping's Subject pattern: one '*' at the start or
// the end, case-insensitive.
func matchSubject(pattern, subject string) bool {
	p, s := strings.ToLower(pattern), strings.ToLower(subject)
	switch {
	case p == "*":
		return true
	case strings.HasPrefix(p, "*"):
		return strings.HasSuffix(s, p[1:])
	case strings.HasSuffix(p, "*"):
		return strings.HasPrefix(s, p[:len(p)-1])
	}
	return p == s
}

var errNoMapping = errors.New("no client certificate mapping matches")

// certificateAccount signs a client in by its TLS client certificate: the
// certificate must be for client authentication, in its validity period,
// signed by the issuer a mapping names (found in the server's stores), with
// a UPN the mapping's Subject matches; the mapping's local account is the
// one the request runs as.
func (s *WinRM) certificateAccount(cs *tls.ConnectionState) (*Account, error) {
	if cs == nil || !s.cfg.Certificate {
		return nil, errors.New("certificate authentication is off (Service/Auth/Certificate=false) or not over HTTPS")
	}
	if len(cs.PeerCertificates) == 0 {
		return nil, errors.New("the client sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	now := time.Now()
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("the client certificate is not valid now (%s to %s)", leaf.NotBefore, leaf.NotAfter)
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		return nil, errors.New("the client certificate is not for Client Authentication (1.3.6.1.5.5.7.3.2)")
	}
	upns := trust.UPNs(leaf)
	if len(upns) == 0 {
		return nil, errors.New("the client certificate has no UPN in its subject alternative name")
	}
	for _, m := range s.cfg.CertMappings {
		if m.URI != "*" && !strings.HasPrefix(resourceCmd, strings.TrimSuffix(m.URI, "*")) {
			continue
		}
		if !slices.ContainsFunc(upns, func(u string) bool { return matchSubject(m.Subject, u) }) {
			continue
		}
		issuer := s.cfg.FindCert(m.Issuer)
		if issuer == nil || leaf.CheckSignatureFrom(issuer) != nil {
			continue
		}
		if a := s.local(m.UserName); a != nil {
			return a, nil
		}
	}
	return nil, errNoMapping
}
