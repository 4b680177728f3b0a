package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdRendertext renders an HTML file in headless Chromium, prints it to PDF
// and prints the PDF's text: what a person opening the page would read.
//
//	rendertext FILE
func cmdRendertext(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: rendertext FILE")
	}
	browser := findBrowser()
	if browser == "" {
		ts.Fatalf("rendertext needs chromium and pdftotext: guard the script with [!chromium] skip")
	}
	src := ts.MkAbs(args[0])
	pdf := filepath.Join(filepath.Dir(src), "render.pdf")
	profile := ts.MkAbs("chromium-profile")
	out, err := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+profile,
		"--print-to-pdf="+pdf, "--no-pdf-header-footer", "file://"+src).CombinedOutput()
	if err != nil {
		ts.Fatalf("chromium: %v\n%s", err, out)
	}
	text, err := exec.Command("pdftotext", "-layout", pdf, "-").Output()
	if err != nil {
		ts.Fatalf("pdftotext: %v", err)
	}
	ts.Stdout().Write(text)
}

func findBrowser() string {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		return ""
	}
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			return p
		}
	}
	return ""
}

// chromiumCondition is the [chromium] condition: true when a browser and
// pdftotext are installed; an error when they are required but missing.
func chromiumCondition(cond string) (bool, error) {
	if cond != "chromium" {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if findBrowser() != "" {
		return true, nil
	}
	if os.Getenv("LYNCTRUST_REQUIRE_CHROMIUM") != "" {
		return false, fmt.Errorf("chromium and pdftotext are required: apt-get install chromium poppler-utils (scripts/test does)")
	}
	return false, nil
}
