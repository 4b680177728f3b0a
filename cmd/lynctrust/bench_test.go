package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab"
)

// BenchmarkAddAgainstManualProcedure compares lynctrust add with the
// documented manual procedure done by a script (bench/manual_procedure.py:
// pywinrm, one WinRM command per cmdlet, each with its own Import-Module), on
// the lab with 100 ms of latency per request and a 1 s Import-Module.
//
//	go test ./cmd/lynctrust -run '^$' -bench AddAgainstManual -benchtime 1x
func BenchmarkAddAgainstManualProcedure(b *testing.B) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import winrm").Run(); err != nil {
		b.Skip("needs Debian's python3-winrm")
	}
	for i := 0; i < b.N; i++ {
		measure := func(do func(l *lab.Lab) error) (time.Duration, lab.CountersSnapshot) {
			l, err := lab.Start(lab.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			l.Knobs.SetLatency(100 * time.Millisecond)
			l.Knobs.SetImportCost(time.Second)
			start := time.Now()
			if err := do(l); err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			if len(l.Deployment.Trusted("Global")) != 1 {
				b.Fatal("the root was not added")
			}
			return d, l.Counters()
		}
		manual, mc := measure(func(l *lab.Lab) error {
			user, pw := l.Account("lyncadmin")
			addr, _ := l.Loopback(l.Info.Servers[0].FQDN, 5985)
			env, err := lab.PywinrmEnv(b.TempDir())
			if err != nil {
				return err
			}
			cmd := exec.Command(py, "../../bench/manual_procedure.py", "http://"+addr+"/wsman", user, pw, l.Info.ExchangeRootThumbprint, "SkypeForBusiness")
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("manual procedure: %v %s", err, out)
			}
			return nil
		})
		tool, tc := measure(func(l *lab.Lab) error {
			user, pw := l.Account("lyncadmin")
			dir := b.TempDir()
			pwFile := filepath.Join(dir, "pw")
			os.WriteFile(pwFile, []byte(pw), 0o600)
			var out, errOut bytes.Buffer
			code := run(context.Background(), []string{"lynctrust", "--state-dir", filepath.Join(dir, "state"), "--resolve", strings.Join(l.Info.Resolve, ","),
				"add", "--server", l.Info.Servers[0].FQDN, "--user", user, "--password-file", pwFile, "--thumbprint", l.Info.ExchangeRootThumbprint},
				strings.NewReader(""), &out, &errOut)
			if code != 0 {
				b.Fatalf("lynctrust add: %d %s", code, errOut.String())
			}
			return nil
		})
		b.ReportMetric(manual.Seconds(), "s/manual")
		b.ReportMetric(tool.Seconds(), "s/lynctrust")
		b.ReportMetric(tool.Seconds()/manual.Seconds(), "ratio")
		b.ReportMetric(float64(mc.Shells), "shells/manual")
		b.ReportMetric(float64(tc.Shells), "shells/lynctrust")
		b.ReportMetric(float64(mc.ModuleImports), "imports/manual")
		b.ReportMetric(float64(tc.ModuleImports), "imports/lynctrust")
		b.ReportMetric(float64(mc.Requests), "requests/manual")
		b.ReportMetric(float64(tc.Requests), "requests/lynctrust")
	}
}
