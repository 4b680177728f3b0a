package trust

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Alert is one entry of the IANA TLS Alerts registry
// (https://www.iana.org/assignments/tls-parameters/tls-parameters.xhtml#tls-parameters-6),
// with what it usually means between Lync, Exchange and their clients.
type Alert struct {
	Code    int    `json:"code"`
	Name    string `json:"name"`
	Meaning string `json:"meaning"`
	Sender  string `json:"sent_by"`
	ForLync string `json:"lync_exchange"`
	// SChannel is the Windows error code Schannel returns when it receives the
	// alert, where Microsoft documents it ("Schannel error codes for TLS and
	// SSL alerts", learn.microsoft.com/windows/win32/secauthn).
	SChannel string `json:"schannel_error,omitempty"`
	Ref      string `json:"reference"`
}

const (
	byEither = "either side"
	byServer = "the server"
	byClient = "the client"
)

var alerts = []Alert{
	{0, "close_notify", "the sender will send no more messages on this connection", byEither, "normal end of a connection, not an error", "", "RFC 8446"},
	{10, "unexpected_message", "a message arrived out of order or was not expected", byEither, "often a non-TLS peer or a proxy that intercepts the connection", "SEC_E_ILLEGAL_MESSAGE 0x80090326", "RFC 8446"},
	{20, "bad_record_mac", "a record could not be authenticated", byEither, "corruption in transit, or a broken TLS offload device", "SEC_E_MESSAGE_ALTERED 0x8009030F", "RFC 8446"},
	{21, "decryption_failed_RESERVED", "a record could not be decrypted (TLS 1.0 only; never sent by modern stacks)", byEither, "very old peer", "SEC_E_DECRYPT_FAILURE 0x80090330", "RFC 5246"},
	{22, "record_overflow", "a record was longer than allowed", byEither, "broken middlebox or implementation bug", "SEC_E_ILLEGAL_MESSAGE 0x80090326", "RFC 8446"},
	{30, "decompression_failure_RESERVED", "decompression failed (TLS compression, no longer used)", byEither, "very old peer", "SEC_E_MESSAGE_ALTERED 0x8009030F", "RFC 5246"},
	{40, "handshake_failure", "no acceptable set of security parameters: no common protocol version or cipher suite", byEither, "TLS 1.0/1.1 disabled on one side while Lync Phone Edition or an old Lync client still needs it, or no common cipher suite (SChannel 36874 on the server), such as a server that offers only RSA key exchange (Exchange 2010 on Windows Server 2008 R2 may) and a client that no longer offers it (Go 1.22 and later by default; lynctrust resolve does offer it)", "SEC_E_ILLEGAL_MESSAGE 0x80090326", "RFC 8446"},
	{41, "no_certificate_RESERVED", "the client had no certificate (SSL 3.0 only)", byClient, "SSL 3.0 only; not seen with TLS", "", "RFC 5246"},
	{42, "bad_certificate", "a certificate was corrupt or its signature did not verify", byEither, "a broken or mis-signed certificate in the Exchange or Lync chain", "SEC_E_CERT_UNKNOWN 0x80090327", "RFC 8446"},
	{43, "unsupported_certificate", "a certificate was of an unsupported type", byEither, "a certificate in the path is signed with a hash the peer refuses, for example MD2 or MD5: run `lynctrust resolve --owa URL` to find weak hashes in the Exchange chain", "SEC_E_CERT_UNKNOWN 0x80090327", "RFC 5246 §7.2.2"},
	{44, "certificate_revoked", "a certificate was revoked by its signer", byEither, "the Exchange or Lync certificate is on a CRL: reissue it", "CRYPT_E_REVOKED 0x80092010", "RFC 8446"},
	{45, "certificate_expired", "a certificate has expired or is not yet valid", byEither, "an expired leaf or intermediate, or a clock more than a few minutes off: `lynctrust resolve` shows which certificate and its dates", "SEC_E_CERT_EXPIRED 0x80090328", "RFC 8446"},
	{46, "certificate_unknown", "some other problem with a certificate made it unacceptable", byEither, "often a host name mismatch or a chain the client cannot build", "SEC_E_CERT_UNKNOWN 0x80090327", "RFC 8446"},
	{47, "illegal_parameter", "a field in the handshake was out of range or inconsistent", byEither, "implementation bug or interception device", "SEC_E_ILLEGAL_MESSAGE 0x80090326", "RFC 8446"},
	{48, "unknown_ca", "the chain could not be built to a trusted CA", byEither, "the classic tethered-phone case: the Exchange root is not trusted; add it with `lynctrust add --owa URL`, and check intermediates with `lynctrust resolve`", "SEC_E_UNTRUSTED_ROOT 0x80090325", "RFC 8446"},
	{49, "access_denied", "a valid certificate was received but access control refused the handshake", byEither, "a policy on the peer refuses this client", "SEC_E_LOGON_DENIED 0x8009030C", "RFC 8446"},
	{50, "decode_error", "a message could not be decoded", byEither, "malformed message, often an interception device", "SEC_E_ILLEGAL_MESSAGE 0x80090326", "RFC 8446"},
	{51, "decrypt_error", "a handshake cryptographic operation failed, such as a signature check", byEither, "key or signature mismatch, for example a certificate whose key does not match", "SEC_E_DECRYPT_FAILURE 0x80090330", "RFC 8446"},
	{52, "too_many_cids_requested", "too many connection IDs were requested (DTLS 1.3)", byEither, "not used by Lync or Exchange", "", "RFC 9147"},
	{60, "export_restriction_RESERVED", "an export-restricted parameter was refused (SSL/TLS 1.0 era)", byEither, "very old peer", "SEC_E_ILLEGAL_MESSAGE 0x80090326", "RFC 5246"},
	{70, "protocol_version", "the protocol version the peer offered is not supported", byEither, "TLS versions do not overlap: Lync Phone Edition and Lync 2010 clients need TLS versions that hardened servers disable", "SEC_E_UNSUPPORTED_FUNCTION 0x80090302", "RFC 8446"},
	{71, "insufficient_security", "the server requires stronger ciphers than the client offers", byServer, "cipher hardening on Exchange or Lync that old clients cannot meet", "SEC_E_ALGORITHM_MISMATCH 0x80090331", "RFC 8446"},
	{80, "internal_error", "an error unrelated to the peer or the protocol", byEither, "look at the sender's SChannel events for the cause", "SEC_E_INTERNAL_ERROR 0x80090304", "RFC 8446"},
	{86, "inappropriate_fallback", "a version fallback was detected and refused", byServer, "a client retried with an older TLS version after a failure", "", "RFC 7507"},
	{90, "user_canceled", "the handshake was cancelled for a reason unrelated to a protocol failure", byEither, "usually harmless", "", "RFC 8446"},
	{100, "no_renegotiation_RESERVED", "renegotiation was refused (TLS 1.2 and earlier)", byEither, "renegotiation for client certificates refused", "", "RFC 5246"},
	{109, "missing_extension", "a mandatory extension was missing (TLS 1.3)", byEither, "TLS 1.3 implementation mismatch", "", "RFC 8446"},
	{110, "unsupported_extension", "an extension arrived that was not requested", byClient, "implementation mismatch", "SEC_E_ILLEGAL_MESSAGE 0x80090326", "RFC 8446"},
	{111, "certificate_unobtainable_RESERVED", "a certificate could not be fetched from a client-provided URL", byServer, "not used by Lync or Exchange", "", "RFC 6066"},
	{112, "unrecognized_name", "no server name matches the SNI the client sent", byServer, "the client asked for a host name the server has no certificate for: check --servername and the IIS bindings", "", "RFC 6066"},
	{113, "bad_certificate_status_response", "an invalid OCSP status response was received", byClient, "a broken stapled OCSP response", "", "RFC 6066"},
	{114, "bad_certificate_hash_value_RESERVED", "a certificate hash did not match a client-provided value", byServer, "not used by Lync or Exchange", "", "RFC 6066"},
	{115, "unknown_psk_identity", "no acceptable pre-shared key identity", byServer, "not used by Lync or Exchange", "SEC_E_ILLEGAL_MESSAGE 0x80090326", "RFC 4279"},
	{116, "certificate_required", "a certificate is required but the client sent none", byServer, "client certificate authentication without a client certificate", "", "RFC 8446"},
	{117, "general_error", "an error with no more specific alert", byEither, "look at the sender's logs", "", "draft-ietf-tls-rfc8446bis"},
	{120, "no_application_protocol", "no ALPN protocol in common", byServer, "HTTP/2-only endpoint or proxy", "SEC_E_APPLICATION_PROTOCOL_MISMATCH 0x80090367", "RFC 7301"},
	{121, "ech_required", "the server requires Encrypted Client Hello", byServer, "not used by Lync or Exchange", "", "draft-ietf-tls-esni"},
}

// Alerts returns the whole registry, in code order.
func Alerts() []Alert {
	out := make([]Alert, len(alerts))
	copy(out, alerts)
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// AlertByCode finds an alert by its number.
func AlertByCode(code int) (Alert, bool) {
	for _, a := range alerts {
		if a.Code == code {
			return a, true
		}
	}
	return Alert{}, false
}

// LookupAlert finds an alert by number ("43") or by registry name, ignoring case,
// spaces for underscores and the _RESERVED suffix ("unsupported certificate").
func LookupAlert(s string) (Alert, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if a, ok := AlertByCode(n); ok {
			return a, nil
		}
		return Alert{}, fmt.Errorf("TLS alert %d is not in the IANA registry (assigned codes run from 0 to 121 with gaps)", n)
	}
	key := strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(s))
	for _, a := range alerts {
		name := strings.ToLower(a.Name)
		if name == key || strings.TrimSuffix(name, "_reserved") == key {
			return a, nil
		}
	}
	return Alert{}, fmt.Errorf("no TLS alert is named %q", s)
}

// AlertName gives the registry name of code, or "alert(N)" as Go's crypto/tls
// does for a code it does not know.
func AlertName(code int) string {
	if a, ok := AlertByCode(code); ok {
		return a.Name
	}
	return fmt.Sprintf("alert(%d)", code)
}
