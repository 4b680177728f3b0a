package change

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lynctrust/lynctrust/lync"
)

// Deployment names the deployment that was read: its pools' FQDNs, sorted.
// A snapshot records it, and rollback compares it.
func Deployment(inv *lync.Inventory) []string {
	var out []string
	for _, p := range inv.Pools {
		out = append(out, strings.ToLower(p.FQDN))
	}
	sort.Strings(out)
	return out
}

// OtherDeploymentError: the snapshot was taken in a deployment that shares
// no pool with the one read.
type OtherDeploymentError struct {
	Snapshot []string // the snapshot's pools
	Here     []string // the pools read now
}

func (e *OtherDeploymentError) Error() string {
	return fmt.Sprintf("the snapshot was taken in another deployment (pools %s), not this one (pools %s)",
		strings.Join(e.Snapshot, ", "), strings.Join(e.Here, ", "))
}

// sameDeployment reports whether a snapshot's pools and the pools read
// share one: pools come and go, a deployment keeps most of them. A snapshot
// that records none (an older version's) cannot be checked, and passes.
func sameDeployment(snap, here []string) bool {
	if len(snap) == 0 || len(here) == 0 {
		return true
	}
	for _, s := range snap {
		for _, h := range here {
			if strings.EqualFold(s, h) {
				return true
			}
		}
	}
	return false
}
