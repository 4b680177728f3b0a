package main

import (
	"fmt"
	"strings"

	"github.com/lynctrust/lynctrust/change"
	"github.com/lynctrust/lynctrust/lync"
)

// sayUninstalled says what a rollback did to the store installs of the
// change it undid, server by server.
func sayUninstalled(g *globals, res *change.Result) {
	for _, u := range res.Uninstalled {
		switch u.State {
		case "removed":
			fmt.Fprintf(g.stderr, "lynctrust: removed %s from LocalMachine\\%s on %s (installed by the change rolled back)\n", u.Thumbprint, u.Store, u.Server)
		case "absent":
			fmt.Fprintf(g.stderr, "lynctrust: %s is no longer in LocalMachine\\%s on %s: nothing to remove\n", u.Thumbprint, u.Store, u.Server)
		case "kept":
			fmt.Fprintf(g.stderr, "lynctrust: kept %s in LocalMachine\\%s on %s, installed by the change rolled back: %s\n", u.Thumbprint, u.Store, u.Server, u.Why)
		default:
			fmt.Fprintf(g.stderr, "lynctrust: left %s in LocalMachine\\%s on %s: %s\n", u.Thumbprint, u.Store, u.Server, u.Why)
		}
	}
}

// leftInstalls is the error of a rollback that restored the lists but could
// not take every install out.
func leftInstalls(res *change.Result) error {
	left := res.Left()
	if len(left) == 0 {
		return nil
	}
	var parts []string
	for _, u := range left {
		parts = append(parts, fmt.Sprintf("%s in LocalMachine\\%s on %s", u.Thumbprint, u.Store, u.Server))
	}
	return &exitError{code: exitRemote, err: fmt.Errorf("the lists are restored, but the rollback left %s", strings.Join(parts, ", ")),
		hint: "run the rollback again when the server answers (the lists are left alone), or remove the certificate in certlm.msc"}
}

// showUninstalls prints, in a dry run, the store scripts a rollback sends
// after the lists are restored.
func showUninstalls(g *globals, p *change.Plan) error {
	for _, k := range p.Keep {
		fmt.Fprintf(g.prose(), "# %s stays in LocalMachine\\%s on %s, installed by the change rolled back: %s\n", k.Thumbprint, k.Store, k.Server, k.Why)
	}
	for _, in := range p.Uninstall {
		script, err := lync.UninstallScript(in.Thumbprint, in.Store)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.prose(), "# then on %s, to take out what the change installed:\n%s\n", in.Server, script)
	}
	return nil
}
