package lab

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab/powershell"
)

func thumbprint(c *x509.Certificate) string {
	s := sha1.Sum(c.Raw)
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

// session is one PowerShell process on a simulated server.
type session struct {
	d        *Deployment
	srv      *Server
	acct     *Account
	network  bool // a WinRM network logon: no credentials for a second hop
	imported bool
	rt       *powershell.Runtime
}

var caStores = map[string]string{"trustedrootca": "TrustedRootCA", "intermediateca": "IntermediateCA", "thirdpartyrootca": "ThirdPartyRootCA"}

// cmsAccess checks that the session may reach the Central Management Store.
// The store lives on one server: the Standard Edition Front End that hosts
// it, or the SQL back end of an Enterprise Edition pool. Anywhere else (an
// Enterprise Edition Front End, a Director, another Standard Edition server)
// the cmdlets reach it over the network: from a WinRM network logon that is a
// second hop, without credentials, and SQL refuses the anonymous login
// (lync-facts §3, the double-hop risk; §10: the getters without -LocalStore
// read the store itself). The role follows from where the store is, not
// from the edition.
func (s *session) cmsAccess(write bool) error {
	if s.network && !s.hostsCMS() {
		return &powershell.Error{Message: "Command execution failed: Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON'.",
			Category: "InvalidOperation", FQID: "Microsoft.Rtc.Management.SqlCommandExecutionFailed"}
	}
	return s.permission(write)
}

// hostsCMS reports whether the session's server holds the Central
// Management Store itself.
func (s *session) hostsCMS() bool { return strings.EqualFold(s.srv.FQDN, s.d.CMSHost) }

// permission checks the account's groups for reading or writing the store.
func (s *session) permission(write bool) error {
	if !inGroup(s.acct, GroupServerAdmins) && !inGroup(s.acct, GroupReadOnlyAdmins) {
		return &powershell.Error{Message: "Command execution failed: Cannot open database \"xds\" requested by the login. The login failed. Login failed for user '" +
			s.acct.Name(s.d.Domain) + "'.", Category: "InvalidOperation", FQID: "Microsoft.Rtc.Management.SqlCommandExecutionFailed"}
	}
	if write && !inGroup(s.acct, GroupServerAdmins) {
		return &powershell.Error{Message: "Command execution failed: The EXECUTE permission was denied on the object 'XdsPublishItems', database 'xds', schema 'dbo'.",
			Category: "InvalidOperation", FQID: "Microsoft.Rtc.Management.SqlCommandExecutionFailed"}
	}
	return nil
}

func (s *session) needModule(name string) error {
	if !s.imported {
		return &powershell.Error{Message: fmt.Sprintf("The term '%s' is not recognized as the name of a cmdlet, function, script file, or operable program. "+
			"Check the spelling of the name, or if a path was included, verify that the path is correct and try again.", name),
			Category: "ObjectNotFound", FQID: "CommandNotFoundException", Target: name}
	}
	return nil
}

// caCertObject is Lync's CACertID.
func caCertObject(c CACert) *powershell.Object {
	o := powershell.NewObject("Microsoft.Rtc.Management.WritableConfig.Settings.Web.CACertID").
		Set("Thumbprint", c.Thumbprint).Set("CAStore", c.CAStore)
	o.String = func() string { return "Thumbprint=" + c.Thumbprint + ";CAStore=" + c.CAStore }
	return o
}

func toCACert(v powershell.Value) (CACert, bool) {
	o, ok := v.(*powershell.Object)
	if !ok || !strings.HasSuffix(o.Type, "CACertID") {
		return CACert{}, false
	}
	t, _ := o.Get("Thumbprint")
	st, _ := o.Get("CAStore")
	return CACert{Thumbprint: powershell.ToString(t), CAStore: powershell.ToString(st)}, true
}

func sameCACert(a, b powershell.Value) bool {
	x, ok1 := toCACert(a)
	y, ok2 := toCACert(b)
	return ok1 && ok2 && strings.EqualFold(x.Thumbprint, y.Thumbprint) && strings.EqualFold(x.CAStore, y.CAStore)
}

// configObject is a WebServiceSettings object as Get-CsWebServiceConfiguration returns it.
func (s *session) configObject(w *WebConfig) *powershell.Object {
	o := powershell.NewObject("Microsoft.Rtc.Management.WritableConfig.Settings.Web.WebServiceSettings")
	o.Set("Identity", w.Identity)
	list := &powershell.List{}
	for _, c := range w.TrustedCACerts {
		list.Items = append(list.Items, caCertObject(c))
	}
	o.Set("TrustedCACerts", list)
	for _, p := range webProps(s.d.Product) {
		o.Set(p.name, w.Props[p.name])
	}
	o.String = func() string { return w.Identity }
	return o
}

func configFromObject(o *powershell.Object) (*WebConfig, error) {
	id, _ := o.Get("Identity")
	w := &WebConfig{Identity: powershell.ToString(id), Props: map[string]any{}, TrustedCACerts: []CACert{}}
	tl, _ := o.Get("TrustedCACerts")
	for _, it := range enumerateList(tl) {
		c, ok := toCACert(it)
		if !ok {
			return nil, &powershell.Error{Message: "Cannot convert the value to type \"Microsoft.Rtc.Management.WritableConfig.Settings.Web.CACertID\".",
				Category: "InvalidArgument", FQID: "CannotConvertArgument"}
		}
		w.TrustedCACerts = append(w.TrustedCACerts, c)
	}
	for _, p := range o.Props() {
		if !strings.EqualFold(p, "Identity") && !strings.EqualFold(p, "TrustedCACerts") {
			v, _ := o.Get(p)
			w.Props[p] = v
		}
	}
	return w, nil
}

func enumerateList(v powershell.Value) []powershell.Value {
	switch x := v.(type) {
	case nil:
		return nil
	case []powershell.Value:
		return x
	case *powershell.List:
		return x.Items
	}
	return []powershell.Value{v}
}

func (s *session) identityArg(c *powershell.Call, dflt string) (string, error) {
	raw := dflt
	if c.Has("Identity") {
		raw = c.String("Identity")
	}
	id := canonicalIdentity(raw)
	if id == "" {
		return "", &powershell.Error{Message: fmt.Sprintf("Cannot bind parameter 'Identity'. Cannot convert value \"%s\" to type \"Microsoft.Rtc.Management.Xds.XdsIdentity\". "+
			"Error: \"Invalid identity: %s\"", raw, raw), Category: "InvalidArgument", FQID: "CannotConvertArgumentNoMessage"}
	}
	if strings.HasPrefix(id, "Site:") {
		name := id[5:]
		found := false
		for _, st := range s.d.Sites {
			if strings.EqualFold(st, name) {
				found, id = true, "Site:"+st
			}
		}
		if !found {
			return "", &powershell.Error{Message: fmt.Sprintf("Cannot find site \"%s\" in the topology.", name), Category: "InvalidArgument", FQID: "SiteNotFound"}
		}
	}
	if strings.HasPrefix(id, "Service:WebServer:") && s.d.pool(id[18:]) == nil {
		return "", &powershell.Error{Message: fmt.Sprintf("Cannot find service \"%s\" in the topology.", id[8:]), Category: "InvalidArgument", FQID: "ServiceNotFound"}
	}
	return id, nil
}

// applyModifier applies a PSListModifier (@{Add=…}, @{Remove=…}, @{Replace=…}),
// a plain list (which replaces) or $null (which clears) to TrustedCACerts.
func (s *session) applyModifier(cur []CACert, v powershell.Value, present bool) ([]CACert, error) {
	if !present {
		return cur, nil
	}
	conv := func(x powershell.Value) ([]CACert, error) {
		var out []CACert
		for _, it := range enumerateList(x) {
			c, ok := toCACert(it)
			if !ok {
				return nil, &powershell.Error{Message: "Cannot bind parameter 'TrustedCACerts'. Cannot convert the \"" + powershell.ToString(it) +
					"\" value of type \"" + typeOf(it) + "\" to type \"Microsoft.Rtc.Management.WritableConfig.Settings.Web.CACertID\".",
					Category: "InvalidArgument", FQID: "CannotConvertArgumentNoMessage"}
			}
			out = append(out, c)
		}
		return out, nil
	}
	h, ok := v.(*powershell.Hashtable)
	if !ok {
		if v == nil {
			return []CACert{}, nil
		}
		return conv(v)
	}
	out := append([]CACert(nil), cur...)
	for _, k := range h.Keys() {
		val, _ := h.Get(k)
		items, err := conv(val)
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(k) {
		case "add":
			for _, it := range items {
				dup := false
				for _, e := range out {
					if strings.EqualFold(e.Thumbprint, it.Thumbprint) && strings.EqualFold(e.CAStore, it.CAStore) {
						dup = true
					}
				}
				if !dup {
					out = append(out, it)
				}
			}
		case "remove":
			// PSListModifier's Remove matches items with Equals; CACertID
			// is not known to override it, so the lab compares by
			// reference, the stricter rule (lync-facts §2). The cmdlet
			// applies the modifier to the list it reads from the store
			// itself: no object the script holds is one of those, so
			// nothing is removed, whatever was passed. The reference's way
			// to remove an item is the Instance pattern (Example 6).
			_ = items
		case "replace":
			out = items
		default:
			return nil, &powershell.Error{Message: "Cannot bind parameter 'TrustedCACerts'. The PSListModifier key must be Add, Remove or Replace, not '" + k + "'.",
				Category: "InvalidArgument", FQID: "CannotConvertArgumentNoMessage"}
		}
	}
	return out, nil
}

func typeOf(v powershell.Value) string {
	switch x := v.(type) {
	case string:
		return "System.String"
	case *powershell.Object:
		return x.Type
	}
	return "System.Object"
}

func (s *session) writeFault() error {
	if s.d.Knobs.take(FaultCmdlet) {
		return &powershell.Error{Message: "Command execution failed: A transient error occurred while writing to the Central Management Store. (injected by the lab)",
			Category: "InvalidOperation", FQID: "Microsoft.Rtc.Management.XdsWriteFailed"}
	}
	return nil
}

// concurrentChange applies the lab's concurrent-modification fault: another
// administrator adds a certificate after lynctrust read the list and before
// its script writes (the script's own read of the CMS sees the change).
func (s *session) concurrentChange() {
	if !s.d.Knobs.take(FaultConcurrent) {
		return
	}
	st := s.d.current().clone()
	g := st.Configs["global"]
	g.TrustedCACerts = append(g.TrustedCACerts, CACert{Thumbprint: "C0FFEEC0FFEEC0FFEEC0FFEEC0FFEEC0FFEE0001", CAStore: "TrustedRootCA"})
	s.d.commit(st)
}

func (s *session) cmdlets() []*powershell.Cmdlet {
	d := s.d
	// lync binds a Lync cmdlet's parameters from the reference for the
	// product; a cmdlet the product lacks is not there at all (nil).
	lync := func(c *powershell.Cmdlet) *powershell.Cmdlet {
		if bindFromReference(c, d.Product) == nil {
			return nil
		}
		run := c.Run
		c.Run = func(call *powershell.Call) ([]powershell.Value, error) {
			if err := s.needModule(c.Name); err != nil {
				return nil, err
			}
			return run(call)
		}
		return c
	}
	all := []*powershell.Cmdlet{
		{Name: "Import-Module", Params: []string{"Name"}, Positional: []string{"Name"},
			Run: s.importModule},
		{Name: "Get-Module", Params: []string{"Name", "ListAvailable"}, Switches: []string{"ListAvailable"}, Positional: []string{"Name"},
			Run: s.getModule},
		lync(&powershell.Cmdlet{Name: "Get-CsWebServiceConfiguration", Run: s.getWebServiceConfiguration}),
		lync(&powershell.Cmdlet{Name: "New-CsWebTrustedCACertificate", Run: s.newWebTrustedCACertificate}),
		lync(&powershell.Cmdlet{Name: "Set-CsWebServiceConfiguration", Run: s.setWebServiceConfiguration}),
		lync(&powershell.Cmdlet{Name: "New-CsWebServiceConfiguration", Run: s.newWebServiceConfiguration}),
		lync(&powershell.Cmdlet{Name: "Remove-CsWebServiceConfiguration", Run: s.removeWebServiceConfiguration}),
		// The topology getters without -LocalStore read the Central
		// Management Store itself (lync-facts §10).
		lync(&powershell.Cmdlet{Name: "Get-CsTopology", Run: s.getTopology}),
		lync(&powershell.Cmdlet{Name: "Get-CsPool", Run: s.getPool}),
		lync(&powershell.Cmdlet{Name: "Get-CsComputer", Run: s.getComputer}),
		lync(&powershell.Cmdlet{Name: "Get-CsService", Run: s.getService}),
		lync(&powershell.Cmdlet{Name: "Get-CsManagementStoreReplicationStatus", Run: s.getReplicationStatus}),
	}
	var out []*powershell.Cmdlet
	for _, c := range all {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// importModule loads the product's module, once per session; any other
// module is not found.
func (s *session) importModule(c *powershell.Call) ([]powershell.Value, error) {
	d := s.d
	module := moduleOf[d.Product]
	name := c.String("Name")
	base := name[strings.LastIndexAny(name, `\/`)+1:]
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".psd1"), ".psm1")
	if !strings.EqualFold(base, module) {
		return nil, &powershell.Error{Message: fmt.Sprintf("The specified module '%s' was not loaded because no valid module file was found in any module directory.", name),
			Category: "ResourceUnavailable", FQID: "Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand"}
	}
	if cost := d.Knobs.ImportCost(); cost > 0 {
		select {
		case <-time.After(cost):
		case <-c.RT.Ctx.Done():
		}
	}
	if !s.imported {
		s.imported = true
		s.srv.Counters.ModuleImports.Add(1)
	}
	return nil, nil
}

// getModule lists the product's module once imported, or with
// -ListAvailable.
func (s *session) getModule(c *powershell.Call) ([]powershell.Value, error) {
	module := moduleOf[s.d.Product]
	name := c.String("Name")
	if (c.Has("ListAvailable") || s.imported) && (name == "" || strings.EqualFold(name, module)) {
		return []powershell.Value{powershell.NewObject("System.Management.Automation.PSModuleInfo").Set("Name", module)}, nil
	}
	return nil, nil
}

// getWebServiceConfiguration reads the web service configurations, from the
// CMS or with -LocalStore from the server's replica.
func (s *session) getWebServiceConfiguration(c *powershell.Call) ([]powershell.Value, error) {
	d := s.d
	var st *cmsState
	if c.Has("LocalStore") {
		st = d.replicaOf(s.srv)
	} else {
		if err := s.cmsAccess(false); err != nil {
			return nil, err
		}
		s.concurrentChange()
		d.mu.Lock()
		st = d.current()
		d.mu.Unlock()
	}
	if err := s.permission(false); err != nil {
		return nil, err
	}
	var out []powershell.Value
	if c.Has("Identity") {
		id, err := s.identityArg(c, "Global")
		if err != nil {
			return nil, err
		}
		if w := st.Configs[strings.ToLower(id)]; w != nil {
			out = append(out, s.configObject(w))
		}
		return out, nil
	}
	filter := c.String("Filter")
	for _, w := range st.sorted() {
		if filter != "" {
			if ok, _ := likeMatch(filter, w.Identity); !ok {
				continue
			}
		}
		out = append(out, s.configObject(w))
	}
	return out, nil
}

// newWebTrustedCACertificate builds a TrustedCACerts entry.
func (s *session) newWebTrustedCACertificate(c *powershell.Call) ([]powershell.Value, error) {
	if !c.Has("Thumbprint") || !c.Has("CAStore") {
		missing := "Thumbprint"
		if c.Has("Thumbprint") {
			missing = "CAStore"
		}
		return nil, &powershell.Error{Message: "Cannot process command because of one or more missing mandatory parameters: " + missing + ".",
			Category: "InvalidArgument", FQID: "MissingMandatoryParameter"}
	}
	store, ok := caStores[strings.ToLower(c.String("CAStore"))]
	if !ok {
		return nil, &powershell.Error{Message: fmt.Sprintf("Cannot bind parameter 'CAStore'. Cannot convert value \"%s\" to type \"Microsoft.Rtc.Management.WritableConfig.Settings.Web.CAStore\". "+
			"Error: \"Unable to match the identifier name %s to a valid enumerator name. Specify one of the following enumerator names and try again: TrustedRootCA, IntermediateCA, ThirdPartyRootCA\"",
			c.String("CAStore"), c.String("CAStore")), Category: "InvalidArgument", FQID: "CannotConvertArgumentNoMessage"}
	}
	// Like the real cmdlet it only builds the object: it does not look in the store.
	return []powershell.Value{caCertObject(CACert{Thumbprint: c.String("Thumbprint"), CAStore: store})}, nil
}

// setWebServiceConfiguration changes a configuration by identity or from an
// -Instance object.
func (s *session) setWebServiceConfiguration(c *powershell.Call) ([]powershell.Value, error) {
	d := s.d
	if err := s.cmsAccess(true); err != nil {
		return nil, err
	}
	if err := s.writeFault(); err != nil {
		return nil, err
	}
	st := d.current().clone()
	var w *WebConfig
	if c.Has("Instance") {
		o, ok := c.Get("Instance").(*powershell.Object)
		if !ok {
			return nil, &powershell.Error{Message: "Cannot bind parameter 'Instance'.", Category: "InvalidArgument", FQID: "CannotConvertArgument"}
		}
		nw, err := configFromObject(o)
		if err != nil {
			return nil, err
		}
		id := canonicalIdentity(nw.Identity)
		if st.Configs[strings.ToLower(id)] == nil {
			return nil, &powershell.Error{Message: fmt.Sprintf("Cannot find configuration \"%s\".", nw.Identity), Category: "ObjectNotFound", FQID: "ConfigurationNotFound"}
		}
		w = nw
	} else {
		id, err := s.identityArg(c, "Global")
		if err != nil {
			return nil, err
		}
		w = st.Configs[strings.ToLower(id)]
		if w == nil {
			return nil, &powershell.Error{Message: fmt.Sprintf("Cannot find configuration \"%s\". Use New-CsWebServiceConfiguration to create it.", id),
				Category: "ObjectNotFound", FQID: "ConfigurationNotFound"}
		}
	}
	list, err := s.applyModifier(w.TrustedCACerts, c.Get("TrustedCACerts"), c.Has("TrustedCACerts"))
	if err != nil {
		return nil, err
	}
	w.TrustedCACerts = list
	for _, p := range propNames(d.Product) {
		if c.Has(p) {
			w.Props[p] = c.Get(p)
		}
	}
	if c.Has("WhatIf") {
		return []powershell.Value{"What if: Performing operation \"Set\" on Target \"" + w.Identity + "\"."}, nil
	}
	st.Configs[strings.ToLower(canonicalIdentity(w.Identity))] = w
	d.commit(st)
	s.srv.Counters.Writes.Add(1)
	return nil, nil
}

// newWebServiceConfiguration creates a site or service configuration, or
// with -InMemory only builds it.
func (s *session) newWebServiceConfiguration(c *powershell.Call) ([]powershell.Value, error) {
	d := s.d
	id, err := s.identityArg(c, "")
	if err != nil {
		return nil, err
	}
	if id == "Global" {
		return nil, &powershell.Error{Message: "New-CsWebServiceConfiguration cannot create a collection at the global scope: the global collection always exists. Use Set-CsWebServiceConfiguration.",
			Category: "InvalidOperation", FQID: "GlobalScopeNotAllowed"}
	}
	w := newWebConfig(id, d.Product)
	if w.TrustedCACerts, err = s.applyModifier(w.TrustedCACerts, c.Get("TrustedCACerts"), c.Has("TrustedCACerts")); err != nil {
		return nil, err
	}
	if c.Has("InMemory") {
		return []powershell.Value{s.configObject(w)}, nil
	}
	if err := s.cmsAccess(true); err != nil {
		return nil, err
	}
	st := d.current().clone()
	if st.Configs[strings.ToLower(id)] != nil {
		return nil, &powershell.Error{Message: fmt.Sprintf("\"%s\" already exists. Use Set-CsWebServiceConfiguration to change it.", id),
			Category: "InvalidOperation", FQID: "ConfigurationAlreadyExists"}
	}
	st.Configs[strings.ToLower(id)] = w
	d.commit(st)
	s.srv.Counters.Writes.Add(1)
	return nil, nil
}

// removeWebServiceConfiguration removes a configuration; removing Global
// resets it.
func (s *session) removeWebServiceConfiguration(c *powershell.Call) ([]powershell.Value, error) {
	d := s.d
	id, err := s.identityArg(c, "")
	if err != nil {
		return nil, err
	}
	if err := s.cmsAccess(true); err != nil {
		return nil, err
	}
	st := d.current().clone()
	if st.Configs[strings.ToLower(id)] == nil {
		return nil, &powershell.Error{Message: fmt.Sprintf("Cannot find configuration \"%s\".", id), Category: "ObjectNotFound", FQID: "ConfigurationNotFound"}
	}
	if id == "Global" {
		// Removing the global collection resets every property,
		// TrustedCACerts included, to its default.
		st.Configs["global"] = newWebConfig("Global", d.Product)
	} else {
		delete(st.Configs, strings.ToLower(id))
	}
	d.commit(st)
	s.srv.Counters.Writes.Add(1)
	return nil, nil
}

// getTopology returns the topology as an object or, with -AsXml, as XML.
func (s *session) getTopology(c *powershell.Call) ([]powershell.Value, error) {
	if !c.Has("LocalStore") {
		if err := s.cmsAccess(false); err != nil {
			return nil, err
		}
	} else if err := s.permission(false); err != nil {
		return nil, err
	}
	if c.Has("AsXml") {
		return []powershell.Value{s.topologyXML()}, nil
	}
	return []powershell.Value{s.topologyObject()}, nil
}

// getPool lists the pools, by identity or site.
func (s *session) getPool(c *powershell.Call) ([]powershell.Value, error) {
	if err := s.cmsAccess(false); err != nil {
		return nil, err
	}
	var out []powershell.Value
	for _, p := range s.clusters() {
		if !matchIdentity(c, p.FQDN) || (c.Has("Site") && !strings.EqualFold(c.String("Site"), p.Site)) {
			continue
		}
		out = append(out, s.clusterObject(p))
	}
	if c.Has("Identity") && len(out) == 0 {
		return nil, &powershell.Error{Message: fmt.Sprintf("Cannot find pool \"%s\".", c.String("Identity")), Category: "ObjectNotFound", FQID: "PoolNotFound"}
	}
	return out, nil
}

// getComputer lists the servers, by identity or pool, or with -Local this
// one.
func (s *session) getComputer(c *powershell.Call) ([]powershell.Value, error) {
	d := s.d
	if err := s.cmsAccess(false); err != nil {
		return nil, err
	}
	var out []powershell.Value
	for _, srv := range d.Servers {
		if (c.Has("Pool") && !strings.EqualFold(c.String("Pool"), srv.Pool)) || !matchIdentity(c, srv.FQDN) ||
			(c.Has("Local") && srv != s.srv) {
			continue
		}
		out = append(out, machineObject(srv.FQDN, srv.Pool))
	}
	return out, nil
}

// getService lists the services, by pool, role or identity.
func (s *session) getService(c *powershell.Call) ([]powershell.Value, error) {
	if err := s.cmsAccess(false); err != nil {
		return nil, err
	}
	var out []powershell.Value
	for _, svc := range s.services() {
		if c.Has("PoolFqdn") && !strings.EqualFold(c.String("PoolFqdn"), svc.pool) {
			continue
		}
		if role := roleSwitch(c); role != "" && role != svc.role {
			continue
		}
		if !matchIdentity(c, svc.role+":"+svc.pool) {
			continue
		}
		out = append(out, serviceObject(svc))
	}
	return out, nil
}

// getReplicationStatus says whether each replica is up to date.
func (s *session) getReplicationStatus(c *powershell.Call) ([]powershell.Value, error) {
	d := s.d
	if d.BeforeReplicationStatus != nil {
		d.BeforeReplicationStatus(s.srv.FQDN)
	}
	if err := s.cmsAccess(false); err != nil {
		return nil, err
	}
	var out []powershell.Value
	status := d.ReplicationStatus()
	for _, srv := range d.Servers {
		if c.Has("ReplicaFqdn") && !strings.EqualFold(c.String("ReplicaFqdn"), srv.FQDN) {
			continue
		}
		out = append(out, powershell.NewObject("Microsoft.Rtc.Management.Xds.ReplicaState").Set("UpToDate", status[srv.FQDN]).
			Set("ReplicaFqdn", srv.FQDN).Set("LastUpdateCreation", d.now().UTC().Format(time.RFC3339)))
	}
	return out, nil
}

func propNames(product string) []string {
	var out []string
	for _, p := range webProps(product) {
		out = append(out, p.name)
	}
	return out
}

func likeMatch(pattern, s string) (bool, error) {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	if !strings.Contains(pattern, "*") {
		return pattern == s, nil
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false, nil
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1:] {
		i := strings.Index(s, p)
		if i < 0 {
			return false, nil
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(pattern, "*") || s == "", nil
}
