package main

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"
)

// TestFleetSummaryWorstFirst: the summary lists deployments in the order the
// exit status ranks them (docs/fleets.md): 4 over 6 over 3 over 5 over 2
// over 1 over 0, not by the number.
func TestFleetSummaryWorstFirst(t *testing.T) {
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: &out, output: "csv"}
	var results []deploymentResult
	for _, r := range []struct {
		name string
		code int
	}{{"done", 0}, {"declined", 5}, {"usage", 1}, {"unreachable", 3}, {"findings", 2}, {"local", 6}, {"unverified", 4}} {
		results = append(results, deploymentResult{Name: r.name, Server: r.name + ".lab.test", Status: "x", ExitCode: r.code})
	}
	err := renderFleet(g, "add", results)
	if code, _ := exitCodeOf(err); code != exitUnverified {
		t.Errorf("exit %d, want %d", code, exitUnverified)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^(\w+),`).FindAllStringSubmatch(out.String(), -1) {
		names = append(names, m[1])
	}
	want := "[deployment unverified local unreachable declined findings usage done]"
	if got := fmt.Sprint(names); got != want {
		t.Errorf("rows in the order %s, want %s\n%s", got, want, out.String())
	}
}
