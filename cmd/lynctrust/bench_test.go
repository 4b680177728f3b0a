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

// BenchmarkAddAgainstManualProcedure compares lynctrust add, and remove,
// with the documented manual procedure done by a script
// (bench/manual_procedure.py: pywinrm, one WinRM command per cmdlet, each
// with its own Import-Module), on the lab with 100 ms of latency per request
// and a 1 s Import-Module. Each measurement has a lab of its own; remove's
// starts with the root trusted.
//
//	go test ./cmd/lynctrust -run '^$' -bench AddAgainstManual -benchtime 1x
func BenchmarkAddAgainstManualProcedure(b *testing.B) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import winrm").Run(); err != nil {
		b.Skip("needs Debian's python3-winrm")
	}
	lynctrust := func(l *lab.Lab, args ...string) {
		user, pw := l.Account("lyncadmin")
		dir := b.TempDir()
		pwFile := filepath.Join(dir, "pw")
		os.WriteFile(pwFile, []byte(pw), 0o600)
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"lynctrust", "--state-dir", filepath.Join(dir, "state"), "--resolve", strings.Join(l.Info.Resolve, ","),
			args[0], "--server", l.Info.Servers[0].FQDN, "--user", user, "--password-file", pwFile, "--thumbprint", l.Info.ExchangeRootThumbprint}, args[1:]...),
			strings.NewReader(""), &out, &errOut)
		if code != 0 {
			b.Fatalf("lynctrust %s: %d %s", args[0], code, errOut.String())
		}
	}
	manual := func(l *lab.Lab, what string) {
		user, pw := l.Account("lyncadmin")
		addr, _ := l.Loopback(l.Info.Servers[0].FQDN, 5985)
		env, err := lab.PywinrmEnv(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(py, "../../bench/manual_procedure.py", "http://"+addr+"/wsman", user, pw, l.Info.ExchangeRootThumbprint, "SkypeForBusiness", what)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("manual procedure: %v %s", err, out)
		}
	}
	measure := func(what string, do func(l *lab.Lab)) (time.Duration, lab.CountersSnapshot) {
		l, err := lab.Start(lab.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		want := 1
		if what == "remove" {
			lynctrust(l, "add")
			for _, s := range l.Deployment.Servers {
				s.Counters.Reset()
			}
			want = 0
		}
		l.Knobs.SetLatency(100 * time.Millisecond)
		l.Knobs.SetImportCost(time.Second)
		start := time.Now()
		do(l)
		d := time.Since(start)
		if len(l.Deployment.Trusted("Global")) != want {
			b.Fatalf("%s: Global holds %d entries, want %d", what, len(l.Deployment.Trusted("Global")), want)
		}
		return d, l.Counters()
	}
	for i := 0; i < b.N; i++ {
		for _, what := range []string{"add", "remove"} {
			m, mc := measure(what, func(l *lab.Lab) { manual(l, what) })
			t, tc := measure(what, func(l *lab.Lab) { lynctrust(l, what, "--yes") })
			suffix := ""
			if what == "remove" {
				suffix = "-remove"
			}
			b.ReportMetric(m.Seconds(), "s/manual"+suffix)
			b.ReportMetric(t.Seconds(), "s/lynctrust"+suffix)
			b.ReportMetric(t.Seconds()/m.Seconds(), "ratio"+suffix)
			b.ReportMetric(float64(mc.Shells), "shells/manual"+suffix)
			b.ReportMetric(float64(tc.Shells), "shells/lynctrust"+suffix)
			b.ReportMetric(float64(mc.ModuleImports), "imports/manual"+suffix)
			b.ReportMetric(float64(tc.ModuleImports), "imports/lynctrust"+suffix)
			b.ReportMetric(float64(mc.Requests), "requests/manual"+suffix)
			b.ReportMetric(float64(tc.Requests), "requests/lynctrust"+suffix)
		}
	}
}
