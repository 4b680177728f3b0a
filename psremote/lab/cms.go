package lab

import (
	"sort"
	"strings"
	"time"
)

// CACert is one entry of TrustedCACerts: Lync's CACertID.
type CACert struct {
	Thumbprint string `json:"thumbprint"`
	CAStore    string `json:"ca_store"`
}

// WebConfig is one Web Services configuration collection.
type WebConfig struct {
	Identity       string         `json:"identity"` // Global, Site:NAME, Service:WebServer:FQDN
	TrustedCACerts []CACert       `json:"trusted_ca_certs"`
	Props          map[string]any `json:"properties"`
}

func (w *WebConfig) clone() *WebConfig {
	c := &WebConfig{Identity: w.Identity, TrustedCACerts: append([]CACert(nil), w.TrustedCACerts...), Props: map[string]any{}}
	for k, v := range w.Props {
		c.Props[k] = v
	}
	return c
}

// webProps are the properties of a Web Services configuration with their
// defaults, per product (lync-facts §2).
func webProps(product string) []struct {
	name string
	def  any
} {
	type p = struct {
		name string
		def  any
	}
	props := []p{
		{"InferCertChainFromSSL", false}, {"EnableCertChainDownload", true}, {"UseCertificateAuth", true},
		{"UsePinAuth", true}, {"UseWindowsAuth", "Negotiate"}, {"CASigningKeyLength", 2048},
		{"DefaultValidityPeriodHours", 4320}, {"MaxValidityPeriodHours", 8760}, {"MinValidityPeriodHours", 8},
		{"MaxCSRKeySize", 16384}, {"MinCSRKeySize", 1024}, {"EnableGroupExpansion", true}, {"MaxGroupSizeToExpand", 100},
		{"MACResolverUrl", ""}, {"SecondaryLocationSourceUrl", ""}, {"AllowAnonymousAccessToLWAConference", true},
		{"ShowDownloadCommunicatorAttendeeLink", true}, {"ShowJoinUsingLegacyClientLink", false},
	}
	if product != "2010" {
		props = append(props, p{"AllowExternalAuthentication", true}, p{"AutoLaunchLyncWebAccess", false},
			p{"ShowAlternateJoinOptionsExpanded", false}, p{"UseWsFedPassiveAuth", false}, p{"WsFedPassiveMetadataUri", ""}, p{"EnableCORS", false})
	}
	if product == "2015" || product == "2019" {
		props = append(props, p{"EnableMediaBasicAuth", false}, p{"EnableStatisticsInResponse", false},
			p{"HstsMaxAgeInSeconds", 31536000}, p{"MobilePreferredAuthType", "None"}, p{"UseDomainAuthInLWA", false},
			p{"UseWebClientLegacyUI", false}, p{"PendingGetWaitTimeOutInMinutes", 0})
	}
	return props
}

func newWebConfig(identity, product string) *WebConfig {
	w := &WebConfig{Identity: identity, TrustedCACerts: []CACert{}, Props: map[string]any{}}
	for _, p := range webProps(product) {
		w.Props[p.name] = p.def
	}
	return w
}

// cmsState is one version of the Central Management Store.
type cmsState struct {
	Version int                   `json:"version"`
	Time    time.Time             `json:"time"`
	Configs map[string]*WebConfig `json:"configs"` // by lower-case identity
}

func (s *cmsState) clone() *cmsState {
	c := &cmsState{Version: s.Version, Time: s.Time, Configs: map[string]*WebConfig{}}
	for k, v := range s.Configs {
		c.Configs[k] = v.clone()
	}
	return c
}

// sorted lists the collections in Lync's order: global, sites, services.
func (s *cmsState) sorted() []*WebConfig {
	var out []*WebConfig
	for _, c := range s.Configs {
		out = append(out, c)
	}
	rank := func(id string) int {
		switch {
		case strings.EqualFold(id, "Global"):
			return 0
		case strings.HasPrefix(strings.ToLower(id), "site:"):
			return 1
		}
		return 2
	}
	sort.Slice(out, func(i, j int) bool {
		if rank(out[i].Identity) != rank(out[j].Identity) {
			return rank(out[i].Identity) < rank(out[j].Identity)
		}
		return strings.ToLower(out[i].Identity) < strings.ToLower(out[j].Identity)
	})
	return out
}

// canonicalIdentity spells an identity as Lync prints it, or returns "".
func canonicalIdentity(id string) string {
	t := strings.TrimSpace(id)
	l := strings.ToLower(t)
	switch {
	case l == "global":
		return "Global"
	case strings.HasPrefix(l, "site:") && len(t) > 5:
		return "Site:" + t[5:]
	case strings.HasPrefix(l, "service:webserver:") && len(t) > 18:
		return "Service:WebServer:" + strings.ToLower(t[18:])
	}
	return ""
}
