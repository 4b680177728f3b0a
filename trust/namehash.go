package trust

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// subjectHash is OpenSSL's X509_NAME_hash of a name (DER): the first four
// bytes, little-endian, of the SHA-1 of the name's canonical encoding. It
// names the hashed links c_rehash and update-ca-certificates make in
// /etc/ssl/certs (HASH.0, HASH.1, ...). The canonical encoding
// (x509_name_canon in OpenSSL's crypto/x509/x_name.c) is each RDN's SET
// re-encoded with its string values as UTF8String, trimmed, runs of white
// space collapsed to one space and ASCII lower-cased, the SETs concatenated
// without the outer SEQUENCE.
func subjectHash(name []byte) (uint32, bool) {
	in := cryptobyte.String(name)
	var rdns cryptobyte.String
	if !in.ReadASN1(&rdns, cbasn1.SEQUENCE) || !in.Empty() {
		return 0, false
	}
	var canon []byte
	for !rdns.Empty() {
		var set cryptobyte.String
		if !rdns.ReadASN1(&set, cbasn1.SET) {
			return 0, false
		}
		var avas [][]byte
		for !set.Empty() {
			var ava, oid, value cryptobyte.String
			var tag cbasn1.Tag
			if !set.ReadASN1(&ava, cbasn1.SEQUENCE) || !ava.ReadASN1Element(&oid, cbasn1.OBJECT_IDENTIFIER) ||
				!ava.ReadAnyASN1Element(&value, &tag) {
				return 0, false
			}
			v, ok := canonValue(value, tag)
			if !ok {
				return 0, false
			}
			var b cryptobyte.Builder
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(oid)
				b.AddBytes(v)
			})
			avas = append(avas, b.BytesOrPanic())
		}
		if len(avas) == 0 {
			continue // OpenSSL's canonical form has no empty RDN
		}
		// DER orders the members of a SET OF by their encodings.
		slices.SortFunc(avas, bytes.Compare)
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			for _, a := range avas {
				b.AddBytes(a)
			}
		})
		canon = append(canon, b.BytesOrPanic()...)
	}
	sum := sha1.Sum(canon)
	return binary.LittleEndian.Uint32(sum[:4]), true
}

// canonValue is OpenSSL's asn1_string_canon for one attribute value
// (element, with its tag): the string types become a canonical UTF8String;
// any other type is kept as it is.
func canonValue(element cryptobyte.String, tag cbasn1.Tag) ([]byte, bool) {
	whole := append([]byte(nil), element...)
	var body cryptobyte.String
	if !element.ReadASN1(&body, tag) {
		return nil, false
	}
	// UniversalString and VisibleString are left out: crypto/x509 cannot
	// parse a certificate that uses them, so no store certificate has one.
	var width int // bytes a character
	switch tag {
	case cbasn1.UTF8String:
		if !utf8.Valid(body) {
			return nil, false
		}
	case cbasn1.PrintableString, cbasn1.T61String, cbasn1.IA5String: // read as Latin-1
		width = 1
	case cbasn1.Tag(30): // BMPString: UCS-2
		width = 2
	default:
		return whole, true
	}
	s := []byte(body)
	if width > 0 {
		if len(body)%width != 0 {
			return nil, false
		}
		s = nil
		for i := 0; i < len(body); i += width {
			v := uint16(body[i])
			if width == 2 {
				v = v<<8 | uint16(body[i+1])
			}
			s = appendUTF8(s, v)
		}
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(canonString(string(s)))) })
	return b.BytesOrPanic(), true
}

// canonString trims OpenSSL's white space (space, \t, \n, \v, \f, \r),
// collapses each run of it to one space and lower-cases ASCII letters;
// bytes above 0x7f are kept as they are.
func canonString(s string) string {
	isSpace := func(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isSpace(c):
			out.WriteByte(' ')
			for i+1 < len(s) && isSpace(s[i+1]) {
				i++
			}
		case c >= 'A' && c <= 'Z':
			out.WriteByte(c + 'a' - 'A')
		default:
			out.WriteByte(c)
		}
	}
	return out.String()
}

// appendUTF8 encodes v as OpenSSL's UTF8_putc does, surrogates included.
func appendUTF8(b []byte, v uint16) []byte {
	switch {
	case v < 0x80:
		return append(b, byte(v))
	case v < 0x800:
		return append(b, 0xc0|byte(v>>6), 0x80|byte(v&0x3f))
	default:
		return append(b, 0xe0|byte(v>>12), 0x80|byte(v>>6&0x3f), 0x80|byte(v&0x3f))
	}
}
