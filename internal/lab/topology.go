package lab

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lynctrust/lynctrust/internal/lab/powershell"
)

// The topology as the getters return it. Shapes follow the reference
// (docs/lab.md lists what each is checked against): Get-CsTopology returns
// Microsoft.Rtc.Management.Deploy.Internal.DefaultTopology, whose Machines and
// SqlInstances properties its examples name; Get-CsPool returns
// ...Deploy.Internal.Cluster objects with Identity, Site, Computers and
// Services (its examples); Get-CsComputer returns ...Deploy.Internal.Machine.
// The topology's Sites, Clusters and Services properties are named after the
// synopsis ("domains, sites, clusters, computers, services") [inferred].

// cluster is one pool of the topology: Lync pools and, in Enterprise
// Edition, the SQL back end that holds the Central Management Store.
type cluster struct {
	FQDN      string
	Site      string
	Computers []string
	Services  []string // "Role:FQDN"
}

type svcEntry struct {
	role, pool, site string
}

// services lists the services of the topology, in pool order.
func (s *session) services() []svcEntry {
	var out []svcEntry
	for _, p := range s.clusters() {
		for _, id := range p.Services {
			role, pool, _ := strings.Cut(id, ":")
			out = append(out, svcEntry{role, pool, p.Site})
		}
	}
	return out
}

// clusters lists the topology's pools: each Front End pool runs the
// Registrar, UserServer and WebServer services, a Director pool the
// Director and WebServer services, and the Central Management Store runs on
// the Standard Edition server or the Enterprise Edition back end.
func (s *session) clusters() []cluster {
	d := s.d
	var out []cluster
	for _, p := range d.Pools {
		c := cluster{FQDN: p.FQDN, Site: p.Site, Computers: p.Computers}
		if p.Role == "Director" {
			c.Services = []string{"Director:" + p.FQDN, "WebServer:" + p.FQDN}
		} else {
			c.Services = []string{"Registrar:" + p.FQDN, "UserServer:" + p.FQDN, "WebServer:" + p.FQDN}
		}
		if strings.EqualFold(p.FQDN, d.CMSHost) {
			c.Services = append(c.Services, "CentralManagement:"+p.FQDN, "CentralManagementDatabase:"+p.FQDN)
		}
		out = append(out, c)
	}
	if d.pool(d.CMSHost) == nil && d.CMSHost != "" {
		var site string
		if len(d.Sites) > 0 {
			site = d.Sites[0]
		}
		out = append(out, cluster{FQDN: d.CMSHost, Site: site, Computers: []string{d.CMSHost},
			Services: []string{"CentralManagementDatabase:" + d.CMSHost, "UserDatabase:" + d.CMSHost}})
		// The active Central Management service runs on the first Front End pool.
		for i := range out {
			if len(d.Pools) > 0 && out[i].FQDN == d.Pools[0].FQDN {
				out[i].Services = append(out[i].Services, "CentralManagement:"+out[i].FQDN)
			}
		}
	}
	return out
}

// identityObject is an identity: it prints as its string form.
func identityObject(typ, id string) *powershell.Object {
	o := powershell.NewObject(typ)
	o.String = func() string { return id }
	return o
}

func machineObject(fqdn, pool string) *powershell.Object {
	o := powershell.NewObject("Microsoft.Rtc.Management.Deploy.Internal.Machine").Set("Identity", fqdn).Set("Pool", pool).Set("Fqdn", fqdn)
	o.String = func() string { return fqdn }
	return o
}

func (s *session) clusterObject(c cluster) *powershell.Object {
	comps := make([]powershell.Value, len(c.Computers))
	for i, x := range c.Computers {
		comps[i] = machineObject(x, c.FQDN)
	}
	svcs := make([]powershell.Value, len(c.Services))
	for i, x := range c.Services {
		svcs[i] = identityObject("Microsoft.Rtc.Management.Core.XdsGlobalRelativeIdentity", x)
	}
	o := powershell.NewObject("Microsoft.Rtc.Management.Deploy.Internal.Cluster").Set("Identity", c.FQDN).Set("Fqdn", c.FQDN).
		Set("Site", "Site:"+c.Site).Set("Computers", &powershell.List{Items: comps}).Set("Services", &powershell.List{Items: svcs})
	o.String = func() string { return c.FQDN }
	return o
}

func serviceObject(svc svcEntry) *powershell.Object {
	o := powershell.NewObject("Microsoft.Rtc.Management.Xds.Display"+svc.role).Set("Identity", svc.role+":"+svc.pool).
		Set("PoolFqdn", svc.pool).Set("SiteId", "Site:"+svc.site).Set("Role", svc.role)
	id := svc.role + ":" + svc.pool
	o.String = func() string { return id }
	return o
}

// roleSwitch is the Get-CsService role switch given, as a service role.
func roleSwitch(c *powershell.Call) string {
	for _, r := range []string{"WebServer", "Director", "Registrar", "UserServer", "CentralManagement", "CentralManagementDatabase", "UserDatabase",
		"ApplicationServer", "EdgeServer", "MediationServer", "FileStore", "PstnGateway", "MonitoringServer", "ArchivingServer"} {
		if c.Has(r) {
			return r
		}
	}
	for name := range c.Params {
		if name != "identity" && name != "filter" && name != "poolfqdn" && switchGiven(c, name) {
			return "(none)" // a role the lab's topology does not run
		}
	}
	return ""
}

// switchGiven reports whether a parameter is a switch that was given.
func switchGiven(c *powershell.Call, name string) bool {
	b, ok := c.Get(name).(bool)
	return ok && b
}

// matchIdentity applies -Identity and -Filter to an identity.
func matchIdentity(c *powershell.Call, id string) bool {
	if c.Has("Identity") && !strings.EqualFold(c.String("Identity"), id) {
		return false
	}
	if c.Has("Filter") {
		ok, _ := likeMatch(c.String("Filter"), id)
		return ok
	}
	return true
}

// topologyObject is Get-CsTopology's DefaultTopology.
func (s *session) topologyObject() *powershell.Object {
	var sites, clusters, machines, services, sql []powershell.Value
	for _, st := range s.d.Sites {
		sites = append(sites, powershell.NewObject("Microsoft.Rtc.Management.Deploy.Internal.Site+CentralSite").
			Set("Identity", "Site:"+st).Set("DisplayName", st).Set("Name", st))
	}
	for _, c := range s.clusters() {
		clusters = append(clusters, s.clusterObject(c))
		for _, m := range c.Computers {
			machines = append(machines, machineObject(m, c.FQDN))
		}
		for _, id := range c.Services {
			role, pool, _ := strings.Cut(id, ":")
			services = append(services, serviceObject(svcEntry{role, pool, c.Site}))
		}
	}
	sql = append(sql, identityObject("Microsoft.Rtc.Management.Deploy.Internal.SqlInstance", s.d.CMSHost+`\rtc`))
	sort.SliceStable(machines, func(i, j int) bool { return powershell.ToString(machines[i]) < powershell.ToString(machines[j]) })
	o := powershell.NewObject("Microsoft.Rtc.Management.Deploy.Internal.DefaultTopology").
		Set("Sites", &powershell.List{Items: sites}).Set("Clusters", &powershell.List{Items: clusters}).Set("Machines", &powershell.List{Items: machines}).
		Set("Services", &powershell.List{Items: services}).Set("SqlInstances", &powershell.List{Items: sql})
	o.String = func() string { return "Microsoft.Rtc.Management.Deploy.Internal.DefaultTopology" }
	return o
}

// topologyXML is Get-CsTopology -AsXml: the lab's own rendering of the same
// data, not the real schema [inferred].
func (s *session) topologyXML() string {
	var b strings.Builder
	b.WriteString("<Topology>")
	for _, c := range s.clusters() {
		fmt.Fprintf(&b, "<Cluster Fqdn=%q Site=%q>", c.FQDN, c.Site)
		for _, m := range c.Computers {
			fmt.Fprintf(&b, "<Machine Fqdn=%q/>", m)
		}
		b.WriteString("</Cluster>")
	}
	b.WriteString("</Topology>")
	return b.String()
}
