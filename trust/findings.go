package trust

// Severity of a finding. The order matters: an error is worse than a warning.
type Severity string

// Severities, from worst.
const (
	SevError   Severity = "error"
	SevWarning Severity = "warning"
	SevInfo    Severity = "info"
)

func (s Severity) rank() int {
	switch s {
	case SevError:
		return 3
	case SevWarning:
		return 2
	case SevInfo:
		return 1
	}
	return 0
}

// Worse reports whether s is worse than t.
func (s Severity) Worse(t Severity) bool { return s.rank() > t.rank() }

// Finding is one thing wrong (or worth knowing), with a one-line fix.
type Finding struct {
	Severity    Severity `json:"severity"`
	Code        string   `json:"code"`
	Certificate string   `json:"certificate,omitempty"` // subject of the certificate concerned
	Message     string   `json:"message"`
	Fix         string   `json:"fix"`
}

// Finding codes, stable for runbooks that read the JSON.
const (
	FindWeakSignature       = "weak-signature"
	FindWeakRootSignature   = "weak-root-self-signature"
	FindIntermediateNotSent = "intermediate-not-sent"
	FindNoPath              = "no-path-to-root"
	FindUntrustedRoot       = "untrusted-root"
	FindExpired             = "expired"
	FindNotYetValid         = "not-yet-valid"
	FindHostname            = "hostname-mismatch"
	FindWrongOrder          = "wrong-order"
	FindExtraCerts          = "extra-certificates"
	FindRootSent            = "root-sent"
	FindWildcard            = "wildcard-leaf"
	FindSmallKey            = "rsa-key-too-small"
	FindNoCertificate       = "no-certificate"
	FindAIAFailed           = "aia-download-failed"
	FindAIASkipped          = "aia-not-followed"
	FindLegacyTLS           = "legacy-tls"
)

func worst(fs []Finding) Severity {
	var w Severity
	for _, f := range fs {
		if f.Severity.Worse(w) {
			w = f.Severity
		}
	}
	return w
}

func count(fs []Finding, s Severity) int {
	n := 0
	for _, f := range fs {
		if f.Severity == s {
			n++
		}
	}
	return n
}
