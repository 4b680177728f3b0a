package trust

import "fmt"

// SChannelEvent explains one of the System log events that Windows' SChannel
// writes when a TLS handshake fails.
type SChannelEvent struct {
	ID       int    `json:"id"`
	Title    string `json:"title"`
	Meaning  string `json:"meaning"`
	Text     string `json:"example_text"`
	State    string `json:"error_state"`
	NextStep string `json:"next_step"`
}

// The texts are the ones Windows logs, old and new wordings; the "error state"
// numbers are internal to SChannel and publicly undocumented.
var schannelEvents = []SChannelEvent{
	{
		ID:    36874,
		Title: "no cipher suite in common",
		Meaning: "this machine is the TLS server: a client connected, but none of the cipher suites it offered " +
			"is enabled here, so the handshake failed",
		Text:     "An TLS 1.2 connection request was received from a remote client application, but none of the cipher suites supported by the client application are supported by the server.",
		State:    "not reported",
		NextStep: "compare the cipher suites and TLS versions enabled on this server with what the client (an old Lync client or Lync Phone Edition) supports",
	},
	{
		ID:    36887,
		Title: "fatal alert received",
		Meaning: "the remote end sent this machine a fatal TLS alert: the peer rejected something this machine " +
			"sent (for example its certificate chain)",
		Text:     "A fatal alert was received from the remote endpoint. The TLS protocol defined fatal alert code is 40. (older: The following fatal alert was received: 47.)",
		State:    "not reported",
		NextStep: "decode the alert code with `lynctrust explain tls-alert N`; the problem is on the side that sent it",
	},
	{
		ID:    36888,
		Title: "fatal alert generated and sent",
		Meaning: "this machine generated the fatal TLS alert and sent it to the remote end: this machine rejected " +
			"what the peer sent. With alert 43 it found a certificate of an unsupported type in the peer's " +
			"path, typically one signed with MD2 or MD5",
		Text: "A fatal alert was generated and sent to the remote endpoint. This may result in termination of the connection. " +
			"The TLS protocol defined fatal error code is 70. The Windows SChannel error state is 105. (older: The following fatal alert was generated: 40. The internal error state is 1205.)",
		State: "the error state number is internal to SChannel and undocumented; quote it to Microsoft support, do not read meaning into it",
		NextStep: "decode the alert with `lynctrust explain tls-alert N`; for alert 43, run `lynctrust resolve --owa URL` " +
			"to find MD2/MD4/MD5 signatures in the Exchange chain",
	},
}

// SChannelEvents returns every event the table knows.
func SChannelEvents() []SChannelEvent {
	out := make([]SChannelEvent, len(schannelEvents))
	copy(out, schannelEvents)
	return out
}

// LookupSChannel finds an SChannel event by its ID.
func LookupSChannel(id int) (SChannelEvent, error) {
	for _, e := range schannelEvents {
		if e.ID == id {
			return e, nil
		}
	}
	return SChannelEvent{}, fmt.Errorf("SChannel event %d is not one lynctrust explains (it knows 36874, 36887 and 36888)", id)
}
