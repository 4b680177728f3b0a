package lync

import (
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/lynctrust/lynctrust/psremote"

	"github.com/lynctrust/lynctrust/trust"
)

// ErrInvalidValue is wrapped by every validation error: the value was refused
// before any script was built.
var ErrInvalidValue = errors.New("invalid value")

// CAStore is one of the three stores New-CsWebTrustedCACertificate accepts.
type CAStore string

// The documented -CAStore values and the LocalMachine store each names.
const (
	TrustedRootCA    CAStore = "TrustedRootCA"    // LocalMachine\Root
	IntermediateCA   CAStore = "IntermediateCA"   // LocalMachine\CA
	ThirdPartyRootCA CAStore = "ThirdPartyRootCA" // LocalMachine\AuthRoot
)

// CAStoreGrammar is quoted in error messages.
const CAStoreGrammar = "TrustedRootCA | IntermediateCA | ThirdPartyRootCA"

// ParseCAStore accepts the documented -CAStore values, in any case.
func ParseCAStore(s string) (CAStore, error) {
	for _, c := range []CAStore{TrustedRootCA, IntermediateCA, ThirdPartyRootCA} {
		if strings.EqualFold(strings.TrimSpace(s), string(c)) {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w: CA store %q: want one of %s", ErrInvalidValue, s, CAStoreGrammar)
}

// CertStore is the LocalMachine certificate store the CA store refers to.
func (c CAStore) CertStore() string {
	switch c {
	case IntermediateCA:
		return "CA"
	case ThirdPartyRootCA:
		return "AuthRoot"
	}
	return "Root"
}

// CAStoreFor is the CA store whose certificates live in the LocalMachine
// store named (Root, CA, AuthRoot): CertStore the other way round.
func CAStoreFor(certStore string) (CAStore, bool) {
	for _, c := range []CAStore{TrustedRootCA, IntermediateCA, ThirdPartyRootCA} {
		if strings.EqualFold(c.CertStore(), certStore) {
			return c, true
		}
	}
	return "", false
}

// Identity is a Web Services configuration identity: Global, site:NAME or
// service:WebServer:FQDN.
type Identity string

// IdentityGrammar is quoted in error messages.
const IdentityGrammar = "Global | site:NAME | service:WebServer:FQDN"

// GlobalIdentity is the global collection.
const GlobalIdentity Identity = "Global"

// validSiteName reports whether name is a site name Lync allows: 1 to 64
// characters, letters, digits, spaces, dots, underscores and hyphens,
// starting with a letter or digit and not ending in a space. (Written out
// rather than as a regular expression: compiled, the {0,62} cost the
// start-up of every command.)
func validSiteName(name string) bool {
	if len(name) == 0 || len(name) > 64 || !isAlnum(name[0]) || name[len(name)-1] == ' ' {
		return false
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && !strings.ContainsRune(" ._-", rune(c)) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// ParseIdentity accepts the three identity forms, with the scope prefixes in
// any case, and returns the canonical spelling.
func ParseIdentity(s string) (Identity, error) {
	t := strings.TrimSpace(s)
	lower := strings.ToLower(t)
	switch {
	case lower == "global":
		return GlobalIdentity, nil
	case strings.HasPrefix(lower, "site:"):
		name := t[len("site:"):]
		if validSiteName(name) {
			return Identity("site:" + name), nil
		}
	case strings.HasPrefix(lower, "service:webserver:"):
		fqdn := t[len("service:webserver:"):]
		if psremote.ValidFQDN(fqdn) {
			return Identity("service:WebServer:" + strings.ToLower(strings.TrimSuffix(fqdn, "."))), nil
		}
	}
	return "", fmt.Errorf("%w: identity %q: want %s (site names: letters, digits, space, '.', '_', '-')",
		ErrInvalidValue, s, IdentityGrammar)
}

// ParseServerIdentity accepts an identity as a server prints it. Lync allows
// more in a site name than an administrator may type on lynctrust's command
// line (letters, digits, space, '.', '_', '-'), so a site read from the server
// may hold any printable character; Quote keeps it inert in a script. Control
// characters, which no record or script can carry, are refused.
func ParseServerIdentity(s string) (Identity, error) {
	if id, err := ParseIdentity(s); err == nil {
		return id, nil
	}
	t := strings.TrimSpace(s)
	if strings.HasPrefix(strings.ToLower(t), "site:") {
		name := t[len("site:"):]
		if name != "" && len([]rune(name)) <= 256 && printable(name) {
			return Identity("site:" + name), nil
		}
	}
	return "", fmt.Errorf("%w: identity %q: want %s", ErrInvalidValue, s, IdentityGrammar)
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7F && r <= 0x9F) || r == 0xFFFD || r == 0x2028 || r == 0x2029 {
			return false
		}
	}
	return true
}

// Scope is "global", "site" or "service".
func (id Identity) Scope() string {
	switch {
	case strings.HasPrefix(string(id), "site:"):
		return "site"
	case strings.HasPrefix(string(id), "service:"):
		return "service"
	}
	return "global"
}

// Thumbprint is a validated 40-digit uppercase SHA-1 thumbprint. Only
// ParseThumbprint and ThumbprintOf make one, so code that holds one never
// validates it again; the zero value is no thumbprint.
type Thumbprint struct{ hex string }

// ParseThumbprint normalises pasted text with trust.Normalize.
func ParseThumbprint(s string) (Thumbprint, error) {
	n, err := trust.Normalize(s)
	if err != nil {
		return Thumbprint{}, err
	}
	return Thumbprint{n.Thumbprint}, nil
}

// ThumbprintOf is a certificate's thumbprint, as Windows shows it.
func ThumbprintOf(c *x509.Certificate) Thumbprint { return Thumbprint{trust.Thumbprint(c)} }

// String is the 40 hex digits, or "" for the zero value.
func (t Thumbprint) String() string { return t.hex }

// IsZero reports whether t is no thumbprint.
func (t Thumbprint) IsZero() bool { return t.hex == "" }

// MarshalText writes the 40 hex digits (JSON, snapshots, the journal).
func (t Thumbprint) MarshalText() ([]byte, error) { return []byte(t.hex), nil }

// UnmarshalText reads a thumbprint back, validating it again: a snapshot
// or journal line is input like any other.
func (t *Thumbprint) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = Thumbprint{}
		return nil
	}
	p, err := ParseThumbprint(string(b))
	if err != nil {
		return err
	}
	*t = p
	return nil
}

// Quote returns s as a PowerShell single-quoted string literal. Inside single
// quotes PowerShell expands nothing; the only special characters are the quote
// marks themselves, which are doubled. PowerShell treats the typographic quotes
// U+2018, U+2019, U+201A and U+201B as single quotes too, so they are doubled
// as well (about_Quoting_Rules). NUL and other control characters cannot appear
// in a validated value; Quote refuses them rather than guess.
func Quote(s string) (string, error) { return quote(s, false) }

// QuoteText is Quote for a whole script: line breaks and tabs are kept.
func QuoteText(s string) (string, error) { return quote(s, true) }

func quote(s string, layout bool) (string, error) {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201A' || r == '\u201B':
			b.WriteRune(r)
			b.WriteRune(r)
		case layout && (r == '\n' || r == '\r' || r == '\t'):
			b.WriteRune(r)
		case r < 0x20 || r == 0x7F || r == 0xFFFD:
			return "", fmt.Errorf("%w: control character %s in %q cannot go into a script", ErrInvalidValue, trust.CodePoint(r), s)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String(), nil
}

// PasteLines renders the two lines an administrator pastes into the Lync
// Management Shell to trust a CA: the certificate object, then the change to
// one collection. Only validated values reach it.
func PasteLines(t Thumbprint, store CAStore, id Identity) (string, error) {
	qt, err := Quote(t.String())
	if err != nil {
		return "", err
	}
	qs, err := Quote(string(store))
	if err != nil {
		return "", err
	}
	qi, err := Quote(string(id))
	if err != nil {
		return "", err
	}
	return "$cert = New-CsWebTrustedCACertificate -Thumbprint " + qt + " -CAStore " + store.bare(qs) + "\n" +
		"Set-CsWebServiceConfiguration -Identity " + qi + " -TrustedCACerts @{Add=$cert}\n", nil
}

// bare drops the quotes around a CA store name: the documented examples write
// -CAStore TrustedRootCA unquoted, and the three names are plain words.
func (c CAStore) bare(quoted string) string {
	if quoted == "'"+string(c)+"'" {
		return string(c)
	}
	return quoted
}

// Identities are the keys of a map of lists, sorted: collections in a
// stable order for differences, verification and the journal.
func Identities(m map[Identity][]Entry) []Identity {
	out := make([]Identity, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
