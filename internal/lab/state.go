package lab

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	tlab "github.com/lynctrust/lynctrust/internal/lab/exchange"
)

// savedState is StateDir/state.json: what a persistent lab needs to come back
// as it was. The lab's own keys and the lab accounts' passwords are in it:
// it is the lab's, never lynctrust's, and is written with mode 0600.
type savedState struct {
	Product          string                         `json:"product"`
	Edition          string                         `json:"edition"`
	FrontEnds        int                            `json:"front_ends"`
	Directors        int                            `json:"directors"`
	Scenario         string                         `json:"scenario"`
	SiteCollection   bool                           `json:"site_collection"`
	Site             string                         `json:"site,omitempty"`
	StandardServers  int                            `json:"standard_servers,omitempty"`
	MissingRootOn    []string                       `json:"missing_root_on,omitempty"`
	Basic            bool                           `json:"basic"`
	Certificate      bool                           `json:"certificate"`
	Kerberos         bool                           `json:"kerberos"`
	AllowUnencrypted bool                           `json:"allow_unencrypted"`
	AdminUser        string                         `json:"admin_user,omitempty"`
	Culture          string                         `json:"culture,omitempty"`
	IssuedAt         time.Time                      `json:"issued_at"`
	Serial           int64                          `json:"serial"`
	Keys             map[string]string              `json:"keys"`
	Ports            map[string]int                 `json:"ports"`
	Passwords        map[string]string              `json:"passwords"`
	CMSVersion       int                            `json:"cms_version"`
	CMS              []*WebConfig                   `json:"cms"`
	Stores           map[string]map[string][]string `json:"stores"` // server -> store -> DER, base64
}

// localKey is the local Administrator's entry among the passwords.
const localKey = `.\Administrator`

func loadState(path string) (*savedState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s savedState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// apply makes the options those of the saved lab: a lab comes back in the
// shape it was created in.
func (s *savedState) apply(o Options) Options {
	o.Product, o.Edition, o.FrontEnds, o.Directors = s.Product, s.Edition, s.FrontEnds, s.Directors
	o.Scenario, o.SiteCollection, o.MissingRootOn = tlab.Scenario(s.Scenario), s.SiteCollection, s.MissingRootOn
	o.Site, o.StandardServers = s.Site, s.StandardServers
	o.Basic, o.AllowUnencrypted, o.Certificate, o.Kerberos = s.Basic, s.AllowUnencrypted, s.Certificate, s.Kerberos
	o.AdminUser, o.Culture = s.AdminUser, s.Culture
	return o
}

// restore puts the saved passwords, CMS and stores into a new deployment.
func (s *savedState) restore(d *Deployment) error {
	for _, a := range d.Accounts {
		if pw, ok := s.Passwords[a.User]; ok {
			a.Password = pw
		}
	}
	if pw, ok := s.Passwords[localKey]; ok {
		d.LocalAdmin.Password = pw
		for _, srv := range d.Servers {
			for _, a := range srv.Local {
				a.Password = pw
			}
		}
	}
	if len(s.CMS) > 0 {
		st := &cmsState{Version: s.CMSVersion, Time: d.now().Add(-time.Hour), Configs: map[string]*WebConfig{}}
		for _, c := range s.CMS {
			st.Configs[strings.ToLower(c.Identity)] = c
		}
		d.history = []*cmsState{st}
	}
	for _, srv := range d.Servers {
		saved, ok := s.Stores[srv.FQDN]
		if !ok {
			continue
		}
		srv.mu.Lock()
		srv.stores = map[string]map[string]*x509.Certificate{}
		srv.mu.Unlock()
		for store, ders := range saved {
			for _, b64 := range ders {
				der, err := base64.StdEncoding.DecodeString(b64)
				if err != nil {
					return err
				}
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return err
				}
				srv.AddToStore(store, c)
			}
		}
	}
	return nil
}

// save writes the lab's state; called after every change.
func (l *Lab) save() error {
	l.saveMu.Lock()
	defer l.saveMu.Unlock()
	d := l.Deployment
	s := savedState{Product: l.shape.Product, Edition: l.shape.Edition, FrontEnds: l.shape.FrontEnds, Directors: l.shape.Directors,
		Scenario: string(l.shape.Scenario), SiteCollection: l.shape.SiteCollection, Site: l.shape.Site, StandardServers: l.shape.StandardServers, MissingRootOn: l.shape.MissingRootOn,
		Basic: l.shape.Basic, Certificate: l.shape.Certificate, Kerberos: l.shape.Kerberos, AllowUnencrypted: l.shape.AllowUnencrypted, AdminUser: l.shape.AdminUser, Culture: l.shape.Culture, IssuedAt: l.issuedAt, Serial: l.serialStart,
		Keys: tlab.Keys(), Ports: l.ports, Passwords: map[string]string{}, CMSVersion: d.currentVersion(), CMS: d.CMS(),
		Stores: map[string]map[string][]string{}}
	for _, a := range d.Accounts {
		s.Passwords[a.User] = a.Password
	}
	s.Passwords[localKey] = d.LocalAdmin.Password
	for _, srv := range d.Servers {
		srv.mu.Lock()
		m := map[string][]string{}
		for store, certs := range srv.stores {
			for _, c := range certs {
				m[store] = append(m[store], base64.StdEncoding.EncodeToString(c.Raw))
			}
		}
		srv.mu.Unlock()
		s.Stores[srv.FQDN] = m
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := l.statePath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, l.statePath)
}
