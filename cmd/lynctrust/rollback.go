package main

import (
	"fmt"

	"github.com/lynctrust/lynctrust/change"
	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/urfave/cli/v2"
)

func rollbackCommand(g *globals) *cli.Command {
	flags := append(connFlags(), writeFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "snapshot", Usage: "the snapshot `FILE` to restore (see lynctrust snapshots)"})
	return &cli.Command{
		Name:  "rollback",
		Usage: "restore TrustedCACerts exactly as a snapshot holds it",
		Description: `EXAMPLES:
   $ lynctrust snapshots
   $ lynctrust rollback --server fe01.pool01.contoso.com --user CONTOSO\lyncadmin --snapshot ~/.local/state/lynctrust/snapshots/….json --dry-run`,
		Flags:  flags,
		Action: func(c *cli.Context) error { return rollbackAction(g, c) },
	}
}

// rollbackOptions are rollback's flags, read in one place.
type rollbackOptions struct {
	Snapshot string
	Parallel int
	Write    writeOptions
}

func rollbackAction(g *globals, c *cli.Context) error {
	if err := refuseLateFlags(c); err != nil {
		return err
	}
	o := rollbackOptions{Snapshot: c.String("snapshot"), Parallel: c.Int("parallel"), Write: writeOptionsFrom(c)}
	if o.Snapshot == "" {
		return usageErrorf("rollback: give --snapshot FILE (lynctrust snapshots lists them)")
	}
	snap, err := changelog.Load(o.Snapshot)
	if err != nil {
		return usageError(fmt.Errorf("--snapshot: %w", err))
	}
	conn, err := connection(g, c)
	if err != nil {
		return err
	}
	p, err := planChange(g, c.Context, conn, o.Parallel, change.Request{Kind: change.Rollback, Snapshot: snap, AsTask: o.Write.RunAsTask})
	if err != nil {
		return err
	}
	defer p.Close() // a plan not carried out leaves nothing waiting on the server
	if p.Empty() {
		fmt.Fprintln(g.stdout, "nothing to do: TrustedCACerts already matches the snapshot")
		return nil
	}
	_, err = carryOut(g, c.Context, p, o.Write)
	return err
}
