package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
)

// KDC is a real MIT Kerberos KDC (Debian's krb5-kdc and krb5-admin-server)
// run for the lab's domain: the lab does not imitate Active Directory's KDC,
// it starts one, so that Kerberos is tested against the real protocol.
type KDC struct {
	Realm      string // LAB.TEST
	Addr       string // 127.0.0.1:PORT, TCP only
	Krb5Conf   string // a krb5.conf that names this KDC; point KRB5_CONFIG at it
	Dir        string
	keytabFile string
	cmd        *exec.Cmd
	done       chan struct{}
}

// ErrNoKDC says MIT Kerberos' KDC programs are not installed.
var ErrNoKDC = errors.New("the lab's Kerberos needs MIT Kerberos' KDC: install Debian's krb5-kdc and krb5-admin-server (krb5kdc, kdb5_util, kadmin.local)")

// KDCPrograms finds krb5kdc, kdb5_util and kadmin.local (also in /usr/sbin,
// which is not always on PATH).
func KDCPrograms() (map[string]string, error) {
	out := map[string]string{}
	for _, name := range []string{"krb5kdc", "kdb5_util", "kadmin.local"} {
		p, err := exec.LookPath(name)
		if err != nil {
			if _, serr := os.Stat("/usr/sbin/" + name); serr == nil {
				p, err = "/usr/sbin/"+name, nil
			}
		}
		if err != nil {
			return nil, ErrNoKDC
		}
		out[name] = p
	}
	return out, nil
}

// StartKDC creates a realm in dir with the users (name to password) and the
// HTTP/FQDN service principals of the servers, exports the services' keys
// to a keytab, and starts the KDC on a loopback port.
func StartKDC(dir, realm string, users map[string]string, servers []string) (*KDC, error) {
	progs, err := KDCPrograms()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	k := &KDC{Realm: realm, Addr: "127.0.0.1:" + strconv.Itoa(port), Dir: dir,
		Krb5Conf: filepath.Join(dir, "krb5.conf"), keytabFile: filepath.Join(dir, "http.keytab"), done: make(chan struct{})}
	if err := k.writeConfigs(port); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "KRB5_KDC_PROFILE="+filepath.Join(dir, "kdc.conf"), "KRB5_CONFIG="+k.Krb5Conf)
	if err := k.createRealm(progs, env, users, servers); err != nil {
		return nil, err
	}
	if err := k.start(progs, env); err != nil {
		return nil, err
	}
	return k, nil
}

// writeConfigs writes the KDC's kdc.conf, listening on port, and the
// clients' krb5.conf that names it.
func (k *KDC) writeConfigs(port int) error {
	dir, realm := k.Dir, k.Realm
	kdcConf := fmt.Sprintf(`[kdcdefaults]
 kdc_ports = %[1]d
 kdc_tcp_ports = %[1]d
[realms]
 %[2]s = {
  database_name = %[3]s
  key_stash_file = %[4]s
  acl_file = %[5]s
  max_life = 10h
  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
 }
[logging]
 kdc = FILE:%[6]s
`, port, realm, filepath.Join(dir, "principal"), filepath.Join(dir, "stash"), filepath.Join(dir, "kadm5.acl"), filepath.Join(dir, "kdc.log"))
	domain := strings.ToLower(realm)
	krb5Conf := fmt.Sprintf(`[libdefaults]
 default_realm = %[1]s
 dns_lookup_kdc = false
 dns_lookup_realm = false
 udp_preference_limit = 1
[realms]
 %[1]s = {
  kdc = %[2]s
 }
[domain_realm]
 .%[3]s = %[1]s
 %[3]s = %[1]s
`, realm, k.Addr, domain)
	if err := os.WriteFile(filepath.Join(dir, "kdc.conf"), []byte(kdcConf), 0o600); err != nil {
		return err
	}
	return os.WriteFile(k.Krb5Conf, []byte(krb5Conf), 0o644)
}

// createRealm creates the realm's database with the users' principals and
// the servers' HTTP/FQDN principals, whose keys go to the keytab.
func (k *KDC) createRealm(progs map[string]string, env []string, users map[string]string, servers []string) error {
	realm := k.Realm
	run := func(name string, stdin string, args ...string) error {
		cmd := exec.Command(progs[name], args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %v: %s", name, err, strings.TrimSpace(out.String()))
		}
		return nil
	}
	// The master key protects a throwaway database in dir; kdb5_util takes
	// it only as an argument or from a terminal.
	master := make([]byte, 16)
	rand.Read(master)
	if err := run("kdb5_util", "", "-r", realm, "create", "-s", "-P", hex.EncodeToString(master)); err != nil {
		return err
	}
	// Passwords go to kadmin.local on standard input, never in its arguments.
	// Users need pre-authentication, as Active Directory requires by default
	// (a wrong password is then KDC_ERR_PREAUTH_FAILED, from the KDC).
	var script strings.Builder
	for user, pw := range users {
		fmt.Fprintf(&script, "addprinc +requires_preauth -pw %s %s\n", pw, user)
	}
	for _, s := range servers {
		fmt.Fprintf(&script, "addprinc -randkey HTTP/%s\nktadd -k %s HTTP/%s\n", strings.ToLower(s), k.keytabFile, strings.ToLower(s))
	}
	return run("kadmin.local", script.String(), "-r", realm)
}

// start runs krb5kdc and waits until it accepts connections.
func (k *KDC) start(progs map[string]string, env []string) error {
	cmd := exec.Command(progs["krb5kdc"], "-n", "-r", k.Realm)
	cmd.Env = env
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("krb5kdc: %w", err)
	}
	k.cmd = cmd
	go func() { cmd.Wait(); close(k.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", k.Addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-k.done:
			return fmt.Errorf("krb5kdc stopped: %s", strings.TrimSpace(logs.String()))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			k.Close()
			return fmt.Errorf("krb5kdc did not listen on %s", k.Addr)
		}
	}
}

// Issued counts the tickets the KDC has issued, from its log: AS_REQ
// (ticket-granting tickets) and TGS_REQ (service tickets).
func (k *KDC) Issued() (as, tgs int, err error) {
	b, err := os.ReadFile(filepath.Join(k.Dir, "kdc.log"))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, ": ISSUE:") {
			continue
		}
		switch {
		case strings.Contains(line, "AS_REQ"):
			as++
		case strings.Contains(line, "TGS_REQ"):
			tgs++
		}
	}
	return as, tgs, nil
}

// Keytab reads the services' keys.
func (k *KDC) Keytab() (*keytab.Keytab, error) {
	b, err := os.ReadFile(k.keytabFile)
	if err != nil {
		return nil, err
	}
	kt := keytab.New()
	return kt, kt.Unmarshal(b)
}

// Close stops the KDC.
func (k *KDC) Close() {
	if k.cmd != nil && k.cmd.Process != nil {
		k.cmd.Process.Kill()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		select {
		case <-k.done:
		case <-ctx.Done():
		}
	}
}
