// Command lynctrust manages the web services trust store (TrustedCACerts) of
// Lync Server and Skype for Business Server, which tethered Lync Phone Edition
// devices rely on to reach Exchange.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// SIGTERM (kill, systemd, a CI runner) stops as Ctrl-C does: the lab
	// removes its temporary folder, with its passwords and keys.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
