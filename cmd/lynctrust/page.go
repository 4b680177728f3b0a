package main

import (
	"fmt"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/trust"
)

// page is what the HTML report says above its tables, for a change board:
// the verdict, what was checked where and by whom, and for a change the
// exact PowerShell and the way back.
type page struct {
	verdict string // one line: "FAIL: …", "PASS: …"
	level   string // pass, warning or error: the verdict's colour
	user    string // the account used on the servers; "" for the local one
	facts   [][2]string
	blocks  [][2]string // a title and preformatted text (a script, a command)
}

func (p *page) fact(label, value string) {
	if value != "" {
		p.facts = append(p.facts, [2]string{label, value})
	}
}

func (p *page) block(title, text string) {
	if text != "" {
		p.blocks = append(p.blocks, [2]string{title, text})
	}
}

// exchangeRoot states the Exchange root that a resolve found, as a change
// board checks it: subject, thumbprint, validity.
func (p *page) exchangeRoot(url string, rep *trust.Report) {
	p.fact("Exchange URL checked", url)
	if rep == nil {
		return
	}
	path := rep.Recommended()
	if path == nil || path.RootThumbprint == "" {
		p.fact("Exchange root", "(no path reaches a root)")
		return
	}
	root := path.Certificates[len(path.Certificates)-1]
	p.fact("Exchange root", fmt.Sprintf("%s\nthumbprint %s\nvalid %s to %s", root.Subject, path.RootThumbprint,
		root.NotBefore.UTC().Format("2006-01-02"), root.NotAfter.UTC().Format("2006-01-02")))
}

// commandLine is the command as typed, quoted for a POSIX shell (and for
// PowerShell too, unless a value holds a single quote), so that it can be
// run again.
func commandLine(args []string) string {
	if len(args) == 0 {
		return ""
	}
	out := []string{"lynctrust"}
	for _, a := range args[1:] {
		out = append(out, shellQuote(a))
	}
	return strings.Join(out, " ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`&|;<>()*?[]{}!#~%") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// versionString is lynctrust's version as the build says it: the release
// (-ldflags from git describe, or the module version of go install), else
// the commit it was built from.
func versionString() string {
	v := buildInfo()
	s := v.Version
	if s == "dev" && v.Revision != "" {
		s = "dev, commit " + v.Revision[:min(12, len(v.Revision))]
		if v.Modified {
			s += " with local changes"
		}
	}
	return s
}

// writeHeader writes the top of the HTML report: the verdict and the context.
func (g *globals) writeHeader() {
	p := g.page
	if p == nil {
		p = &page{}
	}
	w := g.stdout
	if p.verdict != "" {
		fmt.Fprintf(w, "<p class=\"verdict %s\">%s</p>\n", p.level, htmlEscape(escapeControls(p.verdict)))
	}
	who := p.user
	if who == "" {
		if u, err := user.Current(); err == nil {
			who = u.Username
		}
	}
	facts := append([][2]string{}, p.facts...)
	facts = append(facts,
		[2]string{"operator", changelog.Operator(who)},
		[2]string{"time", g.now().Format("2006-01-02 15:04:05 MST (UTC-07:00)")},
		[2]string{"command line", commandLine(g.args)},
		[2]string{"lynctrust", versionString()})
	fmt.Fprintln(w, "<table class=\"facts\">")
	for _, f := range facts {
		fmt.Fprintf(w, "<tr><th>%s</th><td>%s</td></tr>\n", htmlEscape(f[0]), htmlEscape(escapeControls(f[1])))
	}
	fmt.Fprintln(w, "</table>")
}

// writeBlocks writes the preformatted parts (the PowerShell) after the tables.
func (g *globals) writeBlocks() {
	if g.page == nil {
		return
	}
	for _, b := range g.page.blocks {
		fmt.Fprintf(g.stdout, "<h3>%s</h3>\n<pre>%s</pre>\n", htmlEscape(b[0]), htmlEscape(escapeControls(b[1])))
	}
}

// rollbackLine undoes a change from its snapshot.
func rollbackLine(server, snapshot string) string {
	return commandLine([]string{"", "rollback", "--server", server, "--snapshot", filepath.Clean(snapshot)})
}

// product names the Lync family from the module the server loaded.
func product(module string, ps int) string {
	name := "Lync Server 2010/2013"
	if module == "SkypeForBusiness" {
		name = "Skype for Business Server 2015/2019"
	}
	return fmt.Sprintf("%s (%s module, Windows PowerShell %d)", name, module, ps)
}

// deployment names what a report covers: its sites and pools.
func deployment(pools []lync.Pool) string {
	var sites, names []string
	for _, p := range pools {
		if p.Site != "" && !contains(sites, p.Site) {
			sites = append(sites, p.Site)
		}
		names = append(names, p.FQDN)
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("site %s; pools %s", strings.Join(sites, ", "), strings.Join(names, ", "))
}

// findingsVerdict sums findings up in one line.
func findingsVerdict(fs []trust.Finding) (string, string) {
	var errs, warns int
	first := ""
	for _, f := range fs {
		switch f.Severity {
		case trust.SevError:
			errs++
		case trust.SevWarning:
			warns++
		default:
			continue
		}
		if first == "" {
			first = f.Message
		}
	}
	switch {
	case errs > 0:
		return fmt.Sprintf("FAIL: %d error(s), %d warning(s). %s", errs, warns, first), "error"
	case warns > 0:
		return fmt.Sprintf("WARNINGS: %d warning(s). %s", warns, first), "warning"
	}
	return "PASS: nothing wrong found", "pass"
}
