package trust

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
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

// storeDER is a certificate of a store: its DER, or the PEM block it is
// still in (bundle files), with its subject known.
type storeDER struct {
	der          []byte
	block        []byte
	subject      []byte
	store        string
	intermediate bool
}

// certificate is the certificate's DER, decoded from its PEM block if need be.
func (d storeDER) certificate() []byte {
	if d.der != nil || d.block == nil {
		return d.der
	}
	b, _ := pem.Decode(d.block)
	return certificateOf(b)
}

// certificateOf is the certificate (DER) a PEM block holds, or nil for a
// block of another type.
func certificateOf(b *pem.Block) []byte {
	if b == nil || !certificateType(b.Type) {
		return nil
	}
	return firstElement(b.Bytes)
}

// certificateType reports whether a PEM type holds a certificate.
func certificateType(t string) bool { return t == "CERTIFICATE" || t == "TRUSTED CERTIFICATE" }

// newRootStore indexes ders by subject. The first copy of a certificate
// wins; copies still in PEM are told apart when they are decoded (Lookup).
func newRootStore(ders []storeDER, dirs []string) *RootStore {
	s := &RootStore{bySubject: map[string][]storeDER{}, dirs: dirs, parsed: map[string][]StoreCert{}}
	seen := map[string]bool{}
	for _, d := range ders {
		subject, ok := d.subject, d.subject != nil
		if !ok {
			subject, ok = rawSubject(d.der)
		}
		if !ok || (d.der != nil && seen[string(d.der)]) {
			continue
		}
		if d.der != nil {
			seen[string(d.der)] = true
		}
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
		der := d.certificate()
		if der == nil || seen[string(der)] {
			return
		}
		seen[string(der)] = true
		if c, err := x509.ParseCertificate(der); err == nil && string(c.RawSubject) == string(subject) {
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
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	// As long as the file was when it was checked, however it grows since.
	data := make([]byte, fi.Size())
	n, err := io.ReadFull(f, data)
	if err == io.ErrUnexpectedEOF {
		err = nil
	}
	return data[:n], err
}

func pemDERs(data []byte, store string) []storeDER {
	var out []storeDER
	var scratch pemScratch
	for len(data) > 0 {
		block, rest, typ, clean := nextPEM(data)
		if !clean {
			// Anything but a plain block (text around it, PEM headers, a
			// BEGIN without its END, an odd type line) is pem.Decode's
			// to read, so the store holds what it always held.
			var b *pem.Block
			if b, rest = pem.Decode(data); b == nil {
				return out
			}
			if der := certificateOf(b); der != nil {
				out = append(out, storeDER{der: der, store: store})
			}
			data = rest
			continue
		}
		data = rest
		if !certificateType(typ) {
			continue
		}
		if subject, ok := scratch.subjectOfPEM(block); ok {
			out = append(out, storeDER{block: block, subject: subject, store: store})
		} else if der := (storeDER{block: block}).certificate(); der != nil {
			out = append(out, storeDER{der: der, store: store}) // a subject past the block's first lines
		}
	}
	return out
}

// nextPEM finds the next PEM block in data, from its BEGIN line to the end
// of its END line, with its type. clean says the block is plain: its BEGIN
// starts data or a line, its lines are exactly "-----BEGIN T-----" and
// "-----END T-----", and between them there is base64 and white space
// only (no headers, no second BEGIN). Only a clean block is read without
// pem.Decode; clean is false too when data holds no block at all.
func nextPEM(data []byte) (block, rest []byte, typ string, clean bool) {
	const begin, end, dashes = "-----BEGIN ", "-----END ", "-----"
	i := bytes.Index(data, []byte(begin))
	if i < 0 || (i > 0 && data[i-1] != '\n') {
		return nil, nil, "", false
	}
	data = data[i:]
	line, body, ok := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if !ok || !bytes.HasSuffix(line, []byte(dashes)) || len(line) <= len(begin)+len(dashes) {
		return nil, nil, "", false
	}
	typ = string(line[len(begin) : len(line)-len(dashes)])
	j := bytes.Index(body, []byte(end))
	if j < 0 || (j > 0 && body[j-1] != '\n') {
		return nil, nil, "", false
	}
	for _, c := range body[:j] {
		if !base64OrSpace[c] {
			return nil, nil, "", false
		}
	}
	endLine, after, _ := bytes.Cut(body[j:], []byte("\n"))
	if string(bytes.TrimSuffix(endLine, []byte("\r"))) != end+typ+dashes || strings.Contains(typ, dashes) {
		return nil, nil, "", false
	}
	n := len(data) - len(after)
	return data[:n], data[n:], typ, true
}

// base64OrSpace marks the bytes a plain PEM body holds.
var base64OrSpace = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n\r \t") {
		t[c] = true
	}
	return t
}()

// pemScratch holds the buffers subjectOfPEM reuses from block to block.
type pemScratch struct{ text, der []byte }

// subjectOfPEM reads a certificate's subject from the first lines of its
// PEM block, without decoding the rest: indexing a bundle of every root by
// subject then costs a fraction of decoding it.
func (p *pemScratch) subjectOfPEM(block []byte) ([]byte, bool) {
	_, body, ok := bytes.Cut(block, []byte("\n"))
	if !ok {
		return nil, false
	}
	const want = 1024 // base64 characters: 768 bytes, more than most subjects need
	text := p.text[:0]
	for _, c := range body {
		if c == '-' || len(text) == want {
			break
		}
		if c != '\n' && c != '\r' && c != ' ' && c != '\t' {
			text = append(text, c)
		}
	}
	p.text = text
	text = text[:len(text)/4*4]
	if cap(p.der) < base64.StdEncoding.DecodedLen(want) {
		p.der = make([]byte, base64.StdEncoding.DecodedLen(want))
	}
	n, err := base64.StdEncoding.Decode(p.der[:cap(p.der)], text)
	if err != nil {
		return nil, false
	}
	return subjectOfPrefix(p.der[:n])
}

// subjectOfPrefix finds the subject in the first bytes of a certificate:
// the Certificate and TBSCertificate headers are stepped over (their bodies
// may run past the bytes at hand), then the fields before the subject.
func subjectOfPrefix(b []byte) ([]byte, bool) {
	for i := 0; i < 2; i++ {
		if len(b) < 2 || b[0] != 0x30 {
			return nil, false
		}
		n := 2
		if b[1] >= 0x80 {
			n += int(b[1] & 0x7f)
		}
		if b[1] == 0x80 || n > 6 || len(b) < n {
			return nil, false
		}
		b = b[n:]
	}
	subject, ok := subjectInTBS(b)
	return append([]byte(nil), subject...), ok
}

// subjectInTBS reads the fields of a TBSCertificate's body up to the
// subject, and returns the subject (DER).
func subjectInTBS(tbs cryptobyte.String) ([]byte, bool) {
	var subject cryptobyte.String
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!tbs.SkipASN1(cbasn1.INTEGER) || // serial number
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // signature algorithm
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // issuer
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // validity
		!tbs.ReadASN1Element(&subject, cbasn1.SEQUENCE) {
		return nil, false
	}
	return subject, true
}

// firstElement is the first DER element of b: OpenSSL's TRUSTED
// CERTIFICATE is the certificate followed by its trust settings.
func firstElement(b []byte) []byte {
	s := cryptobyte.String(b)
	var cert cryptobyte.String
	if !s.ReadASN1Element(&cert, cbasn1.SEQUENCE) {
		return nil
	}
	return cert
}

// rawSubject finds a certificate's subject name (DER) without parsing the
// rest of it.
func rawSubject(der []byte) ([]byte, bool) {
	in := cryptobyte.String(der)
	var cert, tbs cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, false
	}
	return subjectInTBS(tbs)
}
