package fleet

import (
	"strings"
	"testing"
)

func TestParseInventory(t *testing.T) {
	good := "deployments:\n  - name: emea\n    server: fe01.emea.test\n    user: LAB\\lyncadmin\n    password_env: EMEA_PW\n    owa: https://mail.emea.test/owa\n"
	inv, err := ParseInventory([]byte(good))
	if err != nil || len(inv.Deployments) != 1 || inv.Deployments[0].User != `LAB\lyncadmin` {
		t.Fatalf("%+v %v", inv, err)
	}
	for in, want := range map[string]string{
		"deployments:\n  - name: a\n    server: s.test\n    user: u\n    password: hunter2\n": `deployment "a" has a password written in the file`,
		"deployments:\n  - name: a\n    server: s.test\n    user: u\n":                        "password_env or password_file",
		"deployments:\n  - name: a\n    sever: s.test\n":                                      `unknown key "sever"`,
		"deployments: []\n": "no deployments",
		"deployments:\n  - name: a\n    server: s\n    user: u\n    password_env: X\n  - name: A\n    server: s\n    user: u\n    password_env: X\n": "appears twice",
	} {
		_, err := ParseInventory([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the inline password is quoted in the error: %v", err)
		}
	}
}

// FuzzParseInventory: the inventory parser never panics and never accepts a
// deployment without its name, server, user and password source.
func FuzzParseInventory(f *testing.F) {
	f.Add("deployments:\n  - name: emea\n    server: fe01.emea.test\n    user: u\n    password_env: X\n")
	f.Add("deployments: {")
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := ParseInventory([]byte(s))
		if err != nil {
			return
		}
		for _, d := range inv.Deployments {
			if d.Name == "" || d.Server == "" || d.User == "" || (d.PasswordEnv == "") == (d.PasswordFile == "") || d.Password != "" {
				t.Fatalf("accepted %+v", d)
			}
		}
	})
}

// TestPastedPasswordNotRepeated: a password written where the variable's
// name or the file's path belongs is refused without being repeated.
func TestPastedPasswordNotRepeated(t *testing.T) {
	const pw = "Sup3rS3cret!"
	_, err := ParseInventory([]byte("deployments:\n  - name: emea\n    server: s.test\n    user: u\n    password_env: " + pw + "\n"))
	if err == nil || !strings.Contains(err.Error(), `deployment "emea": password_env is not an environment variable's name`) || strings.Contains(err.Error(), pw) {
		t.Errorf("password_env %s: %v", pw, err)
	}
	for _, name := range []string{"EMEA_PW", "_x", "a1", "EMEA-PW", "LYNC.PW", "ProgramFiles(x86)"} {
		if !isEnvName(name) {
			t.Errorf("%s is refused as a variable's name", name)
		}
	}
	for _, name := range []string{"1A", "-A", "A B", "A=B", "Pa$$w0rd", "S3cret!", ""} {
		if isEnvName(name) {
			t.Errorf("%q is taken as a variable's name", name)
		}
	}
	_, err = Deployment{Name: "emea", PasswordFile: pw}.PasswordOf()
	if err == nil || !strings.Contains(err.Error(), `deployment "emea": its password_file does not exist`) || strings.Contains(err.Error(), pw) {
		t.Errorf("password_file %s: %v", pw, err)
	}
	dir := t.TempDir()
	_, err = Deployment{Name: "emea", PasswordFile: dir}.PasswordOf()
	if err == nil || strings.Contains(err.Error(), dir) {
		t.Errorf("password_file that is a directory: %v", err)
	}
}

// TestInventoryErrorsSpeakOfTheFile: what is wrong is said in the
// inventory's words, with its line, and no value is quoted.
func TestInventoryErrorsSpeakOfTheFile(t *testing.T) {
	for in, want := range map[string]string{
		"": "the file is empty",
		"deployments:\n  - name: a\n    passwd: hunter2\n":                            `line 3: unknown key "passwd": a deployment has name, server`,
		"deployment:\n  - name: a\n":                                                  `line 1: unknown key "deployment": the file has one key, deployments`,
		"deployments: hunter2\n":                                                      "line 1: want a list of deployments",
		"deployments:\n  - hunter2\n":                                                 "line 2: want keys and values",
		"deployments:\n  - name: [hunter2]\n":                                         "line 2: want a single value",
		"deployments:\n  - name: a\n   server: [\n":                                   "inventory: not YAML",
		"deployments:\n  - name: a\n    password_env: X\n    password_env: hunter2\n": `line 4: mapping key "password_env" already defined at line 3`,
	} {
		_, err := ParseInventory([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "fleet.") {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}
