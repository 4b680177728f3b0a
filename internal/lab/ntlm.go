package lab

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

// An NTLMv2 acceptor as Windows' WinRM service runs it (MS-NLMP §3.2.5,
// §3.3.2, §3.4): it builds the CHALLENGE, verifies the AUTHENTICATE against
// the configured accounts (NTProofStr and MIC), derives the session keys and
// seals and unseals messages for WinRM's HTTP message encryption.

const (
	flagUnicode       = 0x00000001
	flagOEM           = 0x00000002
	flagRequestTarget = 0x00000004
	flagSign          = 0x00000010
	flagSeal          = 0x00000020
	flagNTLM          = 0x00000200
	flagAlwaysSign    = 0x00008000
	flagTargetDomain  = 0x00010000
	flagESS           = 0x00080000
	flagTargetInfo    = 0x00800000
	flagVersion       = 0x02000000
	flag128           = 0x20000000
	flagKeyExch       = 0x40000000
	flag56            = 0x80000000

	// what the acceptor is willing to negotiate; the CHALLENGE carries the
	// client's flags intersected with these, because old clients (Azure's
	// go-ntlmssp, masterzen's ClientNTLM) fail on flags they did not ask for.
	supportedFlags = flagUnicode | flagOEM | flagSign | flagSeal | flagESS | flag128 | flag56 | flagKeyExch | flagVersion | flagTargetInfo
	alwaysFlags    = flagRequestTarget | flagNTLM | flagAlwaysSign | flagTargetDomain | flagTargetInfo | flagVersion
)

var ntlmSignature = []byte("NTLMSSP\x00")

// Account is a lab user: a domain account, or one of a server's own local
// accounts (Computer set).
type Account struct {
	User     string   `json:"user"` // sAMAccountName, or the local user name
	Password string   `json:"password"`
	Groups   []string `json:"groups"`
	Computer string   `json:"computer,omitempty"` // the server whose SAM holds a local account
}

// Name is the account as Windows writes it: DOMAIN\user, or COMPUTER\user for
// a local account.
func (a *Account) Name(d Domain) string {
	if a.Computer != "" {
		return a.Computer + `\` + a.User
	}
	return d.NetBIOS + `\` + a.User
}

// Domain names the lab's Active Directory domain.
type Domain struct {
	NetBIOS string // LAB
	DNS     string // lab.test
}

// ntlmContext is the NTLM state of one TCP connection.
type ntlmContext struct {
	negotiate []byte
	challenge []byte
	server    [8]byte
	flags     uint32

	// after a successful AUTHENTICATE
	account *Account
	sealIn  *rc4.Cipher
	sealOut *rc4.Cipher
	signIn  []byte
	signOut []byte
	seqIn   uint32
	seqOut  uint32
	keyExch bool
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	h := hmac.New(md5.New, key)
	for _, d := range data {
		h.Write(d)
	}
	return h.Sum(nil)
}

func avPair(id uint16, value []byte) []byte {
	b := make([]byte, 4+len(value))
	binary.LittleEndian.PutUint16(b, id)
	binary.LittleEndian.PutUint16(b[2:], uint16(len(value)))
	copy(b[4:], value)
	return b
}

// fileTime is a Windows FILETIME: 100 ns ticks since 1601.
func fileTime(t time.Time) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, uint64(t.UnixNano()/100+116444736000000000))
	return b
}

// startChallenge reads a NEGOTIATE message and returns the CHALLENGE.
func (c *ntlmContext) startChallenge(negotiate []byte, dom Domain, computer string, now time.Time) ([]byte, error) {
	if len(negotiate) < 16 || !bytes.Equal(negotiate[:8], ntlmSignature) || binary.LittleEndian.Uint32(negotiate[8:]) != 1 {
		return nil, errors.New("not an NTLM NEGOTIATE message")
	}
	*c = ntlmContext{negotiate: append([]byte(nil), negotiate...)}
	clientFlags := binary.LittleEndian.Uint32(negotiate[12:])
	c.flags = clientFlags&supportedFlags | alwaysFlags
	if _, err := rand.Read(c.server[:]); err != nil {
		return nil, err
	}
	target := utf16le(dom.NetBIOS)
	if c.flags&flagUnicode == 0 {
		target = []byte(dom.NetBIOS) // OEM strings, as ntlm_auth negotiates
	}
	var info []byte
	info = append(info, avPair(2, utf16le(dom.NetBIOS))...)
	info = append(info, avPair(1, utf16le(strings.ToUpper(computer)))...)
	info = append(info, avPair(4, utf16le(dom.DNS))...)
	info = append(info, avPair(3, utf16le(strings.ToLower(computer)+"."+dom.DNS))...)
	info = append(info, avPair(7, fileTime(now))...)
	info = append(info, avPair(0, nil)...)

	const header = 56
	msg := make([]byte, header, header+len(target)+len(info))
	copy(msg, ntlmSignature)
	binary.LittleEndian.PutUint32(msg[8:], 2)
	field := func(off int, length, at int) {
		binary.LittleEndian.PutUint16(msg[off:], uint16(length))
		binary.LittleEndian.PutUint16(msg[off+2:], uint16(length))
		binary.LittleEndian.PutUint32(msg[off+4:], uint32(at))
	}
	field(12, len(target), header)
	binary.LittleEndian.PutUint32(msg[20:], c.flags)
	copy(msg[24:], c.server[:])
	field(40, len(info), header+len(target))
	copy(msg[48:], []byte{10, 0, 0x63, 0x45, 0, 0, 0, 15}) // Windows 10.0.17763, NTLM revision 15
	msg = append(msg, target...)
	msg = append(msg, info...)
	c.challenge = msg
	return msg, nil
}

// ErrLogonFailure is what a wrong user or password gets: HTTP 401.
var ErrLogonFailure = errors.New("logon failure: unknown user name or bad password")

func field(msg []byte, off int) ([]byte, error) {
	if off+8 > len(msg) {
		return nil, errors.New("AUTHENTICATE message too short")
	}
	l := int(binary.LittleEndian.Uint16(msg[off:]))
	at := int(binary.LittleEndian.Uint32(msg[off+4:]))
	if l == 0 {
		return nil, nil
	}
	if at < 0 || at+l > len(msg) {
		return nil, errors.New("AUTHENTICATE field out of range")
	}
	return msg[at : at+l], nil
}

// authenticate verifies an AUTHENTICATE message. lookup maps the user name and
// domain on the wire to an account.
func (c *ntlmContext) authenticate(auth []byte, lookup func(user, domain string) *Account) (*Account, error) {
	if c.challenge == nil {
		return nil, errors.New("AUTHENTICATE without a CHALLENGE on this connection")
	}
	defer func() { c.challenge = nil }() // one AUTHENTICATE per CHALLENGE: no replay
	if len(auth) < 64 || !bytes.Equal(auth[:8], ntlmSignature) || binary.LittleEndian.Uint32(auth[8:]) != 3 {
		return nil, errors.New("not an NTLM AUTHENTICATE message")
	}
	ntResp, err := field(auth, 20)
	if err != nil {
		return nil, err
	}
	domainB, err := field(auth, 28)
	if err != nil {
		return nil, err
	}
	userB, err := field(auth, 36)
	if err != nil {
		return nil, err
	}
	encKey, err := field(auth, 52)
	if err != nil {
		return nil, err
	}
	flags := binary.LittleEndian.Uint32(auth[60:])
	// UNICODE negotiated: UTF-16LE strings; otherwise OEM (ntlm_auth 1.4.0,
	// behind pywinrm, negotiates OEM).
	user, domain := string(userB), string(domainB)
	if flags&flagUnicode != 0 {
		user, domain = fromUTF16le(userB), fromUTF16le(domainB)
	}
	if len(ntResp) <= 24 {
		return nil, fmt.Errorf("%w (NTLMv1 refused)", ErrLogonFailure)
	}
	acct := lookup(user, domain)
	if acct == nil {
		return nil, fmt.Errorf("%w (no account %q in domain %q)", ErrLogonFailure, user, domain)
	}
	h := md4.New()
	h.Write(utf16le(acct.Password))
	// NTOWFv2 uses the user and domain strings exactly as the client sent them
	// (the user upper-cased, the domain not).
	respKey := hmacMD5(h.Sum(nil), utf16le(strings.ToUpper(user)), utf16le(domain))
	proof, temp := ntResp[:16], ntResp[16:]
	if !hmac.Equal(proof, hmacMD5(respKey, c.server[:], temp)) {
		return nil, fmt.Errorf("%w (NTProofStr for %q in %q)", ErrLogonFailure, user, domain)
	}
	sessionBase := hmacMD5(respKey, proof)
	exported := sessionBase
	if flags&flagKeyExch != 0 && len(encKey) == 16 {
		r, _ := rc4.NewCipher(sessionBase)
		exported = make([]byte, 16)
		r.XORKeyStream(exported, encKey)
	}
	if micPresent(temp) {
		if len(auth) < 88 {
			return nil, errors.New("AUTHENTICATE announces a MIC but has none")
		}
		zeroed := append([]byte(nil), auth...)
		copy(zeroed[72:88], make([]byte, 16))
		if !hmac.Equal(auth[72:88], hmacMD5(exported, c.negotiate, c.challenge, zeroed)) {
			return nil, fmt.Errorf("%w (MIC does not match)", ErrLogonFailure)
		}
	}
	c.account = acct
	c.keyExch = flags&flagKeyExch != 0
	c.deriveKeys(exported, flags)
	return acct, nil
}

// micPresent reads MsvAvFlags from the client's AV pairs in the NTLMv2 blob.
func micPresent(temp []byte) bool {
	if len(temp) < 28 {
		return false
	}
	av := temp[28:]
	for len(av) >= 4 {
		id := binary.LittleEndian.Uint16(av)
		l := int(binary.LittleEndian.Uint16(av[2:]))
		if id == 0 || 4+l > len(av) {
			return false
		}
		if id == 6 && l == 4 {
			return binary.LittleEndian.Uint32(av[4:])&0x2 != 0
		}
		av = av[4+l:]
	}
	return false
}

func (c *ntlmContext) deriveKeys(esk []byte, flags uint32) {
	sealKey := esk
	switch {
	case flags&flag128 != 0:
	case flags&flag56 != 0:
		sealKey = esk[:7]
	default:
		sealKey = esk[:5]
	}
	md := func(key []byte, magic string) []byte {
		s := md5.Sum(append(append([]byte(nil), key...), magic...))
		return s[:]
	}
	c.signIn = md(esk, "session key to client-to-server signing key magic constant\x00")
	c.signOut = md(esk, "session key to server-to-client signing key magic constant\x00")
	c.sealIn, _ = rc4.NewCipher(md(sealKey, "session key to client-to-server sealing key magic constant\x00"))
	c.sealOut, _ = rc4.NewCipher(md(sealKey, "session key to server-to-client sealing key magic constant\x00"))
	c.seqIn, c.seqOut = 0, 0
}

// unseal decrypts a client message and checks its signature and sequence number.
func (c *ntlmContext) unseal(sig, sealed []byte) ([]byte, error) {
	if c.sealIn == nil {
		return nil, errors.New("no NTLM session on this connection")
	}
	if len(sig) != 16 || binary.LittleEndian.Uint32(sig) != 1 {
		return nil, errors.New("bad NTLM signature header")
	}
	plain := make([]byte, len(sealed))
	c.sealIn.XORKeyStream(plain, sealed)
	seq := make([]byte, 4)
	binary.LittleEndian.PutUint32(seq, c.seqIn)
	cksum := hmacMD5(c.signIn, seq, plain)[:8]
	if c.keyExch {
		c.sealIn.XORKeyStream(cksum, cksum)
	}
	if !hmac.Equal(cksum, sig[4:12]) || !bytes.Equal(seq, sig[12:16]) {
		return nil, errors.New("NTLM message signature does not verify")
	}
	c.seqIn++
	return plain, nil
}

// seal encrypts a server message and returns its signature and the sealed bytes.
func (c *ntlmContext) seal(plain []byte) (sig, sealed []byte) {
	sealed = make([]byte, len(plain))
	c.sealOut.XORKeyStream(sealed, plain)
	seq := make([]byte, 4)
	binary.LittleEndian.PutUint32(seq, c.seqOut)
	cksum := hmacMD5(c.signOut, seq, plain)[:8]
	if c.keyExch {
		c.sealOut.XORKeyStream(cksum, cksum)
	}
	sig = make([]byte, 16)
	binary.LittleEndian.PutUint32(sig, 1)
	copy(sig[4:], cksum)
	copy(sig[12:], seq)
	c.seqOut++
	return sig, sealed
}
