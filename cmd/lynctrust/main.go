// Command lynctrust manages the web services trust store (TrustedCACerts) of
// Lync Server and Skype for Business Server, which tethered Lync Phone Edition
// devices rely on to reach Exchange.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
