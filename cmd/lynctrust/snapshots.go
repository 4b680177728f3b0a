package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/internal/changelog"
	"github.com/lynctrust/lynctrust/lync"
	"github.com/urfave/cli/v2"
)

func snapshotsCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "snapshots",
		Usage: "list the snapshots taken before each change",
		Description: `Snapshots live in LYNCTRUST_STATE_DIR, else the user's state directory
(~/.local/state/lynctrust, %LOCALAPPDATA%\lynctrust), oldest first as in the journal; the
newest is the last line. rollback --snapshot takes the name shown.`,
		Action: func(c *cli.Context) error {
			dir, err := g.state()
			if err != nil {
				return usageError(err)
			}
			snaps, bad, err := changelog.List(dir)
			if err != nil {
				return usageError(err)
			}
			for _, err := range bad {
				fmt.Fprintf(g.stderr, "lynctrust: warning: %v: skipped (not a snapshot lynctrust can read: a write cut short, or an edit); the others are shown\n", err)
			}
			// Oldest first, as the journal: the newest next to the prompt.
			sort.SliceStable(snaps, func(i, j int) bool { return snaps[i].Time.Before(snaps[j].Time) })
			gr := grid{name: "snapshots", header: []string{"time", "server", "command", "collections", "snapshot"}}
			for _, s := range snaps {
				var ids []string
				for id, list := range s.Lists {
					ids = append(ids, string(id)+" ("+itoa(len(list))+")")
				}
				sort.Strings(ids)
				gr.rows = append(gr.rows, []string{localTime(s.Time), s.Server, s.Command, strings.Join(ids, ", "), filepath.Base(s.Path)})
			}
			if snaps == nil {
				snaps = []*changelog.Snapshot{}
				fmt.Fprintf(g.stderr, "lynctrust: no snapshots in %s (--state-dir or LYNCTRUST_STATE_DIR chooses another directory)\n", filepath.Join(dir, "snapshots"))
			}
			return g.emit(snaps, gr)
		},
	}
}

func journalCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "journal",
		Usage: "show the change log",
		Action: func(c *cli.Context) error {
			dir, err := g.state()
			if err != nil {
				return usageError(err)
			}
			entries, torn, err := changelog.Read(dir)
			if err != nil {
				return err
			}
			for _, t := range torn {
				fmt.Fprintf(g.stderr, "lynctrust: warning: %v: skipped (a write cut short, or an edit); the other entries are shown\n", t)
			}
			open := map[string]bool{}
			for _, e := range changelog.Unresolved(entries, "") {
				open[e.ID] = true
			}
			gr := grid{name: "journal", header: []string{"time", "operator", "server", "command", "result", "after"}}
			for _, e := range entries {
				if e.Result == changelog.Pending && !open[e.ID] {
					continue // its outcome follows; the JSON has both lines
				}
				result := e.Result
				if open[e.ID] {
					result = "pending: no outcome recorded (the next change on " + e.Server + " settles it)"
				}
				var after []string
				for id, list := range e.After {
					after = append(after, string(id)+": "+lync.EntryList(list))
				}
				gr.rows = append(gr.rows, []string{localTime(e.Time), e.Operator, e.Server, e.Command, result, strings.Join(after, "\n")})
			}
			if entries == nil {
				entries = []changelog.Entry{}
				fmt.Fprintf(g.stderr, "lynctrust: no journal in %s yet (--state-dir or LYNCTRUST_STATE_DIR chooses another directory)\n", dir)
			}
			return g.emit(entries, gr)
		},
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// localTime is a time in this machine's zone, with the zone: a change
// window's notes compare times across machines.
func localTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") }
