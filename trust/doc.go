// Package trust holds the certificate logic of lynctrust: thumbprints, chains and
// their findings, and the tables that decode TLS alerts, SChannel events and the
// error messages Lync and Skype for Business clients show. It never prints,
// prompts or touches the network except where a function says it dials.
package trust
