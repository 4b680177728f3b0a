//go:build windows

package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// promptPassword asks on the console (CONIN$/CONOUT$), without echo, even
// when standard input and output are redirected.
func promptPassword(prompt string, w io.Writer) (string, error) {
	in, err := os.OpenFile("CONIN$", os.O_RDWR, 0)
	if err != nil {
		return "", errNoTerminal
	}
	defer in.Close()
	out, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0)
	if err != nil {
		return "", errNoTerminal
	}
	defer out.Close()
	if !term.IsTerminal(int(in.Fd())) {
		return "", errNoTerminal
	}
	fmt.Fprint(out, prompt)
	b, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(out)
	return string(b), err
}

func openTerminal() (*os.File, error) { return os.OpenFile("CONIN$", os.O_RDWR, 0) }
