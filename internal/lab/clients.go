package lab

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Loopback is the address a lab service really listens on: the mapping of
// lab.json's resolve for fqdn:port.
func (l *Lab) Loopback(fqdn string, port int) (string, bool) {
	prefix := fqdn + ":" + strconv.Itoa(port) + ":"
	for _, r := range l.Info.Resolve {
		if rest, ok := strings.CutPrefix(r, prefix); ok {
			if strings.Count(rest, ":") == 0 {
				rest += ":" + strconv.Itoa(port)
			}
			return rest, true
		}
	}
	return "", false
}

// PywinrmEnv is the environment Debian's pywinrm 0.3.0 needs against the lab
// (winrm-facts §4): OpenSSL's legacy provider for ntlm_auth's MD4, written to
// dir/openssl.cnf, and no REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, which 0.3.0
// lets override server_cert_validation='ignore'.
func PywinrmEnv(dir string) ([]string, error) {
	conf := filepath.Join(dir, "openssl.cnf")
	const legacy = "openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n[provider_sect]\n" +
		"default = default_sect\nlegacy = legacy_sect\n[default_sect]\nactivate = 1\n[legacy_sect]\nactivate = 1\n"
	if err := os.WriteFile(conf, []byte(legacy), 0o600); err != nil {
		return nil, err
	}
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "REQUESTS_CA_BUNDLE=") && !strings.HasPrefix(e, "CURL_CA_BUNDLE=") {
			env = append(env, e)
		}
	}
	return append(env, "OPENSSL_CONF="+conf), nil
}
