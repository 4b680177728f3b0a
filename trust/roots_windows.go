//go:build windows

package trust

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// platformRoots enumerates the LocalMachine and CurrentUser views of the ROOT,
// AuthRoot and CA system stores through CryptoAPI, the stores Windows builds
// chains from (crypto/x509's pool for Windows cannot be listed). The
// certificates are copied, not parsed; a certificate in two stores counts
// in the first.
func platformRoots() ([]storeDER, []string) {
	var out []storeDER
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
			der := append([]byte(nil), unsafe.Slice(ctx.EncodedCert, ctx.Length)...)
			out = append(out, storeDER{der: der, store: "Windows " + name, intermediate: name == "CA"})
		}
		windows.CertCloseStore(store, 0)
	}
	return out, nil
}
