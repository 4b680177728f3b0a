package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab"
	"github.com/urfave/cli/v2"
)

func demoCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "the whole fix, end to end, against an in-process lab",
		Description: `Starts a lab in which Exchange has a certificate from a public CA and the Lync pool one
from the enterprise CA (the situation in which tethered phones show "Connection to
Microsoft Exchange is unavailable"), then resolves the Exchange root, audits, shows the
difference the fix makes, applies it and audits again. Nothing outside the lab is touched.`,
		Action: func(c *cli.Context) error { return runDemo(g, c) },
	}
}

func runDemo(g *globals, c *cli.Context) error {
	if onCommandLine(g.args, "state-dir") {
		return usageErrorf("demo keeps its snapshots and journal in a temporary directory that it removes at the end, so that nothing outside the lab is touched: leave out --state-dir")
	}
	start := time.Now()
	tmp, err := os.MkdirTemp("", "lynctrust-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	l, err := lab.Start(lab.Options{Product: "2019", Edition: "standard", Directors: 1, StateDir: filepath.Join(tmp, "lab")})
	if err != nil {
		return err
	}
	defer l.Close()
	user, pw := l.Account("lyncadmin")
	pwFile := filepath.Join(tmp, "password")
	if err := os.WriteFile(pwFile, []byte(pw), 0o600); err != nil {
		return err
	}
	info := l.Info
	server := info.Servers[0].FQDN
	base := []string{"lynctrust", "--no-color", "--state-dir", filepath.Join(tmp, "state"), "--resolve", strings.Join(info.Resolve, ",")}
	if g.output != "table" {
		base = append(base, "--output", g.output)
	}
	conn := []string{"--server", server, "--user", user, "--password-file", pwFile}
	owa := []string{"--owa", info.OWAURL}

	say := func(format string, a ...any) { fmt.Fprintf(g.stdout, "\n==> "+format+"\n\n", a...) }
	step := func(want int, args ...string) error {
		all := append(append([]string{}, base...), args...)
		fmt.Fprintf(g.stdout, "$ lynctrust %s\n", strings.Join(args, " "))
		if code := run(c.Context, all, strings.NewReader(""), g.stdout, g.stderr); code != want {
			return fmt.Errorf("demo step %q ended with exit status %d, want %d", strings.Join(args[:1], " "), code, want)
		}
		return nil
	}

	fmt.Fprintf(g.stdout, "lynctrust demo: Exchange (%s) has a certificate from a public CA; the Lync pool %s\n"+
		"has one from the enterprise CA. Tethered phones do not trust Exchange until its root CA is in\n"+
		"TrustedCACerts. The lab's public CA stands in for DigiCert & co (--owa-ca-file plays the system\n"+
		"store), and LYNCTRUST_RESOLVE-style mappings send the lab's host names to loopback.\n",
		info.OWAURL, info.Servers[0].Pool)
	say("1. Find the Exchange root CA's thumbprint from OWA")
	if err := step(0, "resolve", "--root-only", "--owa", info.OWAURL, "--owa-ca-file", info.PublicCAFile); err != nil {
		return err
	}
	say("2. Audit: is that root trusted for every pool, and present on every Front End?")
	if err := step(exitFindings, append(append(append([]string{"audit"}, conn...), owa...), "--owa-ca-file", info.PublicCAFile)...); err != nil {
		return err
	}
	say("3. Dry run: the difference the fix makes (nothing changes; --verbose adds the PowerShell)")
	if err := step(0, append(append(append([]string{"add"}, conn...), owa...), "--owa-ca-file", info.PublicCAFile, "--dry-run")...); err != nil {
		return err
	}
	say("4. Add it: snapshot, @{Add=...}, read back, journal")
	if err := step(0, append(append(append([]string{"add"}, conn...), owa...), "--owa-ca-file", info.PublicCAFile)...); err != nil {
		return err
	}
	say("5. Audit again")
	if err := step(0, append(append(append([]string{"audit"}, conn...), owa...), "--owa-ca-file", info.PublicCAFile)...); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "\nDone in %.1fs: the Exchange root is trusted for every pool. On a real deployment, reboot the\n"+
		"tethered phones next. Point lynctrust at your own Front End with --server, --user and --password-file.\n", time.Since(start).Seconds())
	return nil
}
