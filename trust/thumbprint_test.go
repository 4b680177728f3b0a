package trust

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

var fortyHex = regexp.MustCompile(`^[0-9A-F]{40}$`)

func TestNormalizeRemovesEveryDocumentedMark(t *testing.T) {
	const want = "A909502DD82AE41504C0E0052E3C61AB8EB10D6B"
	marks := []rune{' ', '\t', ':', '-', '?', 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
		0x2066, 0x2067, 0x2068, 0x2069, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00A0, 0x202F, 0x00AD}
	for _, m := range marks {
		in := string(m) + strings.ToLower(want[:20]) + string(m) + want[20:]
		n, err := Normalize(in)
		if err != nil {
			t.Errorf("%s: %v", CodePoint(m), err)
			continue
		}
		if n.Thumbprint != want {
			t.Errorf("%s: got %s", CodePoint(m), n.Thumbprint)
		}
		if len(n.Removed) != 1 || n.Removed[0].Count != 2 || n.Removed[0].CodePoint != CodePoint(m) {
			t.Errorf("%s: removed = %+v, want the mark twice", CodePoint(m), n.Removed)
		}
		if n.Removed[0].Name == "" || n.Removed[0].Name == "unnamed character" {
			t.Errorf("%s: no Unicode name", CodePoint(m))
		}
	}
}

func TestNormalizeRefusesLookalikes(t *testing.T) {
	// Letters past F, the Cyrillic 'а' and full-width digits look like hex but are not.
	for _, in := range []string{
		"G909502DD82AE41504C0E0052E3C61AB8EB10D6B",
		"а909502DD82AE41504C0E0052E3C61AB8EB10D6B",
		"１909502DD82AE41504C0E0052E3C61AB8EB10D6B",
		"A909502DD82AE41504C0E0052E3C61AB8EB10D6B\n",
	} {
		if _, err := Normalize(in); !errors.Is(err, ErrInvalidThumbprint) {
			t.Errorf("Normalize(%q) = %v, want ErrInvalidThumbprint", in, err)
		}
	}
}

func TestNormalizeInvalidUTF8(t *testing.T) {
	_, err := Normalize("A909502DD82AE41504C0E0052E3C61AB8EB10D6\xff")
	if err == nil || !strings.Contains(err.Error(), "invalid UTF-8 byte at position 40") {
		t.Fatalf("got %v", err)
	}
}

// FuzzNormalize: the normaliser never panics, returns either 40 uppercase hex
// digits or an error, and its output normalises to itself.
func FuzzNormalize(f *testing.F) {
	f.Add("\u200e?a9 09 50 2d d8 2a e4 15 04 c0 e0 05 2e 3c 61 ab 8e b1 0d 6b")
	f.Add("A909502DD82AE41504C0E0052E3C61AB8EB10D6B")
	f.Add("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")
	f.Fuzz(func(t *testing.T, in string) {
		n, err := Normalize(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidThumbprint) {
				t.Fatalf("error does not wrap ErrInvalidThumbprint: %v", err)
			}
			if n.Thumbprint != "" {
				t.Fatalf("error and a thumbprint %q", n.Thumbprint)
			}
			return
		}
		if !fortyHex.MatchString(n.Thumbprint) {
			t.Fatalf("Normalize(%q) = %q, not 40 uppercase hex digits", in, n.Thumbprint)
		}
		again, err := Normalize(n.Thumbprint)
		if err != nil || again.Thumbprint != n.Thumbprint || len(again.Removed) != 0 {
			t.Fatalf("output %q does not normalise to itself: %+v, %v", n.Thumbprint, again, err)
		}
	})
}
