package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lynctrust/lynctrust/change"
	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/urfave/cli/v2"
)

func rollbackCommand(g *globals) *cli.Command {
	flags := append(connFlags(), writeFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "snapshot", Usage: "the snapshot to restore: its `FILE`, or its name as lynctrust snapshots lists it"},
		&cli.BoolFlag{Name: "force-deployment", Usage: "restore a snapshot taken in ANOTHER deployment (no pool in common with the one --server reaches)"})
	return &cli.Command{
		Name:  "rollback",
		Usage: "restore TrustedCACerts exactly as a snapshot holds it",
		Description: `Connects to the server the snapshot was taken on, unless --server (or LYNCTRUST_SERVER)
names another, and refuses a snapshot from another deployment (one that shares no pool with
the deployment read) unless --force-deployment says so. A rollback saves a snapshot of its
own first, so a rollback can be rolled back too.

EXAMPLES:
   $ lynctrust snapshots
   $ lynctrust rollback --user 'CONTOSO\lyncadmin' --snapshot 20261202T070512Z-fe01-add-Global.json --dry-run`,
		Flags:  flags,
		Action: func(c *cli.Context) error { return rollbackAction(g, c) },
	}
}

// rollbackOptions are rollback's flags, read in one place.
type rollbackOptions struct {
	Snapshot        string
	Server          string
	ForceDeployment bool
	Parallel        int
	Write           writeOptions
}

func rollbackAction(g *globals, c *cli.Context) error {
	if err := refuseLateFlags(c); err != nil {
		return err
	}
	o := rollbackOptions{Snapshot: c.String("snapshot"), Server: strings.TrimSpace(c.String("server")), ForceDeployment: c.Bool("force-deployment"),
		Parallel: c.Int("parallel"), Write: writeOptionsFrom(c)}
	if o.Snapshot == "" {
		return usageErrorf("rollback: give --snapshot FILE (lynctrust snapshots lists them)")
	}
	snap, err := loadSnapshot(g, o.Snapshot)
	if err != nil {
		return err
	}
	server := o.Server
	if server == "" {
		server = snap.Server
		fmt.Fprintf(g.stderr, "lynctrust: rolling back on %s, where the snapshot was taken\n", server)
	}
	conn, err := connectionTo(g, c, server)
	if err != nil {
		return err
	}
	p, err := planChange(g, c.Context, conn, o.Parallel,
		change.Request{Kind: change.Rollback, Snapshot: snap, AsTask: o.Write.RunAsTask, AnyDeployment: o.ForceDeployment})
	var other *change.OtherDeploymentError
	if errors.As(err, &other) {
		return &exitError{code: exitUsage, err: fmt.Errorf("--snapshot %s: %w", filepath.Base(snap.Path), other),
			hint: "check --server and the snapshot; to restore it here all the same, add --force-deployment"}
	}
	if err != nil {
		return err
	}
	if o.ForceDeployment {
		fmt.Fprintln(g.stderr, "lynctrust: WARNING: --force-deployment: the snapshot's deployment is not checked")
	}
	defer p.Close() // a plan not carried out leaves nothing waiting on the server
	if p.Empty() {
		return nothingToDo(g, "nothing to do: TrustedCACerts already matches the snapshot")
	}
	_, err = carryOut(g, c.Context, p, o.Write)
	return err
}

// loadSnapshot reads --snapshot: a file, or a name in the state directory's
// snapshots.
func loadSnapshot(g *globals, name string) (*changelog.Snapshot, error) {
	path := name
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(name, `/\`) {
		if dir, err := g.state(); err == nil {
			path = filepath.Join(dir, "snapshots", name)
		}
	}
	snap, err := changelog.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		where := ""
		if dir, derr := g.state(); derr == nil {
			where = " (in " + filepath.Join(dir, "snapshots") + "; --state-dir or LYNCTRUST_STATE_DIR chooses another directory)"
		}
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("--snapshot: %w", err), hint: "lynctrust snapshots lists the snapshots by name" + where}
	}
	if err != nil {
		return nil, usageError(fmt.Errorf("--snapshot: %w", err))
	}
	return snap, nil
}
