//go:build windows

package main

import (
	"context"
	"os"

	"golang.org/x/term"
)

// promptPassword asks on the console (CONIN$/CONOUT$), without echo, even
// when standard input and output are redirected. An interrupt (ctx) ends it
// at once, with the console's echo restored.
func promptPassword(ctx context.Context, prompt string) (string, error) {
	in, err := os.OpenFile("CONIN$", os.O_RDWR, 0)
	if err != nil {
		return "", errNoTerminal
	}
	out, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0)
	if err != nil {
		in.Close()
		return "", errNoTerminal
	}
	defer out.Close()
	if !term.IsTerminal(int(in.Fd())) {
		in.Close()
		return "", errNoTerminal
	}
	return readSecret(ctx, in, out, prompt)
}

func openTerminal() (*os.File, error) { return os.OpenFile("CONIN$", os.O_RDWR, 0) }
