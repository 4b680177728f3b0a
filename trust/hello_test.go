package trust

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

// TestReadOnlyHelloFitsOneSegment: the ClientHello that reads a chain offers
// no post-quantum key share, so it stays one small TCP segment.
func TestReadOnlyHelloFitsOneSegment(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	hello := make(chan *tls.ClientHelloInfo, 1)
	go func() {
		defer server.Close()
		_ = tls.Server(server, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			hello <- h
			return nil, errors.New("seen")
		}}).Handshake()
	}()
	opts := ResolveOptions{Timeout: 5 * time.Second, Dial: func(context.Context, string, string) (net.Conn, error) { return client, nil }}
	_, _, _ = fetchChain(context.Background(), Endpoint{Host: "mail.contoso.test", Port: "443"}, "mail.contoso.test", opts)
	select {
	case h := <-hello:
		if slices.Contains(h.SupportedCurves, tls.X25519MLKEM768) || !slices.Contains(h.SupportedCurves, tls.X25519) {
			t.Errorf("groups offered: %v", h.SupportedCurves)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no ClientHello")
	}
}
