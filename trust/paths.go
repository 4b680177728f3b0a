package trust

import (
	"bytes"
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
)

// Provenance says where a certificate of a path came from.
type Provenance string

// Provenances, as SSL Labs labels them.
const (
	FromServer Provenance = "sent by server"
	FromAIA    Provenance = "AIA download"
	FromStore  Provenance = "trust store"
	FromCAFile Provenance = "ca-file"
)

// node is one distinct certificate in the pool paths are built from.
type node struct {
	cert      *x509.Certificate
	prov      []Provenance
	origin    string // store name, file path or AIA URL
	sentIndex int    // position in the chain as sent, or -1
	originOf  Provenance
	sigAlg    SigAlg
	storeRoot bool // from a store of roots (not Windows' intermediate CA store)
}

// anchor reports whether a path may end here as trusted.
func (n *node) anchor() bool { return n.storeRoot || n.has(FromCAFile) }

func (n *node) has(p Provenance) bool {
	for _, q := range n.prov {
		if q == p {
			return true
		}
	}
	return false
}

func selfIssued(c *x509.Certificate) bool { return bytes.Equal(c.RawSubject, c.RawIssuer) }

// provenanceOrder is the order provenances are listed in, and the order of
// preference for a certificate's origin: a store's name before a file's,
// a file's before a URL.
var provenanceOrder = []Provenance{FromServer, FromStore, FromCAFile, FromAIA}

// pool holds every certificate known, indexed by subject. The trust
// store's certificates join when a path first asks for their subject.
type pool struct {
	byRaw     map[string]*node
	bySubject map[string][]*node
	store     *RootStore
	asked     map[string]bool
}

func newPool(store *RootStore) *pool {
	return &pool{byRaw: map[string]*node{}, bySubject: map[string][]*node{}, store: store, asked: map[string]bool{}}
}

// add puts c in the pool, or adds a provenance to the certificate already there.
func (p *pool) add(c *x509.Certificate, prov Provenance, origin string, sentIndex int) *node {
	n, ok := p.byRaw[string(c.Raw)]
	if !ok {
		n = &node{cert: c, sentIndex: sentIndex, sigAlg: SignatureAlgorithm(c)}
		p.byRaw[string(c.Raw)] = n
		p.bySubject[string(c.RawSubject)] = append(p.bySubject[string(c.RawSubject)], n)
	}
	if !n.has(prov) {
		n.prov = append(n.prov, prov)
		slices.SortFunc(n.prov, func(a, b Provenance) int {
			return slices.Index(provenanceOrder, a) - slices.Index(provenanceOrder, b)
		})
	}
	if n.sentIndex < 0 {
		n.sentIndex = sentIndex
	}
	if origin != "" && (n.origin == "" || slices.Index(provenanceOrder, prov) < slices.Index(provenanceOrder, n.originOf)) {
		n.origin, n.originOf = origin, prov
	}
	return n
}

// addStore puts a trust store's certificate in the pool.
func (p *pool) addStore(s StoreCert) *node {
	n := p.add(s.Cert, FromStore, s.Store, -1)
	n.storeRoot = n.storeRoot || !s.Intermediate
	return n
}

// ask brings in the store's certificates named subject, once.
func (p *pool) ask(subject []byte) {
	if p.store == nil || p.asked[string(subject)] {
		return
	}
	p.asked[string(subject)] = true
	for _, s := range p.store.Lookup(subject) {
		p.addStore(s)
	}
}

// LinkCheck is the outcome of checking a certificate's signature with its
// issuer's key.
type LinkCheck string

// Link outcomes.
const (
	LinkVerified      LinkCheck = "verified"
	LinkNotCheckable  LinkCheck = "signature not checkable"
	LinkBad           LinkCheck = "signature does not verify"
	LinkAnchorNotSelf LinkCheck = "trust anchor"
)

// checkSignature verifies child's signature with parent's key. Unlike
// x509.Certificate.CheckSignatureFrom it accepts MD5 and SHA-1, because a
// diagnostic tool must follow the paths that strict clients refuse; MD2 and
// MD4 have no implementation in Go and are reported as not checkable.
func checkSignature(child *x509.Certificate, childAlg SigAlg, parent *x509.Certificate) LinkCheck {
	switch childAlg.Hash {
	case "MD2", "MD4":
		return LinkNotCheckable
	case "MD5":
		pub, ok := parent.PublicKey.(*rsa.PublicKey)
		if !ok {
			return LinkBad
		}
		sum := md5.Sum(child.RawTBSCertificate)
		if rsa.VerifyPKCS1v15(pub, crypto.MD5, sum[:], child.Signature) != nil {
			return LinkBad
		}
		return LinkVerified
	case "SHA1":
		if pub, ok := parent.PublicKey.(*rsa.PublicKey); ok {
			sum := sha1.Sum(child.RawTBSCertificate)
			if rsa.VerifyPKCS1v15(pub, crypto.SHA1, sum[:], child.Signature) != nil {
				return LinkBad
			}
			return LinkVerified
		}
	}
	err := parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
	switch {
	case err == nil:
		return LinkVerified
	case errors.Is(err, x509.ErrUnsupportedAlgorithm):
		return LinkNotCheckable
	}
	var insecure x509.InsecureAlgorithmError
	if errors.As(err, &insecure) {
		return LinkNotCheckable
	}
	return LinkBad
}

// issuers are the certificates in the pool that may have issued c: same name,
// matching key identifiers when both are present, a signature that is not
// known to be wrong, and not already on the path (which stops loops).
func (p *pool) issuers(c *node, onPath map[*node]bool) []*node {
	var out []*node
	p.ask(c.cert.RawIssuer)
	for _, cand := range p.bySubject[string(c.cert.RawIssuer)] {
		if onPath[cand] || cand == c {
			continue
		}
		if len(c.cert.AuthorityKeyId) > 0 && len(cand.cert.SubjectKeyId) > 0 &&
			!bytes.Equal(c.cert.AuthorityKeyId, cand.cert.SubjectKeyId) {
			continue
		}
		if checkSignature(c.cert, c.sigAlg, cand.cert) == LinkBad {
			continue
		}
		out = append(out, cand)
	}
	return out
}

const (
	maxPaths = 32
	maxDepth = 12
)

// rawPath is a path as nodes; complete when it ends at an anchor or a
// self-issued certificate.
type rawPath struct {
	nodes    []*node
	complete bool
}

// build lists every path from leaf upwards. fetch is called for a certificate
// with no issuer in the pool (the AIA download); it returns true when it added
// something worth another look.
func (p *pool) build(leaf *node, fetch func(*node) bool) []rawPath {
	var out []rawPath
	onPath := map[*node]bool{}
	var walk func(path []*node)
	walk = func(path []*node) {
		if len(out) >= maxPaths {
			return
		}
		cur := path[len(path)-1]
		p.ask(cur.cert.RawSubject) // is it a root the store trusts?
		done := func(complete bool) {
			out = append(out, rawPath{nodes: append([]*node(nil), path...), complete: complete})
		}
		if cur.anchor() || selfIssued(cur.cert) {
			done(true)
			return
		}
		if len(path) >= maxDepth {
			done(false)
			return
		}
		cands := p.issuers(cur, onPath)
		if len(cands) == 0 && fetch != nil && fetch(cur) {
			cands = p.issuers(cur, onPath)
		}
		if len(cands) == 0 {
			done(false)
			return
		}
		for _, c := range cands {
			onPath[c] = true
			walk(append(path, c))
			delete(onPath, c)
		}
	}
	onPath[leaf] = true
	walk([]*node{leaf})
	return out
}

func describeProvenance(n *node) string {
	s := ""
	for i, p := range n.prov {
		if i > 0 {
			s += ", "
		}
		s += string(p)
		if p == FromServer && n.sentIndex >= 0 {
			s += fmt.Sprintf(" #%d", n.sentIndex+1)
		}
	}
	return s
}
