package powershell

import (
	"sort"
	"strings"
)

// CommandUse is one command invocation in a script, with the parameter
// names it passes, in order.
type CommandUse struct {
	Name   string   `json:"name"`
	Params []string `json:"params"`
	pos    int
}

// Commands lists the command invocations of a script in source order, for
// comparing the lab's reading of a script with another parser's.
func Commands(src string) ([]CommandUse, error) {
	s, err := Parse(src)
	if err != nil {
		return nil, err
	}
	var out []CommandUse
	var walk func(n node)
	walkScript := func(s *script) {
		if s == nil {
			return
		}
		for _, st := range s.stmts {
			walk(st)
		}
	}
	walk = func(n node) {
		switch x := n.(type) {
		case *script:
			walkScript(x)
		case *command:
			cu := CommandUse{Name: strings.ToLower(x.name), Params: []string{}, pos: x.pos}
			for _, a := range x.args {
				if a.param != "" {
					cu.Params = append(cu.Params, strings.ToLower(a.param))
				}
			}
			out = append(out, cu)
			for _, a := range x.args {
				if a.value != nil {
					walk(a.value)
				}
			}
		case *pipeline:
			for _, e := range x.elems {
				walk(e)
			}
		case *ifStmt:
			for i := range x.conds {
				walk(x.conds[i])
				walkScript(x.blocks[i])
			}
			walkScript(x.els)
		case *foreachStmt:
			walk(x.in)
			walkScript(x.body)
		case *whileStmt:
			walk(x.cond)
			walkScript(x.body)
		case *tryStmt:
			walkScript(x.body)
			walkScript(x.catch)
			walkScript(x.finally)
		case *throwStmt:
			walk(x.value)
		case *exitStmt:
			walk(x.value)
		case *assign:
			walk(x.target)
			walk(x.value)
		case *member:
			walk(x.target)
		case *call:
			walk(x.target)
			for _, a := range x.args {
				walk(a)
			}
		case *index:
			walk(x.target)
			walk(x.idx)
		case *binary:
			walk(x.l)
			walk(x.r)
		case *unary:
			walk(x.x)
		case *arrayLit:
			for _, it := range x.items {
				walk(it)
			}
		case *arraySub:
			walkScript(x.body)
		case *subExpr:
			walkScript(x.body)
		case *hashLit:
			for _, v := range x.vals {
				walk(v)
			}
		case *blockLit:
			walkScript(x.body)
		case *castExpr:
			walk(x.x)
		}
	}
	walkScript(s)
	sort.SliceStable(out, func(i, j int) bool { return out[i].pos < out[j].pos })
	return out, nil
}
