package trust

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// Root store names, as provenance labels say them.
const (
	StoreSystemBundle = "system bundle"
	StoreMozilla      = "embedded Mozilla roots"
)

// StoreCert is a certificate from a trust store, with the store's name.
type StoreCert struct {
	Cert  *x509.Certificate
	Store string // e.g. "/etc/ssl/certs/ca-certificates.crt", "Windows ROOT"
	// Intermediate marks a store of intermediates (Windows' CA store): its
	// certificates help build paths but do not end them as trusted.
	Intermediate bool
}

// The bundle files crypto/x509 reads on Linux and the BSDs, in its order
// (src/crypto/x509/root_linux.go), and its directories of hashed links.
var (
	certFiles = []string{
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem",
		"/etc/pki/tls/cacert.pem",
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
		"/etc/ssl/cert.pem",
	}
	certDirs = []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}
)

// RootStore is a machine's trust store indexed by subject name. Paths only
// ever ask for the issuers of the certificates on them, so a certificate is
// parsed when its subject is asked for, not before: reading and parsing a
// whole Linux store (the bundle and every hashed link) cost more than the
// TLS handshake it serves. A RootStore is for one goroutine at a time.
type RootStore struct {
	bySubject map[string][]storeDER
	// dirs are directories of OpenSSL hashed links (c_rehash), looked up
	// by the subject's hash as OpenSSL does.
	dirs   []string
	parsed map[string][]StoreCert
}

type storeDER struct {
	der          []byte
	store        string
	intermediate bool
}

// newRootStore indexes ders by subject; the first copy of a certificate wins.
func newRootStore(ders []storeDER, dirs []string) *RootStore {
	s := &RootStore{bySubject: map[string][]storeDER{}, dirs: dirs, parsed: map[string][]StoreCert{}}
	seen := map[string]bool{}
	for _, d := range ders {
		subject, ok := rawSubject(d.der)
		if !ok || seen[string(d.der)] {
			continue
		}
		seen[string(d.der)] = true
		s.bySubject[string(subject)] = append(s.bySubject[string(subject)], d)
	}
	return s
}

// Lookup returns the store's certificates whose subject is exactly subject
// (DER), parsing them on first use.
func (s *RootStore) Lookup(subject []byte) []StoreCert {
	if s == nil {
		return nil
	}
	if out, ok := s.parsed[string(subject)]; ok {
		return out
	}
	out := []StoreCert{}
	seen := map[string]bool{}
	add := func(d storeDER) {
		if seen[string(d.der)] {
			return
		}
		seen[string(d.der)] = true
		if c, err := x509.ParseCertificate(d.der); err == nil && string(c.RawSubject) == string(subject) {
			out = append(out, StoreCert{Cert: c, Store: d.store, Intermediate: d.intermediate})
		}
	}
	for _, d := range s.bySubject[string(subject)] {
		add(d)
	}
	for _, d := range hashedLinks(s.dirs, subject) {
		add(d)
	}
	s.parsed[string(subject)] = out
	return out
}

// SystemRoots is the store of the roots this machine trusts, each tagged
// with where it came from: on Windows the ROOT, AuthRoot and CA stores;
// elsewhere the first bundle file found and the hashed links beside it
// (SSL_CERT_FILE and SSL_CERT_DIR override, as for Go), and the embedded
// Mozilla roots when the system has none. Unlike x509.SystemCertPool it
// gives the certificates themselves, so paths can be listed and labelled.
func SystemRoots() *RootStore {
	if ders, dirs := platformRoots(); len(ders) > 0 || hasHashedLinks(dirs) {
		return newRootStore(ders, dirs)
	}
	return newRootStore(mozillaDERs(), nil)
}

// hasHashedLinks reports whether a directory holds a hashed link (a name
// such as 3513523f.0): a store of links alone, with no bundle beside it, is
// still the machine's store.
func hasHashedLinks(dirs []string) bool {
	for _, d := range dirs {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if hashedLinkName(e.Name()) {
				return true
			}
		}
	}
	return false
}

// hashedLinkName matches c_rehash's names for certificates: eight hex
// digits, a dot and a number.
func hashedLinkName(name string) bool {
	if len(name) < 10 || name[8] != '.' {
		return false
	}
	for i, c := range name {
		hex := '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
		if (i < 8 && !hex) || (i > 8 && !('0' <= c && c <= '9')) {
			return false
		}
	}
	return true
}

func mozillaDERs() []storeDER {
	var out []storeDER
	for r := range bundle.Roots() {
		out = append(out, storeDER{der: r.Certificate, store: StoreMozilla})
	}
	return out
}

// unixRoots reads the first bundle file found as crypto/x509 does on Unix
// systems, and names the directories whose hashed links it also reads.
func unixRoots() ([]storeDER, []string) {
	files, dirs := certFiles, certDirs
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		files = []string{f}
	}
	if d := os.Getenv("SSL_CERT_DIR"); d != "" {
		dirs = strings.Split(d, ":")
	}
	for _, f := range files {
		if ders := readPEMFile(f); len(ders) > 0 {
			return ders, dirs
		}
	}
	return nil, dirs
}

// hashedLinks reads the certificates OpenSSL would find for subject in
// dirs: HASH.0, HASH.1 and so on until one is missing.
func hashedLinks(dirs []string, subject []byte) []storeDER {
	if len(dirs) == 0 {
		return nil
	}
	h, ok := subjectHash(subject)
	if !ok {
		return nil
	}
	var out []storeDER
	for _, d := range dirs {
		for i := 0; ; i++ {
			path := filepath.Join(d, fmt.Sprintf("%08x.%d", h, i))
			data, err := readStoreFile(path)
			if err != nil {
				break
			}
			out = append(out, pemDERs(data, path)...)
		}
	}
	return out
}

// readPEMFile returns the certificates of a PEM file, unparsed.
func readPEMFile(path string) []storeDER {
	data, err := readStoreFile(path)
	if err != nil {
		return nil
	}
	return pemDERs(data, path)
}

// maxStoreFile bounds one file of a store: Debian's bundle of every
// Mozilla root is about 220 KB.
const maxStoreFile = 16 << 20

// readStoreFile reads a regular file of at most maxStoreFile bytes: a FIFO
// or a link to a device in a store directory is not read.
// (Checked before it is opened: opening a FIFO waits for a writer.)
func readStoreFile(path string) ([]byte, error) {
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() || fi.Size() > maxStoreFile {
		return nil, fmt.Errorf("%s: not a regular file of at most %d bytes", path, maxStoreFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxStoreFile))
}

func pemDERs(data []byte, store string) []storeDER {
	var out []storeDER
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out
		}
		if b.Type == "CERTIFICATE" || b.Type == "TRUSTED CERTIFICATE" {
			// OpenSSL's TRUSTED CERTIFICATE is the certificate followed
			// by its trust settings: the first element is the certificate.
			der := cryptobyte.String(b.Bytes)
			var cert cryptobyte.String
			if der.ReadASN1Element(&cert, cbasn1.SEQUENCE) {
				out = append(out, storeDER{der: cert, store: store})
			}
		}
	}
}

// rawSubject finds a certificate's subject name (DER) without parsing the
// rest of it.
func rawSubject(der []byte) ([]byte, bool) {
	in := cryptobyte.String(der)
	var cert, tbs, subject cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!tbs.SkipASN1(cbasn1.INTEGER) || // serial number
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // signature algorithm
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // issuer
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // validity
		!tbs.ReadASN1Element(&subject, cbasn1.SEQUENCE) {
		return nil, false
	}
	return subject, true
}
