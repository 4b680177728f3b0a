package lab

import (
	"crypto/tls"
	"net"
	"strconv"
	"testing"
	"time"
)

// tlsHello reports the version a client that offers min..max settles on
// with a listener, or the error.
func tlsHello(t *testing.T, l *Lab, url string, min, max uint16) (uint16, error) {
	t.Helper()
	host, port := realAddr(t, l, url)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", net.JoinHostPort(host, strconv.Itoa(port)),
		&tls.Config{InsecureSkipVerify: true, MinVersion: min, MaxVersion: max})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.ConnectionState().Version, nil
}

// TestSChannel2008R2 guards the 2010 lab's TLS: Windows Server 2008 R2 offers
// TLS 1.0 only on every listener until TLS 1.2 is enabled; later products
// have TLS 1.2 and up.
func TestSChannel2008R2(t *testing.T) {
	l := startTestLab(t, Options{Product: "2010"})
	fqdn := l.Info.Servers[0].FQDN
	for _, u := range []string{"https://" + fqdn + ":5986/wsman", "https://" + fqdn + ":443/", "https://" + fqdn + ":4443/", "https://" + fqdn + ":5061/"} {
		if v, err := tlsHello(t, l, u, tls.VersionTLS12, 0); err == nil {
			t.Errorf("%s: a TLS 1.2 client got %s from a stock 2008 R2 server", u, tls.VersionName(v))
		}
		if v, err := tlsHello(t, l, u, tls.VersionTLS10, 0); err != nil || v != tls.VersionTLS10 {
			t.Errorf("%s: a client offering TLS 1.0 to 1.3 got %s, %v; want TLS 1.0", u, tls.VersionName(v), err)
		}
	}
	l.Knobs.SetTLS12(true)
	winrm := "https://" + fqdn + ":5986/wsman"
	if v, err := tlsHello(t, l, winrm, tls.VersionTLS12, 0); err != nil || v != tls.VersionTLS12 {
		t.Errorf("TLS 1.2 enabled: got %s, %v; want TLS 1.2 (2008 R2 has no TLS 1.3)", tls.VersionName(v), err)
	}
	if v, err := tlsHello(t, l, winrm, tls.VersionTLS10, tls.VersionTLS10); err != nil || v != tls.VersionTLS10 {
		t.Errorf("TLS 1.2 enabled: a TLS 1.0 client got %s, %v; TLS 1.0 stays on", tls.VersionName(v), err)
	}

	l19 := startTestLab(t, Options{Product: "2019"})
	if v, err := tlsHello(t, l19, "https://"+l19.Info.Servers[0].FQDN+":5986/wsman", tls.VersionTLS12, 0); err != nil || v < tls.VersionTLS12 {
		t.Errorf("2019: got %s, %v", tls.VersionName(v), err)
	}
}
