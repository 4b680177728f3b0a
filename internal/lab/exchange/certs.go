// Package lab is the simulated Exchange of lynctrust's built-in lab: a
// certificate factory that can sign with the weak hashes real deployments still
// carry (MD2, MD4, MD5, SHA-1), and TLS endpoints that send exactly the chain
// they are given, with AIA served over HTTP.
package exchange

import (
	"bytes"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// Hash is the digest a certificate is signed with.
type Hash string

// The hashes the factory signs with.
const (
	SHA256 Hash = "SHA256"
	SHA1   Hash = "SHA1"
	MD5    Hash = "MD5"
	MD4    Hash = "MD4"
	MD2    Hash = "MD2"
)

// Issued is a certificate with its key.
type Issued struct {
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
}

// DER is the certificate's encoding.
func (i *Issued) DER() []byte { return i.Cert.Raw }

var (
	keyMu   sync.Mutex
	keyPool = map[int][]*rsa.PrivateKey{}
)

// Key returns the n-th key of the given size. Keys are generated once per
// process and shared, because RSA key generation dominates test time.
func Key(bits, n int) *rsa.PrivateKey {
	keyMu.Lock()
	defer keyMu.Unlock()
	for len(keyPool[bits]) <= n {
		keyPool[bits] = append(keyPool[bits], nil)
	}
	if keyPool[bits][n] == nil {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(fmt.Sprintf("generating an RSA key: %v", err))
		}
		keyPool[bits][n] = k
	}
	return keyPool[bits][n]
}

// Spec says what to issue.
type Spec struct {
	CommonName string
	DNSNames   []string
	IsCA       bool
	NotBefore  time.Time
	NotAfter   time.Time
	Hash       Hash   // SHA256 when empty
	AIA        string // caIssuers URL
	Key        *rsa.PrivateKey
	// ExtKeyUsage of a leaf; Server Authentication when empty.
	ExtKeyUsage []x509.ExtKeyUsage
	// Extensions are added as they are (a subject alternative name with a
	// UPN, for a client certificate).
	Extensions []pkix.Extension
}

var serial int64 = 1000

// Serial is the last serial number issued.
func Serial() int64 { keyMu.Lock(); defer keyMu.Unlock(); return serial }

// SetSerial makes the next certificate's serial n+1: with the same keys,
// clock and order, the lab issues the same certificates again.
func SetSerial(n int64) { keyMu.Lock(); serial = n; keyMu.Unlock() }

// Keys lists the generated keys as PKCS#1 PEM, by "bits/n", to save them.
func Keys() map[string]string {
	keyMu.Lock()
	defer keyMu.Unlock()
	out := map[string]string{}
	for bits, ks := range keyPool {
		for n, k := range ks {
			if k == nil {
				continue
			}
			out[fmt.Sprintf("%d/%d", bits, n)] = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
		}
	}
	return out
}

// LoadKeys puts saved keys back in the pool, before any is generated.
func LoadKeys(saved map[string]string) error {
	keyMu.Lock()
	defer keyMu.Unlock()
	for name, p := range saved {
		var bits, n int
		if _, err := fmt.Sscanf(name, "%d/%d", &bits, &n); err != nil {
			return fmt.Errorf("key %q: %w", name, err)
		}
		blk, _ := pem.Decode([]byte(p))
		if blk == nil {
			return fmt.Errorf("key %q is not PEM", name)
		}
		k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return fmt.Errorf("key %q: %w", name, err)
		}
		for len(keyPool[bits]) <= n {
			keyPool[bits] = append(keyPool[bits], nil)
		}
		keyPool[bits][n] = k
	}
	return nil
}

// Issue makes a certificate for spec, signed by parent (self-signed when parent
// is nil). Weak hashes follow the recipe of tls-facts: sign with SHA-256,
// patch the algorithm OID in the TBS and outer AlgorithmIdentifier, and re-sign
// with MD5 or SHA-1; MD2 and MD4 keep the SHA-256 signature bytes, since no
// implementation can make or check them.
func Issue(spec Spec, parent *Issued) (*Issued, error) {
	if spec.Key == nil {
		return nil, fmt.Errorf("spec %q has no key", spec.CommonName)
	}
	keyMu.Lock()
	serial++
	sn := big.NewInt(serial)
	keyMu.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: spec.CommonName, Organization: []string{"lynctrust lab"}},
		NotBefore:             spec.NotBefore,
		NotAfter:              spec.NotAfter,
		DNSNames:              spec.DNSNames,
		BasicConstraintsValid: true,
		IsCA:                  spec.IsCA,
	}
	if spec.IsCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		if len(spec.ExtKeyUsage) > 0 {
			tmpl.ExtKeyUsage = spec.ExtKeyUsage
		}
	}
	tmpl.ExtraExtensions = spec.Extensions
	if spec.AIA != "" {
		tmpl.IssuingCertificateURL = []string{spec.AIA}
	}
	signer, parentCert := spec.Key, tmpl
	if parent != nil {
		signer, parentCert = parent.Key, parent.Cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &spec.Key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("issuing %s: %w", spec.CommonName, err)
	}
	if spec.Hash != "" && spec.Hash != SHA256 {
		if der, err = weaken(der, spec.Hash, signer); err != nil {
			return nil, fmt.Errorf("issuing %s with %s: %w", spec.CommonName, spec.Hash, err)
		}
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", spec.CommonName, err)
	}
	return &Issued{Cert: c, Key: spec.Key}, nil
}

var (
	oidSHA256RSA = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b}
	weakOIDByte  = map[Hash]byte{MD2: 0x02, MD4: 0x03, MD5: 0x04, SHA1: 0x05}
)

func weaken(der []byte, h Hash, signer *rsa.PrivateKey) ([]byte, error) {
	var cert struct {
		TBS    asn1.RawValue
		SigAlg pkix.AlgorithmIdentifier
		Sig    asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &cert); err != nil {
		return nil, err
	}
	weakOID := append([]byte(nil), oidSHA256RSA...)
	weakOID[len(weakOID)-1] = weakOIDByte[h]
	tbs := bytes.Replace(cert.TBS.FullBytes, oidSHA256RSA, weakOID, 1)
	if bytes.Equal(tbs, cert.TBS.FullBytes) {
		return nil, fmt.Errorf("no sha256WithRSAEncryption OID in the TBS")
	}
	cert.TBS = asn1.RawValue{FullBytes: tbs}
	cert.SigAlg.Algorithm = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, int(weakOIDByte[h])}
	switch h {
	case MD5:
		sum := md5.Sum(tbs)
		sig, err := rsa.SignPKCS1v15(rand.Reader, signer, crypto.MD5, sum[:])
		if err != nil {
			return nil, err
		}
		cert.Sig = asn1.BitString{Bytes: sig, BitLength: len(sig) * 8}
	case SHA1:
		sum := sha1.Sum(tbs)
		sig, err := rsa.SignPKCS1v15(rand.Reader, signer, crypto.SHA1, sum[:])
		if err != nil {
			return nil, err
		}
		cert.Sig = asn1.BitString{Bytes: sig, BitLength: len(sig) * 8}
	}
	return asn1.Marshal(cert)
}
