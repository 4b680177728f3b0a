//go:build !windows

package main

import (
	"context"
	"os"

	"golang.org/x/term"
)

// promptPassword asks on the controlling terminal, without echo. An
// interrupt (ctx) ends it at once, with the terminal's echo restored.
func promptPassword(ctx context.Context, prompt string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", errNoTerminal
	}
	if !term.IsTerminal(int(tty.Fd())) {
		tty.Close()
		return "", errNoTerminal
	}
	return readSecret(ctx, tty, tty, prompt)
}

func openTerminal() (*os.File, error) { return os.OpenFile("/dev/tty", os.O_RDWR, 0) }
