// Package psremote runs the Lync operations on a Front End over WinRM: it
// validates every value that goes into a script, quotes it with PowerShell's
// rules, renders the embedded scripts and parses what they print. It never
// prints, prompts or exits.
package psremote
