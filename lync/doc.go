// Package lync is the Lync side of lynctrust: the values that may enter a
// script (thumbprints, CA stores, identities), validated by their grammar and
// quoted with PowerShell's rules; the embedded scripts that read and change
// TrustedCACerts; the records they print, parsed strictly; and the audit
// rules. It runs its scripts through psremote, and never prints, prompts or
// exits.
package lync
