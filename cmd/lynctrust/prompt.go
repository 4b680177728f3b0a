package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// readSecret reads a line from the terminal in without echo, after prompt
// on out, and closes in. The read runs aside, so that an interrupt (ctx)
// ends it at once: the terminal's state is put back and ctx's error
// returned, while the abandoned read ends with the process.
func readSecret(ctx context.Context, in, out *os.File, prompt string) (string, error) {
	fd := int(in.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		in.Close()
		return "", errNoTerminal
	}
	fmt.Fprint(out, prompt)
	type answer struct {
		b   []byte
		err error
	}
	got := make(chan answer, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		got <- answer{b, err}
	}()
	// The terminal is closed after the newline is written: in and out are
	// the same file on Unix, and a close first lost the newline, so that
	// what came next joined the prompt's line.
	select {
	case a := <-got:
		fmt.Fprintln(out)
		in.Close()
		return string(a.b), a.err
	case <-ctx.Done():
		term.Restore(fd, state)
		fmt.Fprintln(out)
		go func() {
			<-got
			in.Close()
		}()
		return "", ctx.Err()
	}
}

// readAnswer reads a line from the terminal tty, and closes it; an
// interrupt (ctx) ends it at once with ctx's error.
func readAnswer(ctx context.Context, tty io.ReadCloser) (string, error) {
	got := make(chan string, 1)
	go func() {
		defer tty.Close()
		line, _ := bufio.NewReader(tty).ReadString('\n')
		got <- line
	}()
	select {
	case line := <-got:
		return strings.TrimSpace(line), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
