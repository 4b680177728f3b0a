// Package psremote runs PowerShell on a Windows server over WinRM: the
// sealed NTLM, Kerberos, Basic and certificate transports, the delivery of
// a script that real WinRM on Windows Server 2008 R2 honours, the limits on
// what a server may send, the classification of connection failures, and
// the strict parser of the records a script prints. It knows nothing of
// Lync (package lync does), and never prints, prompts or exits.
package psremote
