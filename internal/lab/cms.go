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

// webDefaults are the defaults of a Web Services configuration's
// properties (lync-facts §2); those it does not give are empty [inferred].
var webDefaults = map[string]any{
	"InferCertChainFromSSL": false, "EnableCertChainDownload": true, "UseCertificateAuth": true,
	"UsePinAuth": true, "UseWindowsAuth": "Negotiate", "CASigningKeyLength": 2048,
	"DefaultValidityPeriodHours": 4320, "MaxValidityPeriodHours": 8760, "MinValidityPeriodHours": 8,
	"MaxCSRKeySize": 16384, "MinCSRKeySize": 1024, "EnableGroupExpansion": true, "MaxGroupSizeToExpand": 100,
	"MACResolverUrl": "", "SecondaryLocationSourceUrl": "", "AllowAnonymousAccessToLWAConference": true,
	"ShowDownloadCommunicatorAttendeeLink": true, "ShowJoinUsingLegacyClientLink": false,
	"AllowExternalAuthentication": true, "AutoLaunchLyncWebAccess": false, "ShowAlternateJoinOptionsExpanded": false,
	"UseWsFedPassiveAuth": false, "WsFedPassiveMetadataUri": "", "EnableCORS": false,
	"EnableMediaBasicAuth": false, "EnableStatisticsInResponse": false, "HstsMaxAgeInSeconds": 31536000,
	"MobilePreferredAuthType": "None", "UseDomainAuthInLWA": false, "UseWebClientLegacyUI": false,
	"PendingGetWaitTimeOutInMinutes": 0, "PendingGetWaitSupportingApps": "",
	"OverrideAuthTypeForInternalClients": "", "OverrideAuthTypeForExternalClients": "",
}

// notProperties are Set-CsWebServiceConfiguration's parameters that are
// not properties of the object it sets.
var notProperties = map[string]bool{"Identity": true, "Instance": true, "TrustedCACerts": true, "Force": true, "WhatIf": true, "Confirm": true}

// webProps are the properties of a Web Services configuration with their
// defaults, per product: every parameter Set-CsWebServiceConfiguration takes
// in that version, in the reference, except Identity, Instance,
// TrustedCACerts and the switches.
func webProps(product string) []struct {
	name string
	def  any
} {
	var out []struct {
		name string
		def  any
	}
	for _, n := range LoadReference().Params("Set-CsWebServiceConfiguration", product) {
		if notProperties[n] {
			continue
		}
		def, ok := webDefaults[n]
		if !ok {
			def = ""
		}
		if n == "CrossDomainAuthorizationList" {
			def = nil // a list the lab does not model: $null
		}
		out = append(out, struct {
			name string
			def  any
		}{n, def})
	}
	return out
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
