package lab

import "crypto/tls"

// SetTLS12 enables TLS 1.2 in SChannel on the lab's Windows Server 2008 R2
// servers (Lync 2010), as the registry values do on a real one
// (SCHANNEL\Protocols\TLS 1.2\Server: Enabled=1, DisabledByDefault=0). It
// takes effect at the next handshake; later products have TLS 1.2 anyway.
func (k *Knobs) SetTLS12(on bool) { k.tls12.Store(on) }

// TLS12 reports whether TLS 1.2 is enabled on the 2008 R2 servers.
func (k *Knobs) TLS12() bool { return k.tls12.Load() }

// schannel gives a server's TLS listeners (WinRM HTTPS, web services, SIP)
// the protocol versions of its Windows. SChannel is machine-wide, so every
// listener of a server gets the same. Windows Server 2008 R2 offers TLS 1.0
// only until TLS 1.2 is enabled in the registry (docs/lab.md gives the
// sources); it has no TLS 1.3. Later Windows versions keep Go's defaults.
func (l *Lab) schannel(base *tls.Config) *tls.Config {
	if l.Deployment.Product != "2010" {
		return base
	}
	cfg := base.Clone()
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c := base.Clone()
		// MinVersion set explicitly is what lets a Go server accept TLS 1.0
		// (without it only the GODEBUG setting tls10server=1 would).
		c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS10
		if l.Knobs.TLS12() {
			c.MaxVersion = tls.VersionTLS12
		}
		return c, nil
	}
	return cfg
}
