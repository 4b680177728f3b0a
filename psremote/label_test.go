package psremote

import (
	"regexp"
	"strings"
	"testing"
)

// TestDNSLabelRule: the written-out label check accepts exactly what RFC
// 1123's rule as a regular expression does.
func TestDNSLabelRule(t *testing.T) {
	rule := regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	labels := []string{"", strings.Repeat("a", 63), strings.Repeat("a", 64), "fe01", "xn--bcher-kva"}
	var grow func(prefix string, n int)
	grow = func(prefix string, n int) {
		labels = append(labels, prefix)
		if n == 0 {
			return
		}
		for _, c := range []string{"a", "Z", "0", "-", "_", ".", " "} {
			grow(prefix+c, n-1)
		}
	}
	grow("", 4)
	for _, l := range labels {
		if got, want := dnsLabel(l), rule.MatchString(l); got != want {
			t.Errorf("dnsLabel(%q) = %v, the rule says %v", l, got, want)
		}
	}
}

func TestLocalUser(t *testing.T) {
	for user, want := range map[string]bool{
		`.\Administrator`: true, `SE01\Administrator`: true, `se01\admin`: true,
		`LAB\lyncadmin`: false, `lyncadmin@lab.test`: false, `Administrator`: false, `SE01X\a`: false,
	} {
		c := Conn{Server: "se01.lab.test", User: user}
		if got := c.LocalUser(); got != want {
			t.Errorf("%s on se01.lab.test: local %v, want %v", user, got, want)
		}
	}
}
