package change

import (
	"strings"
	"testing"

	"github.com/lynctrust/lynctrust/lync"
)

// A snapshot belongs to the deployment read when they share a pool; a
// snapshot that records no pools (an older version's) is not refused.
func TestSameDeployment(t *testing.T) {
	inv := &lync.Inventory{Pools: []lync.Pool{{FQDN: "Pool02.contoso.com"}, {FQDN: "pool01.contoso.com"}}}
	here := Deployment(inv)
	if got := strings.Join(here, " "); got != "pool01.contoso.com pool02.contoso.com" {
		t.Fatalf("Deployment = %q", got)
	}
	for _, c := range []struct {
		snap []string
		want bool
	}{
		{nil, true},
		{[]string{"pool01.contoso.com"}, true},
		{[]string{"POOL02.contoso.com", "pool03.contoso.com"}, true},
		{[]string{"pool01.fabrikam.com"}, false},
	} {
		if got := sameDeployment(c.snap, here); got != c.want {
			t.Errorf("sameDeployment(%q) = %v, want %v", c.snap, got, c.want)
		}
	}
}
