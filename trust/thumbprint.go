package trust

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/runenames"
)

// ThumbprintLen is the number of hex digits of a Windows certificate thumbprint:
// the SHA-1 hash of the DER certificate, which is what
// New-CsWebTrustedCACertificate -Thumbprint expects.
const ThumbprintLen = 40

// ErrInvalidThumbprint is wrapped by every error Normalize returns.
var ErrInvalidThumbprint = errors.New("invalid thumbprint")

// Removal says how often one character was dropped from a pasted thumbprint.
type Removal struct {
	CodePoint string `json:"code_point"` // "U+200E"
	Name      string `json:"name"`       // "LEFT-TO-RIGHT MARK"
	Count     int    `json:"count"`
}

// Normalized is a cleaned thumbprint and what was taken out of the input.
type Normalized struct {
	Input      string    `json:"input"`
	Thumbprint string    `json:"thumbprint"`
	Removed    []Removal `json:"removed"`
}

// removable reports whether r is noise that people paste along with a
// thumbprint: separators, and the invisible marks that the Windows certificate
// dialog copies in front of it (U+200E, KB 2023835) and that a legacy console
// shows as '?'.
func removable(r rune) bool {
	switch {
	case r == ' ', r == '\t', r == ':', r == '-', r == '?':
		return true
	case r == 0x200E, r == 0x200F: // left-to-right and right-to-left marks
		return true
	case r >= 0x202A && r <= 0x202E: // bidi embeddings and overrides
		return true
	case r >= 0x2066 && r <= 0x2069: // bidi isolates
		return true
	case r >= 0x200B && r <= 0x200D, r == 0x2060: // zero-width space, joiners, word joiner
		return true
	case r == 0xFEFF, r == 0x00A0, r == 0x202F, r == 0x00AD: // BOM, no-break spaces, soft hyphen
		return true
	}
	return false
}

func isHex(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F')
}

// CharName names a character the way the Unicode standard does, for messages.
func CharName(r rune) string {
	switch {
	case r == ' ':
		return "SPACE"
	case r == '\t':
		return "CHARACTER TABULATION"
	case r == utf8.RuneError:
		return "invalid UTF-8"
	case r < 0x20 || r == 0x7F:
		return "control character"
	}
	if n := runenames.Name(r); n != "" && !strings.HasPrefix(n, "<") {
		return n
	}
	return "unnamed character"
}

// CodePoint formats r as U+XXXX.
func CodePoint(r rune) string { return fmt.Sprintf("U+%04X", r) }

// Normalize turns what an administrator pasted (from the certificate dialog, an
// e-mail, a web page) into the 40 uppercase hex digits Lync needs. It removes
// separators and invisible marks, reports what it removed, and refuses anything
// else with an error that says what is wrong and where.
func Normalize(input string) (Normalized, error) {
	n := Normalized{Input: input, Removed: []Removal{}}
	var b strings.Builder
	counts := map[rune]int{}
	var order []rune
	pos := 0
	for i, r := range input {
		pos++
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(input[i:]); size == 1 {
				return n, fmt.Errorf("%w: invalid UTF-8 byte at position %d: paste the thumbprint as text", ErrInvalidThumbprint, pos)
			}
		}
		switch {
		case removable(r):
			if counts[r] == 0 {
				order = append(order, r)
			}
			counts[r]++
		case isHex(r):
			b.WriteRune(r)
		default:
			return n, fmt.Errorf("%w: %q (%s, %s) at position %d is not a hex digit: a thumbprint has only 0-9 and A-F",
				ErrInvalidThumbprint, string(r), CodePoint(r), CharName(r), pos)
		}
	}
	for _, r := range order {
		n.Removed = append(n.Removed, Removal{CodePoint: CodePoint(r), Name: CharName(r), Count: counts[r]})
	}
	digits := strings.ToUpper(b.String())
	switch len(digits) {
	case ThumbprintLen:
		n.Thumbprint = digits
		return n, nil
	case 0:
		if strings.TrimSpace(input) == "" {
			return n, fmt.Errorf("%w: empty input: paste the 40-digit thumbprint of the root certificate", ErrInvalidThumbprint)
		}
		return n, fmt.Errorf("%w: no hex digits left after removing separators and invisible marks", ErrInvalidThumbprint)
	case 64:
		return n, fmt.Errorf("%w: found 64 hex digits: that looks like a SHA-256 fingerprint; Lync wants the 40-digit SHA-1 thumbprint (Thumbprint in the certificate dialog)", ErrInvalidThumbprint)
	case 32:
		return n, fmt.Errorf("%w: found 32 hex digits: that looks like an MD5 fingerprint; Lync wants the 40-digit SHA-1 thumbprint (Thumbprint in the certificate dialog)", ErrInvalidThumbprint)
	default:
		if len(digits)%ThumbprintLen == 0 {
			return n, fmt.Errorf("%w: found %d hex digits: that looks like %d thumbprints run together; give each as its own argument or line", ErrInvalidThumbprint, len(digits), len(digits)/ThumbprintLen)
		}
		return n, fmt.Errorf("%w: found %d hex digits, want 40: copy the whole Thumbprint field again", ErrInvalidThumbprint, len(digits))
	}
}
