package changelog

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/lynctrust/lynctrust/lync"
)

// The results a journal line has besides a change's own statuses: a change
// under way (written, fsynced, before any remote write), and the outcomes a
// later run gives a pending change whose own outcome never came (lynctrust
// was killed, the machine lost power) after reading the server.
const (
	Pending    = "pending"
	NotApplied = "not-applied"
	Unknown    = "unknown"
)

// Install is a certificate put into a server's LocalMachine store.
type Install struct {
	Server     string          `json:"server"`
	Thumbprint lync.Thumbprint `json:"thumbprint"`
	Store      string          `json:"store"` // Root, CA, AuthRoot
}

// NewID is a journal entry's id: 16 random hex digits.
func NewID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Unresolved lists the pending entries for server that no later line
// answers, oldest first.
func Unresolved(entries []Entry, server string) []Entry {
	answered := map[string]bool{}
	for _, e := range entries {
		if e.ID != "" && e.Result != Pending {
			answered[e.ID] = true
		}
	}
	var out []Entry
	for _, e := range entries {
		if e.Result == Pending && e.ID != "" && !answered[e.ID] && (server == "" || strings.EqualFold(e.Server, server)) {
			out = append(out, e)
		}
	}
	return out
}
