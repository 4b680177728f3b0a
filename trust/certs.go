package trust

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/smallstep/pkcs7"
)

// Thumbprint is the certificate's SHA-1 thumbprint exactly as Windows shows it
// in PowerShell's Cert: drive: 40 uppercase hex digits over the DER bytes.
func Thumbprint(c *x509.Certificate) string {
	sum := sha1.Sum(c.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// SigAlg is a certificate's signature algorithm, read from the OID in the DER
// because crypto/x509 reports MD2 and MD4 as unknown.
type SigAlg struct {
	OID  string `json:"oid"`
	Name string `json:"name"`
	Hash string `json:"hash"` // MD2, MD4, MD5, SHA1, SHA256, … or "" when unknown
}

// Weak hashes, by how bad they are.
const (
	hashStrong = iota
	hashSHA1
	hashBroken // MD2, MD4, MD5
)

func (s SigAlg) weakness() int {
	switch s.Hash {
	case "MD2", "MD4", "MD5":
		return hashBroken
	case "SHA1":
		return hashSHA1
	}
	return hashStrong
}

var sigAlgs = map[string]SigAlg{
	"1.2.840.113549.1.1.2":  {Name: "md2WithRSAEncryption", Hash: "MD2"},
	"1.2.840.113549.1.1.3":  {Name: "md4WithRSAEncryption", Hash: "MD4"},
	"1.2.840.113549.1.1.4":  {Name: "md5WithRSAEncryption", Hash: "MD5"},
	"1.2.840.113549.1.1.5":  {Name: "sha1WithRSAEncryption", Hash: "SHA1"},
	"1.3.14.3.2.29":         {Name: "sha1WithRSASignature", Hash: "SHA1"},
	"1.2.840.10040.4.3":     {Name: "dsa-with-sha1", Hash: "SHA1"},
	"1.2.840.10045.4.1":     {Name: "ecdsa-with-SHA1", Hash: "SHA1"},
	"1.2.840.113549.1.1.11": {Name: "sha256WithRSAEncryption", Hash: "SHA256"},
	"1.2.840.113549.1.1.12": {Name: "sha384WithRSAEncryption", Hash: "SHA384"},
	"1.2.840.113549.1.1.13": {Name: "sha512WithRSAEncryption", Hash: "SHA512"},
	"1.2.840.113549.1.1.14": {Name: "sha224WithRSAEncryption", Hash: "SHA224"},
	"1.2.840.113549.1.1.10": {Name: "rsassa-pss", Hash: "PSS"},
	"1.2.840.10045.4.3.2":   {Name: "ecdsa-with-SHA256", Hash: "SHA256"},
	"1.2.840.10045.4.3.3":   {Name: "ecdsa-with-SHA384", Hash: "SHA384"},
	"1.2.840.10045.4.3.4":   {Name: "ecdsa-with-SHA512", Hash: "SHA512"},
	"1.3.101.112":           {Name: "ed25519", Hash: "Ed25519"},
}

// SignatureAlgorithm reads the outer signatureAlgorithm OID of a DER certificate.
func SignatureAlgorithm(c *x509.Certificate) SigAlg {
	var outer struct {
		TBS    asn1.RawValue
		SigAlg pkix.AlgorithmIdentifier
		Sig    asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.Raw, &outer); err != nil {
		return SigAlg{Name: "unparseable"}
	}
	oid := outer.SigAlg.Algorithm.String()
	if s, ok := sigAlgs[oid]; ok {
		s.OID = oid
		return s
	}
	return SigAlg{OID: oid, Name: "unknown (" + oid + ")"}
}

// KeyInfo describes a public key: "RSA 2048", "ECDSA P-256", "Ed25519".
func KeyInfo(c *x509.Certificate) (desc string, rsaBits int) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen()), k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name, 0
	case ed25519.PublicKey:
		return "Ed25519", 0
	}
	return c.PublicKeyAlgorithm.String(), 0
}

// ParseCertificates reads certificates in PEM (any number), DER or PKCS#7
// (.p7b/.p7c, DER or PEM), the forms AIA URLs and exported CA files come in.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	// Only text is trimmed: a DER certificate may end in a byte that looks
	// like white space.
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty file")
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		var out []*x509.Certificate
		rest := data
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			switch block.Type {
			case "CERTIFICATE", "TRUSTED CERTIFICATE":
				c, err := x509.ParseCertificate(block.Bytes)
				if err != nil {
					return nil, fmt.Errorf("PEM certificate %d: %w", len(out)+1, err)
				}
				out = append(out, c)
			case "PKCS7", "CERTIFICATE CHAIN":
				cs, err := parsePKCS7(block.Bytes)
				if err != nil {
					return nil, err
				}
				out = append(out, cs...)
			}
		}
		if len(out) == 0 {
			return nil, errors.New("no CERTIFICATE or PKCS7 block in the PEM data")
		}
		return out, nil
	}
	if c, err := x509.ParseCertificate(data); err == nil {
		return []*x509.Certificate{c}, nil
	}
	if cs, err := parsePKCS7(data); err == nil {
		return cs, nil
	}
	return nil, errors.New("not a certificate: want PEM, DER or PKCS#7")
}

func parsePKCS7(der []byte) ([]*x509.Certificate, error) {
	p, err := pkcs7.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("PKCS#7: %w", err)
	}
	if len(p.Certificates) == 0 {
		return nil, errors.New("PKCS#7 holds no certificates")
	}
	return p.Certificates, nil
}

var (
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidUPN            = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}
)

// UPNs returns the user principal names in a certificate's subject
// alternative name (otherName 1.3.6.1.4.1.311.20.2.3), which is what WinRM
// matches a mapping's Subject against.
func UPNs(c *x509.Certificate) []string {
	var out []string
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidSubjectAltName) {
			continue
		}
		var names []asn1.RawValue
		if _, err := asn1.Unmarshal(e.Value, &names); err != nil {
			return nil
		}
		for _, n := range names {
			if n.Class != asn1.ClassContextSpecific || n.Tag != 0 {
				continue
			}
			// otherName is [0] IMPLICIT SEQUENCE { type-id OID, [0] EXPLICIT value }.
			var id asn1.ObjectIdentifier
			rest, err := asn1.Unmarshal(n.Bytes, &id)
			if err != nil || !id.Equal(oidUPN) {
				continue
			}
			var wrapped asn1.RawValue
			if _, err := asn1.Unmarshal(rest, &wrapped); err != nil || wrapped.Class != asn1.ClassContextSpecific || wrapped.Tag != 0 {
				continue
			}
			var upn string
			if _, err := asn1.UnmarshalWithParams(wrapped.Bytes, &upn, "utf8"); err == nil {
				out = append(out, upn)
			}
		}
	}
	return out
}
