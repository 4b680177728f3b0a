package lab

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/lynctrust/lynctrust/internal/lab/powershell"
)

// The official cmdlet reference as data (reference/README.md says where it
// comes from). The lab's Lync cmdlets take their parameters from it, for the
// product the lab emulates: nothing the reference lacks exists in the lab.
// The binary carries it compressed (130 KB instead of 2.7 MB);
// TestEmbeddedReferenceIsTheJSON keeps the two files the same.
//
//go:generate sh -c "gzip -9 -n -c reference/lync-cmdlets.json > reference/lync-cmdlets.json.gz"
//go:embed reference/lync-cmdlets.json.gz
var referenceGzip []byte

func referenceJSON() []byte {
	r, err := gzip.NewReader(bytes.NewReader(referenceGzip))
	if err != nil {
		panic("reference/lync-cmdlets.json.gz: " + err.Error()) // embedded: caught by every test
	}
	b, err := io.ReadAll(r)
	if err != nil {
		panic("reference/lync-cmdlets.json.gz: " + err.Error())
	}
	return b
}

// Reference is the parsed reference.
type Reference struct {
	Source                 string                      `json:"source"`
	Versions               map[string]string           `json:"versions"`
	CommonParameters       map[string][]string         `json:"common_parameters"`
	CommonParameterAliases map[string][]string         `json:"common_parameter_aliases"`
	Cmdlets                map[string]*ReferenceCmdlet `json:"cmdlets"`
	byLower                map[string]string           // lower-case name -> name
}

// ReferenceCmdlet is one cmdlet's page.
type ReferenceCmdlet struct {
	Applicable    []string                  `json:"applicable"`
	Module        string                    `json:"module"`
	ParameterSets []ReferenceSet            `json:"parameter_sets"`
	Parameters    map[string]ReferenceParam `json:"parameters"`
	Outputs       string                    `json:"outputs"`
}

// ReferenceSet is one SYNTAX block.
type ReferenceSet struct {
	Name       string   `json:"name"`
	Default    bool     `json:"default"`
	Syntax     string   `json:"syntax"`
	Parameters []string `json:"parameters"`
}

// ReferenceParam is one parameter's metadata block.
type ReferenceParam struct {
	Type       string   `json:"type"`
	Sets       []string `json:"sets"`
	Aliases    []string `json:"aliases"`
	Required   bool     `json:"required"`
	Position   string   `json:"position"`
	Pipeline   string   `json:"pipeline"`
	Applicable []string `json:"applicable"`
}

var (
	refOnce sync.Once
	ref     *Reference
)

// LoadReference returns the embedded reference.
func LoadReference() *Reference {
	refOnce.Do(func() {
		ref = &Reference{}
		if err := json.Unmarshal(referenceJSON(), ref); err != nil {
			panic("reference/lync-cmdlets.json: " + err.Error()) // embedded: caught by every test
		}
		ref.byLower = map[string]string{}
		for n := range ref.Cmdlets {
			ref.byLower[strings.ToLower(n)] = n
		}
	})
	return ref
}

// psOfProduct is the PowerShell each product's management shell runs, as the
// reference's common_parameters name it (lync-facts §3): 2010 on Windows
// Server 2008 R2 with PowerShell 2.0, 2013 with 3.0, 2015 and 2019 with 5.1.
var psOfProduct = map[string]string{"2010": "2.0", "2013": "3.0", "2015": "5.0", "2019": "5.0"}

func applies(versions []string, product string) bool {
	for _, v := range versions {
		if v == product {
			return true
		}
	}
	return false
}

// Cmdlet returns a cmdlet's page if the cmdlet exists in the product.
func (r *Reference) Cmdlet(name, product string) *ReferenceCmdlet {
	c := r.Cmdlets[r.byLower[strings.ToLower(name)]]
	if c == nil || !applies(c.Applicable, product) {
		return nil
	}
	return c
}

// Params are the parameters a cmdlet takes in a product, sorted (common
// parameters excluded).
func (r *Reference) Params(name, product string) []string {
	c := r.Cmdlet(name, product)
	if c == nil {
		return nil
	}
	var out []string
	for p, meta := range c.Parameters {
		if applies(meta.Applicable, product) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Common are the common parameters in the product's PowerShell, with the
// aliases (lower case) of each.
func (r *Reference) Common(product string) ([]string, map[string]string) {
	names := r.CommonParameters[psOfProduct[product]]
	aliases := map[string]string{}
	for _, n := range names {
		for _, a := range r.CommonParameterAliases[n] {
			aliases[strings.ToLower(a)] = n
		}
	}
	return names, aliases
}

// bindFromReference gives a lab cmdlet the parameters, switches, positions,
// parameter sets, aliases and mandatory parameters the reference documents
// for the product. It returns nil when the cmdlet does not exist there.
// Every simulated PowerShell process binds its cmdlets, so the binding of a
// cmdlet in a product is worked out once and shared: the runtime only reads
// it, and its slices are clipped so that an append copies them.
func bindFromReference(c *powershell.Cmdlet, product string) *powershell.Cmdlet {
	b := bindingOf(c.Name, product)
	if b == nil {
		return nil
	}
	c.Params, c.Switches, c.Positional, c.Mandatory = b.Params, b.Switches, b.Positional, b.Mandatory
	c.Sets, c.Common, c.Aliases = b.Sets, b.Common, b.Aliases
	return c
}

var bindings sync.Map // name + "\x00" + product -> *powershell.Cmdlet (nil: not in the product)

func bindingOf(name, product string) *powershell.Cmdlet {
	key := name + "\x00" + product
	if b, ok := bindings.Load(key); ok {
		return b.(*powershell.Cmdlet)
	}
	b := readBinding(name, product)
	bindings.Store(key, b)
	return b
}

func readBinding(name, product string) *powershell.Cmdlet {
	r := LoadReference()
	page := r.Cmdlet(name, product)
	if page == nil {
		return nil
	}
	c := &powershell.Cmdlet{Name: name, Sets: map[string][]string{}}
	common, aliases := r.Common(product)
	c.Common, c.Aliases = slices.Clip(common), aliases
	type positioned struct {
		name string
		pos  int
	}
	var positional []positioned
	for _, name := range r.Params(name, product) {
		meta := page.Parameters[name]
		c.Params = append(c.Params, name)
		c.Sets[name] = slices.Clip(meta.Sets)
		if meta.Type == "SwitchParameter" {
			c.Switches = append(c.Switches, name)
		}
		for _, a := range meta.Aliases {
			c.Aliases[strings.ToLower(a)] = name
		}
		if n, err := strconv.Atoi(meta.Position); err == nil {
			positional = append(positional, positioned{name, n})
		}
		if meta.Required && (len(meta.Sets) == 0 || meta.Sets[0] == "(All)") {
			c.Mandatory = append(c.Mandatory, name)
		}
	}
	sort.SliceStable(positional, func(i, j int) bool { return positional[i].pos < positional[j].pos })
	for _, p := range positional {
		c.Positional = append(c.Positional, p.name)
	}
	c.Params, c.Switches, c.Positional, c.Mandatory = slices.Clip(c.Params), slices.Clip(c.Switches), slices.Clip(c.Positional), slices.Clip(c.Mandatory)
	return c
}
