// Package fleet reads the inventory of deployments that audit, add and
// doctor run on with --inventory: one deployment per server, user and
// password source, never a password itself.
package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"os"
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
		return nil, fmt.Errorf("inventory: %w", err)
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
	b, err := os.ReadFile(d.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("deployment %q: %w", d.Name, err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", fmt.Errorf("deployment %q: %s is empty", d.Name, d.PasswordFile)
	}
	return pw, nil
}
