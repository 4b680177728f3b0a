package trust

import (
	"sort"
	"strings"
	"unicode"
)

// Cause is one likely reason for an error message, with how to check it: a
// lynctrust command where one exists, otherwise the manual step.
type Cause struct {
	Cause string `json:"cause"`
	Check string `json:"check"`
}

// Symptom is an error message quoted in the Lync, Skype for Business and
// Exchange troubleshooting articles, with its causes, most likely first.
type Symptom struct {
	Message string   `json:"message"`
	Where   string   `json:"where"`
	Source  string   `json:"source"`
	Causes  []Cause  `json:"causes"`
	aliases []string // other wordings of the same message
}

// Manual steps the articles give, shared between symptoms.
var (
	checkClock = Cause{"the client's clock is more than five minutes away from the servers' (certificate sign-in and Kerberos fail)",
		"`lynctrust doctor --owa URL --server FQDN` compares clocks; on the client: w32tm /resync"}
	checkDeleteSignIn = Cause{"cached credentials or the cached personal certificate are corrupt or out of date",
		"in the client: Delete my sign-in info (Lync 2013 and later), then sign in again"}
	checkUpdate = Cause{"the client or the Microsoft Online Services Sign-In Assistant is out of date",
		"update the Lync/Skype for Business client and, for Lync 2010, the Sign-In Assistant; make sure its service is running"}
	checkChain = Cause{"a certificate in the server's chain is not trusted by the client (missing intermediate, untrusted root)",
		"`lynctrust resolve --owa https://POOL-OR-EXCHANGE-FQDN` lists every path and what is missing"}
	checkPorts = Cause{"TCP 443 or 5061 is blocked by a proxy or firewall between the client and the pool or Edge",
		"`lynctrust doctor --server FQDN` checks 443, 4443 and 5061; check the proxy bypass list for the Lync and Exchange host names"}
	checkMachineGUID = Cause{"the MachineGuid registry value has braces around it, which breaks the client's key container",
		"in HKLM\\SOFTWARE\\Microsoft\\Cryptography, remove the { } around MachineGuid, then sign in again"}
	checkEndpointCache = Cause{"a stale endpoint cache still points at old servers or settings",
		"sign out, delete the sip_<user> folder under %LOCALAPPDATA%\\Microsoft\\Office\\<version>\\Lync (Lync 2010: %LOCALAPPDATA%\\Microsoft\\Communicator), sign in"}
	checkDNS = Cause{"stale or wrong DNS records for the sign-in domain (lyncdiscover, _sipinternaltls, sip)",
		"ipconfig /flushdns on the client, then check the SRV and A records"}
	checkTrustedCACerts = Cause{"the Exchange root CA is not in the TrustedCACerts of the Web Services configuration that governs the phone's pool (Exchange and Lync certificates come from different CAs)",
		"`lynctrust audit --owa URL --server FQDN`, then `lynctrust add --owa URL --server FQDN`"}
	checkWeakHash = Cause{"a certificate in the Exchange path is signed with MD2, MD4 or MD5 (clients send TLS alert 43, SChannel 36888)",
		"`lynctrust resolve --owa URL` flags weak signatures on every certificate"}
	checkIntermediate = Cause{"Exchange does not send its intermediate certificate",
		"`lynctrust resolve --owa URL`; install the intermediate in LocalMachine\\CA on every Exchange server"}
	checkAutodiscover = Cause{"autodiscover or EWS presents a different or untrusted certificate than OWA",
		"`lynctrust resolve --autodiscover DOMAIN --ews URL`"}
)

var symptoms = []Symptom{
	{
		Message: "There was a problem acquiring a personal certificate required to sign in. If the problem continues, please contact your support team.",
		Where:   "Lync 2010/2013 client sign-in",
		Source:  "Microsoft KB 2604176",
		Causes:  []Cause{checkClock, checkDeleteSignIn, checkUpdate, checkChain, checkMachineGUID, checkEndpointCache},
	},
	{
		Message: "Cannot sign in to Lync. There was a problem verifying the certificate from the server.",
		Where:   "Lync client sign-in",
		Source:  "Microsoft KB 2604176",
		Causes:  []Cause{checkChain, checkClock, checkDeleteSignIn, checkUpdate, checkEndpointCache},
		aliases: []string{"Cannot sign into Lync. There was a problem verifying the certificate from the server."},
	},
	{
		Message: "Cannot sign in to Lync. You may have entered your sign-in address, user name, or password incorrectly, or the authentication service may be incompatible with this version of the program.",
		Where:   "Lync 2010 client sign-in",
		Source:  "Microsoft KB 2604176",
		Causes: []Cause{
			{"the sign-in address, user name or password is wrong", "check the user name format (DOMAIN\\user or user@domain) and the password"},
			checkUpdate, checkClock, checkDeleteSignIn,
		},
	},
	{
		Message: "Connection to Microsoft Exchange is unavailable. Please contact your support team.",
		Where:   "Lync Phone Edition (tethered CX600, CX500, CX3000, HP 4110/4120)",
		Source:  "ocsguy.com, Lync Phone Edition and Exchange",
		Causes: []Cause{
			checkTrustedCACerts,
			{"the Exchange root is trusted in TrustedCACerts but missing from LocalMachine\\Root on a Front End that serves the phone",
				"`lynctrust audit --server FQDN` checks every web server's store"},
			checkIntermediate, checkWeakHash,
			{"the EWS certificate is a wildcard certificate, which Lync Phone Edition reportedly cannot use",
				"`lynctrust resolve --ews URL` flags wildcard leaves"},
			{"the phone signed in with a PIN, and Exchange does not accept PIN authentication",
				"sign in with the phone tethered over USB to a PC, with the user's domain credentials"},
			{"the phone still has its old trust list", "sign out and in again or reboot the phone, then re-tether it"},
		},
	},
	{
		Message: "Credentials are required",
		Where:   "Lync/Skype for Business client, Exchange integration",
		Source:  "Lync and Exchange integration troubleshooting",
		Causes: []Cause{
			checkAutodiscover, checkChain,
			{"the client cannot authenticate to EWS (wrong or missing Exchange credentials)", "enter the Exchange credentials when prompted, or check EWS authentication settings"},
			checkDeleteSignIn,
		},
		aliases: []string{"Exchange credentials are required", "Lync needs your credentials to connect to Exchange"},
	},
	{
		Message: "Lync is experiencing connection issues with the Exchange server",
		Where:   "Lync/Skype for Business client, Exchange integration",
		Source:  "Lync and Exchange integration troubleshooting",
		Causes:  []Cause{checkAutodiscover, checkChain, checkPorts, checkDNS},
		aliases: []string{"Lync cannot connect to the Exchange server"},
	},
	{
		Message: "Cannot sign in because the server is temporarily unavailable. If the problem continues, please contact your support team.",
		Where:   "Lync/Skype for Business client sign-in",
		Source:  "Lync sign-in troubleshooting",
		Causes:  []Cause{checkPorts, checkDNS, checkEndpointCache, checkChain},
	},
}

// Symptoms returns every message the table knows.
func Symptoms() []Symptom {
	out := make([]Symptom, len(symptoms))
	copy(out, symptoms)
	return out
}

// words lower-cases s and keeps only letters and digits, split into words.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

var stopWords = map[string]bool{"the": true, "a": true, "an": true, "to": true, "of": true, "in": true, "is": true,
	"if": true, "or": true, "and": true, "your": true, "please": true, "there": true, "was": true, "with": true}

// MatchSymptoms matches text that a user typed or pasted against the known
// messages, loosely: case, punctuation and partial text do not matter. The best
// matches come first; nothing matches when too little of the text is known.
func MatchSymptoms(text string) []Symptom {
	q := words(text)
	var keep []string
	for _, w := range q {
		if !stopWords[w] {
			keep = append(keep, w)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	joined := strings.Join(q, " ")
	type scored struct {
		s     Symptom
		score float64
	}
	var hits []scored
	for _, s := range symptoms {
		best := 0.0
		for _, m := range append([]string{s.Message}, s.aliases...) {
			mw := words(m)
			mj := strings.Join(mw, " ")
			if strings.Contains(mj, joined) || strings.Contains(joined, mj) {
				best = max(best, 1+float64(len(q))/float64(len(mw)+1))
				continue
			}
			set := map[string]bool{}
			for _, w := range mw {
				set[w] = true
			}
			found := 0
			for _, w := range keep {
				if set[w] {
					found++
				}
			}
			best = max(best, float64(found)/float64(len(keep)))
		}
		if best >= 0.6 {
			hits = append(hits, scored{s, best})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].score > hits[j].score })
	out := make([]Symptom, len(hits))
	for i, h := range hits {
		out[i] = h.s
	}
	return out
}
