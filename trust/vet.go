package trust

import (
	"crypto/x509"
	"fmt"
)

// FindRootNotCA is the finding of a chain whose top certificate cannot be a
// certification authority: trusting it would trust whoever holds its key.
const FindRootNotCA = "root-not-a-ca"

// RootVetting is what is known of the recommended path's root before it may
// go into TrustedCACerts and the web servers' stores. A root is fit only when
// it is a CA certificate, the leaf is valid for the host that was asked, and
// someone vouches for it: this machine's trust store or --owa-ca-file
// (TrustedHere), or the administrator, by other means the caller checks.
type RootVetting struct {
	Thumbprint  string    `json:"thumbprint"`
	Subject     string    `json:"subject"`
	IsCA        bool      `json:"is_ca"`
	HostValid   bool      `json:"host_valid"`
	TrustedHere bool      `json:"trusted_here"`
	Findings    []Finding `json:"findings"` // why it is not fit, empty when it is
}

// Fit reports whether nothing but the question of who vouches for the root
// stands in the way: it is a CA and the leaf names the host.
func (v RootVetting) Fit() bool { return v.IsCA && v.HostValid }

// VetRoot checks the recommended path's root. A server that answers for the
// OWA host with a self-signed certificate of its own, or a certificate for
// another name, is not Exchange, and its "root" must never be trusted.
func (r *Report) VetRoot() RootVetting {
	p := r.Recommended()
	root := r.RootCertificate()
	if p == nil || root == nil {
		return RootVetting{Findings: []Finding{{SevError, FindNoPath, "", "no certification path reaches a root", "run lynctrust resolve to see why"}}}
	}
	v := RootVetting{Thumbprint: p.RootThumbprint, Subject: p.RootSubject, IsCA: isCA(root), HostValid: true, TrustedHere: p.Trusted, Findings: []Finding{}}
	for _, f := range r.Findings {
		if f.Code == FindHostname {
			v.HostValid = false
			v.Findings = append(v.Findings, f)
		}
	}
	if !v.IsCA {
		v.Findings = append(v.Findings, Finding{SevError, FindRootNotCA, name(root),
			fmt.Sprintf("the top of the chain, %s, is not a CA certificate (no basic constraints with CA:TRUE): it cannot be Exchange's root, and trusting it would trust whoever holds its key",
				name(root)),
			"check which server answers for " + r.ServerName + " (DNS, --resolve, a proxy or a captive portal); if you know the CA, give its --thumbprint and --cert-file instead of --owa"})
	}
	if !v.TrustedHere {
		for _, f := range p.Findings {
			if f.Code == FindUntrustedRoot {
				v.Findings = append(v.Findings, f)
			}
		}
	}
	return v
}

// isCA accepts a certificate that says it is a CA, and a version 1
// self-signed root, which predates the basic constraints extension
// (RFC 5280 §6.1.4 (k) checks CA:TRUE only for version 3 certificates). A
// root's own signature proves nothing, so it is not checked here.
func isCA(c *x509.Certificate) bool {
	if c.BasicConstraintsValid {
		return c.IsCA
	}
	return c.Version == 1 && selfIssued(c)
}
