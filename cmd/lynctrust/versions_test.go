package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// everyVersion is the whole life of a trusted CA, against one lab: audit,
// add (from --owa), remove, replace, rollback and doctor. PRODUCT, LAB and
// TASK are filled in per product and edition.
const everyVersion = `# audit, add, remove, replace, rollback and doctor against Lync PRODUCT (LAB),
# with the lab binding every cmdlet from the reference for PRODUCT.
lync product=PRODUCT LAB directors=1

! exec lynctrust audit --password-file $PWFILE --owa $OWA --owa-ca-file $OWACA
stdout 'governed by Global, whose TrustedCACerts lacks the Exchange root '$ROOT
stdout 'dir01.lab.test'
! stderr .

exec lynctrust add --password-file $PWFILE --owa $OWA --owa-ca-file $OWACA TASK
stdout 'verified'
labctl trusted Global
stdout $ROOT

exec lynctrust add --password-file $PWFILE --thumbprint $ENTROOT TASK
exec lynctrust remove --password-file $PWFILE --thumbprint $ROOT TASK
stdout 'Global +- +'$ROOT
stdout 'verified'
labctl trusted Global
! stdout $ROOT
stdout $ENTROOT

exec lynctrust replace --password-file $PWFILE --thumbprint $ROOT --yes TASK
labctl trusted Global
stdout $ROOT
! stdout $ENTROOT

exec lynctrust --output json snapshots
cp stdout snaps.json
exec sh -c 'grep -o "\"[^\"]*replace-Global.json\"" snaps.json | head -1 | tr -d \" > snap.txt'
exec sh -c 'exec lynctrust rollback --password-file "$PWFILE" --snapshot "$(cat snap.txt)" --yes TASK'
labctl trusted Global
stdout $ENTROOT
! stdout $ROOT

exec lynctrust add --password-file $PWFILE --owa $OWA --owa-ca-file $OWACA TASK
exec lynctrust doctor --password-file $PWFILE --owa $OWA --owa-ca-file $OWACA --owa-ca-file $ENTCA
stdout '^7 +trusted root on every web server.* pass'
! stdout ' fail '
nosecret
`

// TestEveryVersionAndEdition runs everyVersion against labs of Lync Server
// 2010 and 2013 and Skype for Business Server 2015 and 2019, Standard and
// Enterprise Edition (where a write over WinRM meets the second hop and goes
// through --run-as-task).
func TestEveryVersionAndEdition(t *testing.T) {
	dir := t.TempDir()
	for _, product := range []string{"2010", "2013", "2015", "2019"} {
		for _, edition := range []string{"standard", "enterprise"} {
			labOpts, task := "edition=standard", ""
			if edition == "enterprise" {
				labOpts, task = "edition=enterprise front-ends=2", " --run-as-task"
			}
			script := strings.NewReplacer("PRODUCT", product, "LAB", labOpts, " TASK", task).Replace(everyVersion)
			if err := os.WriteFile(filepath.Join(dir, product+"_"+edition+".txtar"), []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	testscript.Run(t, testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Condition:           condition,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"lync":     cmdLync,
			"labctl":   cmdLabctl,
			"nosecret": cmdNosecret,
		},
	})
}
