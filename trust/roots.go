package trust

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"

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
// (src/crypto/x509/root_linux.go).
var certFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// SystemRoots lists the roots this machine trusts, each tagged with where it
// came from: on Windows the ROOT, AuthRoot and CA stores; elsewhere the first
// bundle file found (SSL_CERT_FILE and SSL_CERT_DIR override, as for Go), and
// the embedded Mozilla roots when the system has none. Unlike x509.SystemCertPool
// it returns the certificates themselves, so paths can be listed and labelled.
func SystemRoots() []StoreCert {
	if roots := platformRoots(); len(roots) > 0 {
		return roots
	}
	return MozillaRoots()
}

// MozillaRoots are the roots of golang.org/x/crypto/x509roots/fallback.
func MozillaRoots() []StoreCert {
	var out []StoreCert
	for r := range bundle.Roots() {
		if c, err := x509.ParseCertificate(r.Certificate); err == nil {
			out = append(out, StoreCert{Cert: c, Store: StoreMozilla})
		}
	}
	return out
}

// unixRoots reads the bundle files as crypto/x509 does on Unix systems.
func unixRoots() []StoreCert {
	var out []StoreCert
	files := certFiles
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		files = []string{f}
	}
	for _, f := range files {
		if cs := readCertFile(f); len(cs) > 0 {
			out = append(out, cs...)
			break
		}
	}
	dirs := []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}
	if d := os.Getenv("SSL_CERT_DIR"); d != "" {
		dirs = strings.Split(d, ":")
	}
	seen := map[string]bool{}
	for _, c := range out {
		seen[string(c.Cert.Raw)] = true
	}
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			// Only the hashed links (e.g. 3513523f.0) that c_rehash makes, as
			// crypto/x509 reads them; the bundle file itself was read above.
			name := e.Name()
			if len(name) < 10 || name[8] != '.' {
				continue
			}
			for _, c := range readCertFile(filepath.Join(d, name)) {
				if !seen[string(c.Cert.Raw)] {
					seen[string(c.Cert.Raw)] = true
					out = append(out, c)
				}
			}
		}
	}
	return out
}

func readCertFile(path string) []StoreCert {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	cs, err := ParseCertificates(data)
	if err != nil {
		return nil
	}
	out := make([]StoreCert, len(cs))
	for i, c := range cs {
		out[i] = StoreCert{Cert: c, Store: path}
	}
	return out
}
