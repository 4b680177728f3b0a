//go:build windows

package trust

import (
	"crypto/x509"
	"unsafe"

	"golang.org/x/sys/windows"
)

// platformRoots enumerates the LocalMachine and CurrentUser views of the ROOT,
// AuthRoot and CA system stores through CryptoAPI, the stores Windows builds
// chains from (crypto/x509's pool for Windows cannot be listed).
func platformRoots() []StoreCert {
	var out []StoreCert
	seen := map[string]bool{}
	for _, name := range []string{"ROOT", "AuthRoot", "CA"} {
		p, err := windows.UTF16PtrFromString(name)
		if err != nil {
			continue
		}
		store, err := windows.CertOpenSystemStore(0, p)
		if err != nil {
			continue
		}
		var ctx *windows.CertContext
		for {
			ctx, err = windows.CertEnumCertificatesInStore(store, ctx)
			if err != nil || ctx == nil {
				break
			}
			der := unsafe.Slice(ctx.EncodedCert, ctx.Length)
			c, err := x509.ParseCertificate(append([]byte(nil), der...))
			if err != nil || seen[string(c.Raw)] {
				continue
			}
			seen[string(c.Raw)] = true
			out = append(out, StoreCert{Cert: c, Store: "Windows " + name, Intermediate: name == "CA"})
		}
		windows.CertCloseStore(store, 0)
	}
	return out
}
