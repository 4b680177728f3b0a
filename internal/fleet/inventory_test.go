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
		"deployments:\n  - name: a\n    sever: s.test\n":                                      "field sever not found",
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
