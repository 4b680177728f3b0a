package main

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/trust"
)

// rootRefusal is add's refusal to trust a root that --owa found: the server
// that answered may not be Exchange, or nobody vouches for its CA. Fleets
// report it as "refused".
type rootRefusal struct {
	thumb    string
	findings []trust.Finding
}

func (r *rootRefusal) Error() string {
	msgs := make([]string, len(r.findings))
	for i, f := range r.findings {
		msgs[i] = f.Message
	}
	return fmt.Sprintf("refusing to trust %s: %s; nothing was changed", r.thumb, strings.Join(msgs, "; "))
}

// refuseRoot is the error add returns, with the hint that fixes it.
func refuseRoot(thumb string, findings []trust.Finding, hint string) error {
	return &exitError{code: exitFindings, err: &rootRefusal{thumb: thumb, findings: findings}, hint: hint}
}

// vetOWARoot refuses a root from --owa that cannot be Exchange's: one that is
// no CA, or a leaf that is not for the host asked. No --trust-root overrides
// that: whoever answered is not the Exchange the administrator named.
func vetOWARoot(rep *trust.Report, owa string) (trust.RootVetting, error) {
	v := rep.VetRoot()
	if v.Fit() {
		return v, nil
	}
	var bad []trust.Finding
	hint := ""
	for _, f := range v.Findings {
		if f.Code != trust.FindUntrustedRoot {
			bad = append(bad, f)
			if hint == "" || f.Code == trust.FindRootNotCA {
				hint = f.Fix
			}
		}
	}
	return v, refuseRoot(v.Thumbprint+" ("+v.Subject+"), which "+owa+" presented", bad, hint)
}

// vouchedBy says who vouches for a root from --owa, or refuses it: this
// machine's trust store or --owa-ca-file, the administrator naming it with
// --trust-root, or the web servers, whose LocalMachine\Root already holds it.
func vouchedBy(g *globals, v trust.RootVetting, trustRoot string, store lync.CAStore, missing []string) (string, error) {
	if trustRoot != "" {
		named, err := lync.ParseThumbprint(trustRoot)
		if err != nil {
			return "", usageError(fmt.Errorf("--trust-root: %w", err))
		}
		if !strings.EqualFold(named.String(), v.Thumbprint) {
			return "", refuseRoot(v.Thumbprint+" ("+v.Subject+")", []trust.Finding{{Severity: trust.SevError, Code: "trust-root-mismatch",
				Message: fmt.Sprintf("the Exchange root is %s, not the %s that --trust-root names", v.Thumbprint, named)}},
				"check which server answers for OWA; if the new root is right, name it with --trust-root "+v.Thumbprint)
		}
		return "--trust-root names it", nil
	}
	switch {
	case v.TrustedHere:
		return "this machine's trust store or --owa-ca-file holds it", nil
	case len(missing) == 0 && store == lync.TrustedRootCA:
		return "LocalMachine\\Root on every web server already holds it", nil
	}
	var fs []trust.Finding
	for _, f := range v.Findings {
		if f.Code == trust.FindUntrustedRoot {
			fs = append(fs, f)
		}
	}
	if len(fs) == 0 {
		fs = []trust.Finding{{Severity: trust.SevError, Code: trust.FindUntrustedRoot, Message: "no trust store lynctrust knows holds it"}}
	}
	where := "the web servers' stores were not its proof: it is for " + string(store)
	if store == lync.TrustedRootCA {
		where = "LocalMachine\\Root lacks it on " + strings.Join(missing, ", ")
	}
	fs = append(fs, trust.Finding{Severity: trust.SevError, Code: "root-not-on-web-servers", Message: where})
	return "", refuseRoot(v.Thumbprint+" ("+v.Subject+")", fs,
		"if you know this is Exchange's root, pin it with --owa-ca-file FILE, or accept it by thumbprint: "+withFlag(g.args, "--trust-root", v.Thumbprint))
}

// certMatches checks that --cert-file holds the certificate lynctrust is
// about to trust, so that it never installs one CA and trusts another.
func certMatches(der []byte, thumb lync.Thumbprint) error {
	sum := sha1.Sum(der)
	got := strings.ToUpper(hex.EncodeToString(sum[:]))
	if !strings.EqualFold(got, thumb.String()) {
		return usageErrorf("--cert-file holds %s, not %s: give the file of the certificate you are trusting", got, thumb)
	}
	return nil
}

// withFlag is the command line as typed, with one more flag at the end.
func withFlag(args []string, flag, value string) string {
	if len(args) == 0 {
		args = []string{"lynctrust"}
	}
	return commandLine(append(append([]string(nil), args...), flag, value))
}
