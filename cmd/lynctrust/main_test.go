package main

import (
	"strings"
	"testing"

	"github.com/lynctrust/lynctrust/trust"
	"github.com/lynctrust/lynctrust/trust/lab"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"lynctrust": main})
}

// TestScripts runs the end-to-end CLI cases in testdata/script: each one runs
// lynctrust as a user would and checks stdout, stderr and the exit status.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Condition:           chromiumCondition,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exchange":   cmdExchange,
			"lync":       cmdLync,
			"labctl":     cmdLabctl,
			"rendertext": cmdRendertext,
		},
	})
}

// cmdExchange starts a simulated Exchange for the rest of the script:
//
//	exchange SCENARIO
//
// and sets OWA, EWS, AUTODISCOVER (the mail domain), CAFILE (the lab's public
// root), ROOT (its thumbprint), AIA_FETCHES_FILE and LYNCTRUST_RESOLVE.
func cmdExchange(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: exchange SCENARIO")
	}
	ex, err := lab.StartExchange(lab.Scenario(args[0]), lab.ExchangeOptions{Dir: ts.MkAbs(".")})
	ts.Check(err)
	ts.Defer(ex.Close)
	ts.Setenv("OWA", ex.OWAURL)
	ts.Setenv("EWS", ex.EWSURL)
	ts.Setenv("AUTODISCOVER", ex.Domain)
	ts.Setenv("CAFILE", ex.PublicRootFile)
	ts.Setenv("ROOT", trust.Thumbprint(ex.Root.Cert))
	ts.Setenv("LYNCTRUST_RESOLVE", strings.Join(ex.Resolve, ","))
	if len(ex.Roots) > 1 {
		ts.Setenv("ROOT2", trust.Thumbprint(ex.Roots[1].Cert))
	}
}
