package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pslab "github.com/lynctrust/lynctrust/internal/lab"
	"github.com/lynctrust/lynctrust/internal/lab/exchange"
	"github.com/lynctrust/lynctrust/trust"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"lynctrust": lynctrustWithTranscript})
}

// lynctrustWithTranscript is main, with everything lynctrust writes to
// standard output and standard error also appended to $LYNCTRUST_TRANSCRIPT,
// so that nosecret can prove the password never appears in any of it.
func lynctrustWithTranscript() {
	f := os.Getenv("LYNCTRUST_TRANSCRIPT")
	if f == "" {
		main()
		return
	}
	t, err := os.OpenFile(f, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		panic(err)
	}
	code := run(context.Background(), os.Args, os.Stdin, io.MultiWriter(os.Stdout, t), io.MultiWriter(os.Stderr, t))
	t.Close()
	os.Exit(code)
}

// cmdNosecret fails if a lab secret appears in anything lynctrust wrote:
// its standard output and error in this script (the transcript), and every
// file under $WORK except the lab's own files (exchange.json holds the lab
// accounts' passwords by design) and the password files. The secrets are
// the lyncadmin and local Administrator passwords, and the client
// certificate's private key.
func cmdNosecret(ts *testscript.TestScript, neg bool, args []string) {
	pw := ts.Getenv("PASSWORD")
	if pw == "" {
		ts.Fatalf("nosecret: no lab running")
	}
	secrets := []string{pw, ts.Getenv("LOCAL_PASSWORD")}
	if key, err := os.ReadFile(ts.Getenv("CLIENT_KEY")); err == nil {
		// Any line of the key's base64 would give it away.
		lines := strings.Split(strings.TrimSpace(string(key)), "\n")
		secrets = append(secrets, lines[1], lines[len(lines)/2])
	}
	checked := 0
	root := ts.Getenv("WORK")
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".password") || strings.Contains(path, "chromium-profile") ||
			strings.HasPrefix(path, filepath.Join(root, "lab")+string(filepath.Separator)) {
			return nil
		}
		b, err := os.ReadFile(path)
		for i, secret := range secrets {
			if err == nil && secret != "" && bytes.Contains(b, []byte(secret)) {
				ts.Fatalf("secret %d appears in %s", i, path)
			}
		}
		checked++
		return nil
	})
	if _, err := os.Stat(ts.Getenv("LYNCTRUST_TRANSCRIPT")); err != nil {
		ts.Fatalf("nosecret: no transcript: lynctrust wrote nothing?")
	}
	fmt.Fprintf(ts.Stdout(), "checked %d files\n", checked)
}

// condition answers [chromium] and [kdc]: whether the headless browser, or
// MIT Kerberos' KDC for the lab, is installed. When scripts/test asks for
// them (LYNCTRUST_REQUIRE_*), their absence is an error, not a skip.
func condition(cond string) (bool, error) {
	if cond != "kdc" {
		return chromiumCondition(cond)
	}
	if _, err := pslab.KDCPrograms(); err != nil {
		if os.Getenv("LYNCTRUST_REQUIRE_KDC") != "" {
			return false, err
		}
		return false, nil
	}
	return true, nil
}

// TestScripts runs the end-to-end CLI cases in testdata/script: each one runs
// lynctrust as a user would and checks stdout, stderr and the exit status.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Condition:           condition,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exchange":   cmdExchange,
			"lync":       cmdLync,
			"labctl":     cmdLabctl,
			"rendertext": cmdRendertext,
			"nosecret":   cmdNosecret,
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
	ex, err := exchange.StartExchange(exchange.Scenario(args[0]), exchange.ExchangeOptions{Dir: ts.MkAbs(".")})
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
