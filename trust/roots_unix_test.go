//go:build unix

package trust

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// TestHashedLinkThatIsAFIFO: a FIFO where a hashed link should be is not
// read (reading it would wait for a writer forever); the links before it
// still count.
func TestHashedLinkThatIsAFIFO(t *testing.T) {
	root := selfSigned(t, dn([]ava{{oidCN, cbasn1.UTF8String, []byte("FIFO Neighbour")}}))
	certs := t.TempDir()
	h, _ := subjectHash(root.RawSubject)
	writePEM(t, filepath.Join(certs, fmt.Sprintf("%08x.0", h)), root)
	if err := syscall.Mkfifo(filepath.Join(certs, fmt.Sprintf("%08x.1", h)), 0o600); err != nil {
		t.Skip("no FIFO here:", err)
	}
	done := make(chan []StoreCert, 1)
	go func() { done <- newRootStore(nil, []string{certs}).Lookup(root.RawSubject) }()
	select {
	case got := <-done:
		if len(got) != 1 || !got[0].Cert.Equal(root) {
			t.Errorf("%+v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the lookup is reading the FIFO")
	}
}
