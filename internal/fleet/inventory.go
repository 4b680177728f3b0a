// Package fleet reads the inventory of deployments that audit, add and
// doctor run on with --inventory: one deployment per server, user and
// password source, never a password itself.
package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Deployment is one entry of an inventory file.
type Deployment struct {
	Name         string `yaml:"name" json:"name"`
	Server       string `yaml:"server" json:"server"`
	User         string `yaml:"user" json:"user"`
	PasswordEnv  string `yaml:"password_env" json:"password_env,omitempty"`
	PasswordFile string `yaml:"password_file" json:"password_file,omitempty"`
	OWA          string `yaml:"owa" json:"owa,omitempty"`
	Identity     string `yaml:"identity" json:"identity,omitempty"`
	Pool         string `yaml:"pool" json:"pool,omitempty"`
	// Password is read only to refuse it: secrets do not belong in the file.
	Password string `yaml:"password" json:"-"`
}

// Inventory is a list of deployments (YAML):
//
//	deployments:
//	  - name: emea
//	    server: fe01.pool01.emea.contoso.com
//	    user: CONTOSO\lyncadmin
//	    password_env: EMEA_LYNC_PASSWORD    # or password_file: /secure/emea.pw
//	    owa: https://mail.contoso.com/owa
type Inventory struct {
	Deployments []Deployment `yaml:"deployments"`
}

// ParseInventory reads an inventory strictly: unknown keys, duplicate names,
// missing fields and inline passwords are errors that name the deployment.
func ParseInventory(data []byte) (*Inventory, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var inv Inventory
	if err := dec.Decode(&inv); err != nil {
		return nil, decodeError(err)
	}
	if len(inv.Deployments) == 0 {
		return nil, errors.New("inventory: no deployments")
	}
	seen := map[string]bool{}
	for i, d := range inv.Deployments {
		name := d.Name
		if name == "" {
			return nil, fmt.Errorf("inventory: deployment %d has no name", i+1)
		}
		if seen[strings.ToLower(name)] {
			return nil, fmt.Errorf("inventory: deployment %q appears twice", name)
		}
		seen[strings.ToLower(name)] = true
		switch {
		case d.Password != "":
			return nil, fmt.Errorf("inventory: deployment %q has a password written in the file: refused; use password_env (an environment variable's name) or password_file", name)
		case d.Server == "":
			return nil, fmt.Errorf("inventory: deployment %q has no server", name)
		case d.User == "":
			return nil, fmt.Errorf("inventory: deployment %q has no user", name)
		case d.PasswordEnv == "" && d.PasswordFile == "":
			return nil, fmt.Errorf("inventory: deployment %q says nowhere where its password comes from: give password_env or password_file", name)
		case d.PasswordEnv != "" && d.PasswordFile != "":
			return nil, fmt.Errorf("inventory: deployment %q gives both password_env and password_file: choose one", name)
		case d.PasswordEnv != "" && !isEnvName(d.PasswordEnv):
			// Not repeated: it may be the password itself, pasted in the
			// variable's place.
			return nil, fmt.Errorf("inventory: deployment %q: password_env is not an environment variable's name (letters, digits and _ - . ( ), not starting with a digit); it is not repeated here, in case it is the password: write the variable's name and set the variable", name)
		}
	}
	return &inv, nil
}

// PasswordOf reads a deployment's password from where the inventory says.
func (d Deployment) PasswordOf() (string, error) {
	if d.PasswordEnv != "" {
		pw := os.Getenv(d.PasswordEnv)
		if pw == "" {
			return "", fmt.Errorf("deployment %q: the environment variable %s is not set", d.Name, d.PasswordEnv)
		}
		return pw, nil
	}
	// The path is not repeated in errors: it may be the password itself,
	// pasted in the file's place.
	b, err := os.ReadFile(d.PasswordFile)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("deployment %q: its password_file does not exist (the path is not repeated here, in case it is the password)", d.Name)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("deployment %q: its password_file cannot be read: %w", d.Name, err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", fmt.Errorf("deployment %q: its password_file is empty", d.Name)
	}
	return pw, nil
}

// isEnvName: a variable's name as people write them, on Windows too
// (EMEA-PW, ProgramFiles(x86)): letters, digits and _ - . ( ), not starting
// with a digit. What a password has besides (! @ # $ % and the rest, a
// space) is refused, as is one that starts with a digit.
func isEnvName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case i > 0 && ('0' <= r && r <= '9' || r == '-' || r == '.' || r == '(' || r == ')'):
		default:
			return false
		}
	}
	return s != ""
}

var (
	unknownKey  = regexp.MustCompile(`^line (\d+): field (.+) not found in type fleet\.(\w+)$`)
	quotedValue = regexp.MustCompile("`[^`]*`")
	wrongKind   = regexp.MustCompile(`^line (\d+): cannot unmarshal !!\w+(?: .*)? into (\S+)$`)
)

// decodeError says what is wrong with the file in the inventory's terms,
// not the decoder's (Go types), and never quotes a value: a password may
// stand where it does not belong.
func decodeError(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("inventory: the file is empty: want deployments: and one entry per deployment (docs/fleets.md)")
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("inventory: not YAML: %w", err)
	}
	var msgs []string
	for _, e := range te.Errors {
		switch m := unknownKey.FindStringSubmatch(e); {
		case m != nil && m[3] == "Inventory":
			msgs = append(msgs, fmt.Sprintf("line %s: unknown key %q: the file has one key, deployments", m[1], m[2]))
		case m != nil:
			msgs = append(msgs, fmt.Sprintf("line %s: unknown key %q: a deployment has name, server, user, password_env or password_file, owa, identity and pool", m[1], m[2]))
		default:
			if m := wrongKind.FindStringSubmatch(e); m != nil {
				want := "a single value"
				if strings.HasPrefix(m[2], "[]") {
					want = "a list of deployments (- name: …)"
				} else if strings.HasPrefix(m[2], "fleet.") {
					want = "keys and values (name: …)"
				}
				msgs = append(msgs, fmt.Sprintf("line %s: want %s here", m[1], want))
			} else {
				// yaml's own words (a key given twice, say), with any value
				// it quotes left out.
				msgs = append(msgs, quotedValue.ReplaceAllString(e, "a value"))
			}
		}
	}
	return fmt.Errorf("inventory: %s", strings.Join(msgs, "; "))
}
