package powershell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
)

// Cmdlet is a command the runtime can run.
type Cmdlet struct {
	Name       string
	Params     []string // every parameter name it takes
	Switches   []string // those that take no value
	Positional []string // parameters bound by position, in order
	PS3        bool     // exists only from PowerShell 3.0 on
	// Sets maps a parameter to the parameter sets it belongs to; a parameter
	// that is not in it, or whose sets include "(All)", is in every set.
	Sets map[string][]string
	// Aliases maps an alias (lower case) to its parameter.
	Aliases map[string]string
	// Mandatory are parameters every parameter set requires.
	Mandatory []string
	// Common are the common parameters it takes; nil means commonParams.
	Common []string
	Native bool // a program (schtasks.exe): arguments are passed as words, $LASTEXITCODE is set
	Run    func(c *Call) ([]Value, error)
}

// Call is one invocation of a cmdlet.
type Call struct {
	RT     *Runtime
	Name   string
	Params map[string]Value // lower-case names; switches are true
	Input  []Value          // pipeline input
	HasIn  bool
	Args   []string // a native program's arguments
	// Stderr is what a native program wrote to its standard error, line
	// by line.
	Stderr []string
}

// Has reports whether a parameter was given.
func (c *Call) Has(name string) bool { _, ok := c.Params[strings.ToLower(name)]; return ok }

// Get returns a parameter's value.
func (c *Call) Get(name string) Value { return c.Params[strings.ToLower(name)] }

// String returns a parameter's value as a string.
func (c *Call) String(name string) string { return ToString(c.Get(name)) }

// Runtime runs scripts.
type Runtime struct {
	Ctx       context.Context
	PSVersion int // 2 for Lync 2010's Windows Server 2008 R2, 5 for later
	Commands  map[string]*Cmdlet
	// Types are the .NET types New-Object and casts know: name (lower case) to constructor.
	Types map[string]func(args []Value) (Value, error)
	// Statics are [Type]::Member values and methods, by lower-case "type::member".
	Statics map[string]Value
	Stdin   io.Reader
	vars    map[string]Value
	errs    []*Error
	// tryDepth counts the try blocks being run: a statement-terminating
	// error (call == nil in statementError) is caught by try/catch whatever
	// the preference says.
	tryDepth int
	// Stdout receives each output object as the console host formats it.
	Out func(Value)
	// Console receives what [Console]::Out.WriteLine writes: straight to
	// the process's standard output, past the host and its formatting.
	Console func(text string)
	// ScriptBlock, when set, receives the text of every script block the
	// runtime compiles (the script it runs, Invoke-Expression's), as Script
	// Block Logging records them (event 4104).
	ScriptBlock func(text string)
	// Started, when set, receives every program a script starts, with its
	// arguments, as process-creation auditing records them (event 4688).
	Started func(name string, args []string)
	// ComObjects are the COM classes New-Object -ComObject knows: ProgID
	// (lower case) to constructor.
	ComObjects map[string]func() (Value, error)
}

// NewRuntime makes a runtime with the built-in commands.
func NewRuntime(ctx context.Context, psVersion int) *Runtime {
	rt := &Runtime{Ctx: ctx, PSVersion: psVersion, Commands: map[string]*Cmdlet{}, Types: map[string]func([]Value) (Value, error){},
		Statics: map[string]Value{}, vars: map[string]Value{}}
	ver := NewObject("System.Version").Set("Major", psVersion).Set("Minor", 0)
	ver.String = func() string { return fmt.Sprintf("%d.0", psVersion) }
	table := NewHashtable()
	table.Set("PSVersion", ver)
	rt.vars["psversiontable"] = table
	rt.vars["erroractionpreference"] = "Continue"
	rt.vars["progresspreference"] = "Continue"
	rt.vars["true"], rt.vars["false"], rt.vars["null"] = true, false, nil
	addBuiltins(rt)
	return rt
}

// Register adds cmdlets.
func (rt *Runtime) Register(cs ...*Cmdlet) {
	for _, c := range cs {
		rt.Commands[strings.ToLower(c.Name)] = c
	}
}

// SetVar sets a variable.
func (rt *Runtime) SetVar(name string, v Value) { rt.vars[strings.ToLower(name)] = v }

// Errors are the non-terminating errors written so far.
func (rt *Runtime) Errors() []*Error { return rt.errs }

// ExitError ends the script with a code (the exit statement).
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit %d", e.Code) }

type flowBreak struct{}
type flowContinue struct{}

func (flowBreak) Error() string    { return "break" }
func (flowContinue) Error() string { return "continue" }

// Run parses and runs a script. Output objects go to rt.Out. It returns the
// terminating error, if any: *ParseError, *Error, or *ExitError.
func (rt *Runtime) Run(src string) error {
	rt.logScriptBlock(src)
	s, err := parseOnce(src)
	if err != nil {
		return err
	}
	out, err := rt.block(s)
	for _, v := range out {
		rt.Out(v)
	}
	var b flowBreak
	if errors.As(err, &b) {
		return nil
	}
	return err
}

// parsed holds the scripts parsed so far: a fleet of simulated servers runs
// the same script many times, and the evaluator never changes a parsed
// script. It is emptied when it grows past parsedMax.
var parsed struct {
	sync.Mutex
	m map[string]*script
}

const parsedMax = 256

func parseOnce(src string) (*script, error) {
	parsed.Lock()
	s := parsed.m[src]
	parsed.Unlock()
	if s != nil {
		return s, nil
	}
	s, err := Parse(src)
	if err != nil {
		return nil, err
	}
	parsed.Lock()
	if parsed.m == nil || len(parsed.m) >= parsedMax {
		parsed.m = map[string]*script{}
	}
	parsed.m[src] = s
	parsed.Unlock()
	return s, nil
}

func (rt *Runtime) block(s *script) ([]Value, error) {
	var out []Value
	for _, st := range s.stmts {
		if err := rt.Ctx.Err(); err != nil {
			return out, &ExitError{Code: -1}
		}
		vs, err := rt.stmt(st)
		out = append(out, vs...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (rt *Runtime) stmt(n node) ([]Value, error) {
	switch st := n.(type) {
	case *assign:
		v, err := rt.eval(st.value)
		if err != nil {
			return nil, err
		}
		if st.op != "=" {
			cur, err := rt.eval(st.target)
			if err != nil {
				return nil, err
			}
			if v, err = arith(st.op[:1], cur, v); err != nil {
				return nil, err
			}
		}
		return nil, rt.setTarget(st.target, v)
	case *ifStmt:
		for i, c := range st.conds {
			v, err := rt.eval(c)
			if err != nil {
				return nil, err
			}
			if IsTrue(v) {
				return rt.block(st.blocks[i])
			}
		}
		if st.els != nil {
			return rt.block(st.els)
		}
		return nil, nil
	case *foreachStmt:
		coll, err := rt.eval(st.in)
		if err != nil {
			return nil, err
		}
		var out []Value
		items := enumerate(coll)
		if coll == nil && rt.PSVersion < 3 {
			// PowerShell 2.0 runs a foreach over $null once, with $null;
			// 3.0 and later do not (pester/Pester#441, a fix for v2).
			items = []Value{nil}
		}
		for _, item := range items {
			rt.vars[strings.ToLower(st.varName)] = item
			vs, err := rt.block(st.body)
			out = append(out, vs...)
			var b flowBreak
			var c flowContinue
			switch {
			case errors.As(err, &b):
				return out, nil
			case errors.As(err, &c):
				continue
			case err != nil:
				return out, err
			}
		}
		return out, nil
	case *whileStmt:
		var out []Value
		for {
			c, err := rt.eval(st.cond)
			if err != nil {
				return out, err
			}
			if !IsTrue(c) {
				return out, nil
			}
			if err := rt.Ctx.Err(); err != nil {
				return out, &ExitError{Code: -1}
			}
			vs, err := rt.block(st.body)
			out = append(out, vs...)
			var b flowBreak
			var cn flowContinue
			switch {
			case errors.As(err, &b):
				return out, nil
			case errors.As(err, &cn):
			case err != nil:
				return out, err
			}
		}
	case *tryStmt:
		rt.tryDepth++
		out, err := rt.block(st.body)
		rt.tryDepth--
		var perr *Error
		if err != nil && errors.As(err, &perr) && st.catch != nil {
			saved := rt.vars["_"]
			rt.vars["_"] = errorRecord(perr)
			vs, cerr := rt.block(st.catch)
			rt.vars["_"] = saved
			out, err = append(out, vs...), cerr
		}
		if st.finally != nil {
			vs, ferr := rt.block(st.finally)
			out = append(out, vs...)
			if ferr != nil {
				err = ferr
			}
		}
		return out, err
	case *throwStmt:
		msg := "ScriptHalted"
		if st.value != nil {
			v, err := rt.eval(st.value)
			if err != nil {
				return nil, err
			}
			if e, ok := v.(*Object); ok && e.Type == "System.Management.Automation.ErrorRecord" {
				msg = ToString(v)
			} else {
				msg = ToString(v)
			}
		}
		return nil, &Error{Message: msg, Category: "OperationStopped", FQID: msg, Target: msg}
	case *exitStmt:
		code := 0
		if st.value != nil {
			v, err := rt.eval(st.value)
			if err != nil {
				return nil, err
			}
			code, _ = toInt(v)
		}
		return nil, &ExitError{Code: code}
	case *breakStmt:
		return nil, flowBreak{}
	case *contStmt:
		return nil, flowContinue{}
	}
	v, err := rt.evalStmtValue(n)
	return enumerateOutput(v), err
}

// enumerateOutput is what an expression statement writes to the pipeline:
// collections are unrolled, $null writes nothing.
func enumerateOutput(v Value) []Value {
	switch v.(type) {
	case nil:
		return nil
	case []Value, *List:
		return enumerate(v)
	}
	return []Value{v}
}

func (rt *Runtime) evalStmtValue(n node) (Value, error) {
	if pl, ok := n.(*pipeline); ok {
		vs, err := rt.runPipeline(pl)
		return vs, err
	}
	if c, ok := n.(*command); ok {
		vs, err := rt.runPipeline(&pipeline{elems: []node{c}, pos: c.pos})
		return vs, err
	}
	return rt.eval(n)
}

func errorRecord(e *Error) *Object {
	typ := "System.Exception"
	if e.Exception != "" {
		typ = "System.Management.Automation." + e.Exception
	}
	ex := NewObject(typ).Set("Message", e.Message)
	ex.String = func() string { return e.Message }
	o := NewObject("System.Management.Automation.ErrorRecord").Set("Exception", ex).
		Set("FullyQualifiedErrorId", e.FQID).Set("CategoryInfo", e.Category)
	o.String = func() string { return e.Message }
	return o
}

func (rt *Runtime) setTarget(t node, v Value) error {
	switch x := t.(type) {
	case *varRef:
		name := strings.ToLower(x.name)
		if name == "true" || name == "false" || name == "null" {
			return Errorf("WriteError", "VariableNotWritable", "Cannot overwrite variable %s because it is read-only or constant.", x.name)
		}
		if rt.PSVersion >= 3 && name == "psitem" {
			name = "_"
		}
		rt.vars[name] = v
		return nil
	case *member:
		obj, err := rt.eval(x.target)
		if err != nil {
			return err
		}
		switch o := obj.(type) {
		case *Object:
			if _, ok := o.Get(x.name); !ok {
				return Errorf("InvalidOperation", "PropertyNotFound", "Property '%s' cannot be found on this object. Verify that the property exists and can be set.", x.name)
			}
			o.Set(x.name, v)
			return nil
		case *Hashtable:
			o.Set(x.name, v)
			return nil
		}
		return Errorf("InvalidOperation", "PropertyNotFound", "Property '%s' cannot be found on this object. Verify that the property exists and can be set.", x.name)
	case *index:
		obj, err := rt.eval(x.target)
		if err != nil {
			return err
		}
		idx, err := rt.eval(x.idx)
		if err != nil {
			return err
		}
		switch o := obj.(type) {
		case *Hashtable:
			o.Set(ToString(idx), v)
			return nil
		case []Value:
			i, ok := toInt(idx)
			if !ok || i < 0 || i >= len(o) {
				return Errorf("InvalidOperation", "IndexOutOfRange", "Index was outside the bounds of the array.")
			}
			o[i] = v
			return nil
		}
	}
	return Errorf("ParserError", "InvalidLeftHandSide", "The assignment expression is not valid. The input to an assignment operator must be an object that is able to accept assignments, such as a variable or a property.")
}

func (rt *Runtime) getVar(name string) (Value, error) {
	lname := strings.ToLower(name)
	if strings.HasPrefix(lname, "env:") {
		return rt.vars[lname], nil
	}
	if lname == "psitem" {
		if rt.PSVersion < 3 {
			return nil, nil // $PSItem arrived with PowerShell 3.0
		}
		lname = "_"
	}
	v, ok := rt.vars[lname]
	if !ok {
		return nil, nil
	}
	return v, nil
}

var expandRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\$(?:\{([^}]+)\}|([A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_][A-Za-z0-9_]*)?))|\$\(`)
})

func (rt *Runtime) expand(s string) (string, error) {
	var b strings.Builder
	for {
		loc := expandRe().FindStringSubmatchIndex(s)
		if loc == nil {
			b.WriteString(strings.ReplaceAll(s, "`$", "$"))
			return b.String(), nil
		}
		if loc[0] > 0 && s[loc[0]-1] == '`' {
			b.WriteString(strings.ReplaceAll(s[:loc[0]-1], "`$", "$") + "$")
			s = s[loc[0]+1:]
			continue
		}
		b.WriteString(strings.ReplaceAll(s[:loc[0]], "`$", "$"))
		if s[loc[0]:loc[1]] == "$(" {
			// find the matching parenthesis
			depth, end := 1, -1
			for i := loc[1]; i < len(s); i++ {
				switch s[i] {
				case '(':
					depth++
				case ')':
					depth--
				}
				if depth == 0 {
					end = i
					break
				}
			}
			if end < 0 {
				return "", &ParseError{1, 1, "Missing closing ')' in subexpression."}
			}
			sub, err := Parse(s[loc[1]:end])
			if err != nil {
				return "", err
			}
			vs, err := rt.block(sub)
			if err != nil {
				return "", err
			}
			b.WriteString(ToString(vs))
			s = s[end+1:]
			continue
		}
		var name string
		if loc[2] >= 0 {
			name = s[loc[2]:loc[3]]
		} else {
			name = s[loc[4]:loc[5]]
		}
		v, err := rt.getVar(name)
		if err != nil {
			return "", err
		}
		b.WriteString(ToString(v))
		s = s[loc[1]:]
	}
}

func (rt *Runtime) eval(n node) (Value, error) {
	switch x := n.(type) {
	case *literal:
		return x.v, nil
	case *strExpand:
		return rt.expand(x.s)
	case *varRef:
		return rt.getVar(x.name)
	case *pipeline, *command:
		v, err := rt.evalStmtValue(n)
		if vs, ok := v.([]Value); ok {
			switch len(vs) {
			case 0:
				return nil, err
			case 1:
				return vs[0], err
			}
		}
		return v, err
	case *arrayLit:
		out := make([]Value, 0, len(x.items))
		for _, it := range x.items {
			v, err := rt.eval(it)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *arraySub:
		vs, err := rt.block(x.body)
		if vs == nil {
			vs = []Value{}
		}
		return vs, err
	case *subExpr:
		vs, err := rt.block(x.body)
		if len(vs) == 1 {
			return vs[0], err
		}
		if len(vs) == 0 {
			return nil, err
		}
		return vs, err
	case *hashLit:
		h := NewHashtable()
		for i, k := range x.keys {
			v, err := rt.eval(x.vals[i])
			if err != nil {
				return nil, err
			}
			h.Set(k, v)
		}
		return h, nil
	case *blockLit:
		return &ScriptBlock{x.body}, nil
	case *typeLit:
		return nil, Errorf("InvalidOperation", "TypeNotFound", "Unable to find type [%s].", x.name)
	case *castExpr:
		v, err := rt.eval(x.x)
		if err != nil {
			return nil, err
		}
		return rt.cast(x.typ, v)
	case *member:
		if x.static {
			t, ok := x.target.(*typeLit)
			if !ok {
				return nil, Errorf("InvalidOperation", "StaticMember", "Static members need a type: [Type]::Member.")
			}
			v, ok := rt.Statics[strings.ToLower(t.name+"::"+x.name)]
			if !ok {
				return nil, Errorf("InvalidOperation", "TypeNotFound", "Unable to find type [%s] or its member %s.", t.name, x.name)
			}
			return v, nil
		}
		obj, err := rt.eval(x.target)
		if err != nil {
			return nil, err
		}
		return rt.memberOf(obj, x.name), nil
	case *call:
		return rt.callMethod(x)
	case *index:
		obj, err := rt.eval(x.target)
		if err != nil {
			return nil, err
		}
		idx, err := rt.eval(x.idx)
		if err != nil {
			return nil, err
		}
		switch o := obj.(type) {
		case *Hashtable:
			v, _ := o.Get(ToString(idx))
			return v, nil
		case []Value, *List:
			items := enumerate(o)
			i, ok := toInt(idx)
			if !ok {
				return nil, nil
			}
			if i < 0 {
				i += len(items)
			}
			if i < 0 || i >= len(items) {
				return nil, nil
			}
			return items[i], nil
		case string:
			i, _ := toInt(idx)
			if i < 0 || i >= len(o) {
				return nil, nil
			}
			return string(o[i]), nil
		}
		return nil, Errorf("InvalidOperation", "CannotIndex", "Cannot index into a null array.")
	case *unary:
		v, err := rt.eval(x.x)
		if err != nil {
			return nil, err
		}
		switch x.op {
		case "-not":
			return !IsTrue(v), nil
		case "-":
			n, ok := toInt(v)
			if !ok {
				return nil, Errorf("InvalidOperation", "MethodNotFound", "Cannot negate a value of this type.")
			}
			return -n, nil
		case ",":
			return []Value{v}, nil
		case "-join":
			return joinValues(v, ""), nil
		case "-split":
			return splitWS(ToString(v)), nil
		}
	case *binary:
		return rt.binaryOp(x)
	}
	return nil, Errorf("ParserError", "Unsupported", "This expression is outside the lab's PowerShell subset.")
}

// memberOf reads a property. On a collection that lacks it, PowerShell 3.0
// and later read it from every item (member enumeration); 2.0 gives $null.
// Count on $null is 0 from 3.0 on, and $null on 2.0.
func (rt *Runtime) memberOf(obj Value, name string) Value {
	lname := strings.ToLower(name)
	if rt.PSVersion >= 3 {
		if obj == nil && (lname == "count" || lname == "length") {
			return 0
		}
		if items, ok := obj.([]Value); ok && lname != "count" && lname != "length" {
			var out []Value
			for _, it := range items {
				out = append(out, enumerateOutput(rt.memberOf(it, name))...)
			}
			switch len(out) {
			case 0:
				return nil
			case 1:
				return out[0]
			}
			return out
		}
		if _, isList := obj.(*List); !isList {
			if o, ok := obj.(*Object); !ok || (lname != "count" && lname != "length") || o.vals[lname] != nil {
				return memberOf(obj, name)
			}
			return 1 // every object has Count 1 from 3.0 on
		}
	}
	return memberOf(obj, name)
}

func memberOf(obj Value, name string) Value {
	lname := strings.ToLower(name)
	switch o := obj.(type) {
	case *Object:
		v, _ := o.Get(name)
		return v
	case *Hashtable:
		if lname == "count" {
			return len(o.keys)
		}
		if lname == "keys" {
			ks := make([]Value, len(o.keys))
			for i, k := range o.keys {
				ks[i] = k
			}
			return ks
		}
		v, _ := o.Get(name)
		return v
	case string:
		if lname == "length" {
			return len([]rune(o))
		}
	case []Value:
		if lname == "count" || lname == "length" {
			return len(o)
		}
	case *List:
		if lname == "count" {
			return len(o.Items)
		}
	case *Error:
		if lname == "message" {
			return o.Message
		}
	}
	return nil
}

func (rt *Runtime) callMethod(x *call) (Value, error) {
	var args []Value
	for _, a := range x.args {
		v, err := rt.eval(a)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
	}
	if x.static {
		t, ok := x.target.(*typeLit)
		if !ok {
			return nil, Errorf("InvalidOperation", "StaticMember", "Static members need a type: [Type]::Member.")
		}
		m, ok := rt.Statics[strings.ToLower(t.name+"::"+x.name)].(Method)
		if !ok {
			return nil, Errorf("InvalidOperation", "TypeNotFound", "Unable to find type [%s] or its method %s.", t.name, x.name)
		}
		return m(args)
	}
	obj, err := rt.eval(x.target)
	if err != nil {
		return nil, err
	}
	lname := strings.ToLower(x.name)
	switch o := obj.(type) {
	case *Object:
		if m, ok := o.Methods[lname]; ok {
			return m(args)
		}
		if lname == "tostring" {
			return ToString(o), nil
		}
		if lname == "gettype" && len(args) == 0 {
			t := NewObject("System.RuntimeType").Set("FullName", o.Type).Set("Name", o.Type[strings.LastIndex(o.Type, ".")+1:])
			name := o.Type
			t.String = func() string { return name }
			return t, nil
		}
	case *List:
		switch lname {
		case "add":
			if len(args) == 1 {
				o.Items = append(o.Items, args[0])
				return nil, nil
			}
		case "remove":
			if len(args) == 1 {
				for i, it := range o.Items {
					if (o.Equal != nil && o.Equal(it, args[0])) || (o.Equal == nil && it == args[0]) {
						o.Items = append(o.Items[:i:i], o.Items[i+1:]...)
						return true, nil
					}
				}
				return false, nil
			}
		case "removeat":
			if i, ok := toInt(args[0]); ok && len(args) == 1 {
				if i < 0 || i >= len(o.Items) {
					return nil, Errorf("InvalidOperation", "ArgumentOutOfRangeException", "Exception calling \"RemoveAt\" with \"1\" argument(s): \"Index was out of range. Must be non-negative and less than the size of the collection.\"")
				}
				o.Items = append(o.Items[:i:i], o.Items[i+1:]...)
				return nil, nil
			}
		case "clear":
			o.Items = nil
			return nil, nil
		}
	case string:
		switch lname {
		case "toupper":
			return strings.ToUpper(o), nil
		case "tolower":
			return strings.ToLower(o), nil
		case "trim":
			return strings.TrimSpace(o), nil
		case "replace":
			if len(args) == 2 {
				return strings.ReplaceAll(o, ToString(args[0]), ToString(args[1])), nil
			}
		case "startswith":
			if len(args) == 1 {
				return strings.HasPrefix(o, ToString(args[0])), nil
			}
		case "substring":
			if len(args) == 0 || len(args) > 2 {
				break
			}
			r := []rune(o)
			start, ok := toInt(args[0])
			n := len(r) - start
			if len(args) == 2 {
				n, ok = toInt(args[1])
			}
			if !ok || start < 0 || n < 0 || start+n > len(r) {
				return nil, Errorf("InvalidOperation", "ArgumentOutOfRangeException", "Exception calling \"Substring\" with \"%d\" argument(s): \"Index and length must refer to a location within the string.\"", len(args))
			}
			return string(r[start : start+n]), nil
		case "contains":
			if len(args) == 1 {
				return strings.Contains(o, ToString(args[0])), nil
			}
		case "tostring":
			return o, nil
		}
	case nil:
		return nil, Errorf("InvalidOperation", "InvokeMethodOnNull", "You cannot call a method on a null-valued expression.")
	}
	return nil, Errorf("InvalidOperation", "MethodNotFound", "Method invocation failed because [%s] does not contain a method named '%s'.", typeName(obj), x.name)
}

func typeName(v Value) string {
	switch o := v.(type) {
	case *Object:
		return o.Type
	case string:
		return "System.String"
	case int:
		return "System.Int32"
	case bool:
		return "System.Boolean"
	case []Value:
		return "System.Object[]"
	case *Hashtable:
		return "System.Collections.Hashtable"
	case *List:
		return "System.Collections.Generic.List"
	}
	return "System.Object"
}

func (rt *Runtime) cast(typ string, v Value) (Value, error) {
	switch strings.ToLower(typ) {
	case "string":
		return ToString(v), nil
	case "int", "int32":
		n, ok := toInt(v)
		if !ok {
			return nil, Errorf("InvalidArgument", "InvalidCastFromStringToInteger", "Cannot convert value \"%s\" to type \"System.Int32\".", ToString(v))
		}
		return n, nil
	case "bool", "boolean":
		return IsTrue(v), nil
	case "char":
		if n, ok := v.(int); ok && n >= 0 && n <= 0xFFFF {
			return string(rune(n)), nil
		}
		if s, ok := v.(string); ok && len([]rune(s)) == 1 {
			return s, nil
		}
		return nil, Errorf("InvalidArgument", "InvalidCastParseTargetInvocation", "Cannot convert value \"%s\" to type \"System.Char\".", ToString(v))
	case "array", "object[]":
		return enumerate(v), nil
	case "pscustomobject":
		if rt.PSVersion < 3 {
			return nil, Errorf("InvalidOperation", "TypeNotFound", "Unable to find type [pscustomobject]: make sure that the assembly containing this type is loaded.")
		}
		h, ok := v.(*Hashtable)
		if !ok {
			return nil, Errorf("InvalidArgument", "ConvertToFinalInvalidCastException", "Cannot convert to [pscustomobject].")
		}
		o := NewObject("System.Management.Automation.PSCustomObject")
		for _, k := range h.Keys() {
			val, _ := h.Get(k)
			o.Set(k, val)
		}
		return o, nil
	}
	return nil, Errorf("InvalidOperation", "TypeNotFound", "Unable to find type [%s]: the type is outside the lab's PowerShell subset.", typ)
}

func joinValues(v Value, sep string) string {
	items := enumerate(v)
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = ToString(it)
	}
	return strings.Join(parts, sep)
}

func splitWS(s string) []Value {
	var out []Value
	for _, f := range strings.Fields(s) {
		out = append(out, f)
	}
	return out
}

func arith(op string, l, r Value) (Value, error) {
	switch lv := l.(type) {
	case string:
		if op == "+" {
			return lv + ToString(r), nil
		}
	case []Value:
		if op == "+" {
			return append(append([]Value(nil), lv...), enumerate(r)...), nil
		}
	case nil:
		if op == "+" {
			switch r.(type) {
			case string:
				return r, nil
			case []Value:
				return r, nil
			}
			if _, ok := r.(int); !ok {
				return []Value{r}, nil
			}
		}
	}
	a, ok1 := toInt(l)
	b, ok2 := toInt(r)
	if !ok1 || !ok2 {
		return nil, Errorf("InvalidOperation", "MethodNotFound", "Method invocation failed because [%s] does not contain a method named 'op_Addition'.", typeName(l))
	}
	switch op {
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "/":
		if b == 0 {
			return nil, Errorf("InvalidOperation", "RuntimeException", "Attempted to divide by zero.")
		}
		return a / b, nil
	case "%":
		if b == 0 {
			return nil, Errorf("InvalidOperation", "RuntimeException", "Attempted to divide by zero.")
		}
		return a % b, nil
	}
	return nil, Errorf("InvalidOperation", "Unsupported", "Operator %s is outside the lab's subset.", op)
}

func equalValues(l, r Value, caseSensitive bool) bool {
	switch lv := l.(type) {
	case nil:
		return r == nil
	case string:
		rs := ToString(r)
		if r == nil {
			return false
		}
		if caseSensitive {
			return lv == rs
		}
		return strings.EqualFold(lv, rs)
	case int:
		n, ok := toInt(r)
		return ok && r != nil && n == lv
	case bool:
		return r != nil && lv == IsTrue(r)
	}
	return l == r
}

func compareValues(l, r Value) int {
	if a, ok := l.(int); ok {
		if b, ok := toInt(r); ok {
			switch {
			case a < b:
				return -1
			case a > b:
				return 1
			}
			return 0
		}
	}
	return strings.Compare(strings.ToLower(ToString(l)), strings.ToLower(ToString(r)))
}

func likeToRegexp(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("(?is)^")
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

func (rt *Runtime) binaryOp(x *binary) (Value, error) {
	l, err := rt.eval(x.l)
	if err != nil {
		return nil, err
	}
	// -and and -or short-circuit
	switch x.op {
	case "-and":
		if !IsTrue(l) {
			return false, nil
		}
		r, err := rt.eval(x.r)
		return IsTrue(r), err
	case "-or":
		if IsTrue(l) {
			return true, nil
		}
		r, err := rt.eval(x.r)
		return IsTrue(r), err
	}
	r, err := rt.eval(x.r)
	if err != nil {
		return nil, err
	}
	op := x.op
	cs := strings.HasPrefix(op, "-c") && op != "-contains"
	if strings.HasPrefix(op, "-i") && op != "-in" && op != "-is" && op != "-isnot" {
		op = "-" + op[2:]
	}
	if cs {
		op = "-" + op[2:]
	}
	// comparison operators filter when the left side is a collection
	if items, ok := l.([]Value); ok && strings.Contains("-eq -ne -gt -ge -lt -le -like -notlike -match -notmatch", op) {
		var out []Value
		for _, it := range items {
			v, err := rt.compare(op, it, r, cs)
			if err != nil {
				return nil, err
			}
			if IsTrue(v) {
				out = append(out, it)
			}
		}
		if out == nil {
			out = []Value{}
		}
		return out, nil
	}
	switch op {
	case "+", "-", "*", "/", "%":
		return arith(op, l, r)
	case "-join":
		return joinValues(l, ToString(r)), nil
	case "-split":
		re, err := dotnetRegexp(ToString(r))
		if err != nil {
			return nil, Errorf("InvalidOperation", "InvalidRegularExpression", "The regular expression pattern %s is not valid.", ToString(r))
		}
		var out []Value
		for _, p := range re.Split(ToString(l), -1) {
			out = append(out, p)
		}
		return out, nil
	case "-replace":
		pat, repl := r, Value("")
		if arr, ok := r.([]Value); ok && len(arr) == 2 {
			pat, repl = arr[0], arr[1]
		}
		re, err := dotnetRegexp(ToString(pat))
		if err != nil {
			return nil, Errorf("InvalidOperation", "InvalidRegularExpression", "The regular expression pattern %s is not valid.", ToString(pat))
		}
		return re.ReplaceAllString(ToString(l), strings.ReplaceAll(ToString(repl), "$", "$$")), nil
	case "-contains", "-notcontains":
		found := false
		for _, it := range enumerate(l) {
			if equalValues(it, r, false) {
				found = true
			}
		}
		return found == (op == "-contains"), nil
	case "-in", "-notin":
		if rt.PSVersion < 3 {
			return nil, &ParseError{1, 1, "Unexpected token '" + op + "' in expression or statement."}
		}
		found := false
		for _, it := range enumerate(r) {
			if equalValues(it, l, false) {
				found = true
			}
		}
		return found == (op == "-in"), nil
	case "-f":
		return formatOp(ToString(l), enumerate(r)), nil
	}
	return rt.compare(op, l, r, cs)
}

func (rt *Runtime) compare(op string, l, r Value, cs bool) (Value, error) {
	switch op {
	case "-eq":
		return equalValues(l, r, cs), nil
	case "-ne":
		return !equalValues(l, r, cs), nil
	case "-gt":
		return compareValues(l, r) > 0, nil
	case "-ge":
		return compareValues(l, r) >= 0, nil
	case "-lt":
		return compareValues(l, r) < 0, nil
	case "-le":
		return compareValues(l, r) <= 0, nil
	case "-like", "-notlike":
		re, err := likeToRegexp(ToString(r))
		if err != nil {
			return nil, err
		}
		return re.MatchString(ToString(l)) == (op == "-like"), nil
	case "-match", "-notmatch":
		re, err := dotnetRegexp(ToString(r))
		if err != nil {
			return nil, Errorf("InvalidOperation", "InvalidRegularExpression", "The regular expression pattern %s is not valid.", ToString(r))
		}
		return re.MatchString(ToString(l)) == (op == "-match"), nil
	}
	return nil, Errorf("InvalidOperation", "Unsupported", "The operator %s is outside the lab's PowerShell subset.", op)
}

var formatItemRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{(\d+)\}`) })

func formatOp(f string, args []Value) string {
	return formatItemRe().ReplaceAllStringFunc(f, func(m string) string {
		var i int
		fmt.Sscanf(m, "{%d}", &i)
		if i < len(args) {
			return ToString(args[i])
		}
		return ""
	})
}

// runPipeline runs each element in turn, passing the whole output of one to
// the next (the lab does not stream, which no lynctrust script can observe).
func (rt *Runtime) runPipeline(pl *pipeline) ([]Value, error) {
	var input []Value
	hasInput := false
	for i, el := range pl.elems {
		c, isCmd := el.(*command)
		if !isCmd {
			v, err := rt.eval(el)
			if err != nil {
				return nil, err
			}
			input, hasInput = enumerateOutput(v), true
			continue
		}
		out, err := rt.invoke(c, input, hasInput || i > 0)
		if err != nil {
			if i == len(pl.elems)-1 {
				// what the last command wrote before it failed (or exited)
				// has already reached the output, as PowerShell streams it
				return out, err
			}
			return nil, err
		}
		input, hasInput = out, true
	}
	return input, nil
}

func (rt *Runtime) invoke(c *command, input []Value, hasInput bool) ([]Value, error) {
	cmd, ok := rt.Commands[strings.ToLower(c.name)]
	if !ok || (cmd.PS3 && rt.PSVersion < 3) {
		return nil, rt.statementError(&Error{Message: fmt.Sprintf("The term '%s' is not recognized as the name of a cmdlet, function, script file, or operable program. "+
			"Check the spelling of the name, or if a path was included, verify that the path is correct and try again.", c.name),
			Category: "ObjectNotFound", FQID: "CommandNotFoundException", Target: c.name, Exception: "CommandNotFoundException"}, nil)
	}
	call, err := rt.bind(cmd, c, input, hasInput)
	if err != nil {
		// A ParameterBindingException: -ErrorAction does not apply to it,
		// since the command never ran (only the preference and try/catch do).
		var perr *Error
		if errors.As(err, &perr) {
			if perr.Command == "" {
				perr.Command = cmd.Name
			}
			return nil, rt.statementError(perr, nil)
		}
		return nil, err
	}
	if cmd.Native && rt.Started != nil && call != nil {
		rt.Started(cmd.Name, call.Args)
	}
	out, err := cmd.Run(call)
	if cmd.Native {
		code := 0
		var ec ExitCode
		if errors.As(err, &ec) {
			code, err = int(ec), nil
		}
		rt.vars["lastexitcode"] = code
		if err == nil && call != nil && len(call.Stderr) > 0 {
			var serr error
			if out, serr = rt.nativeStderr(call, c.mergeErr, out); serr != nil {
				return out, serr
			}
		}
	}
	if err != nil {
		var perr *Error
		if errors.As(err, &perr) && perr.Command == "" {
			perr.Command = cmd.Name
		}
		if perr != nil {
			return out, rt.statementError(perr, call)
		}
	}
	return out, err
}

// nativeStderr turns what a native program wrote to standard error into
// error records, as Windows PowerShell does when its own streams are
// redirected (under WinRM): each line is a NativeCommandError, which
// $ErrorActionPreference = 'Stop' makes terminating, with or without 2>&1;
// with 2>&1 and another preference the records join the output.
func (rt *Runtime) nativeStderr(call *Call, merge bool, out []Value) ([]Value, error) {
	var records []Value
	for _, line := range call.Stderr {
		e := &Error{Message: line, Category: "NotSpecified", FQID: "NativeCommandError", Command: call.Name, Target: line}
		if merge && !strings.EqualFold(ToString(rt.vars["erroractionpreference"]), "Stop") {
			rec := NewObject("System.Management.Automation.ErrorRecord")
			text := line
			rec.String = func() string { return text }
			records = append(records, rec)
			continue
		}
		if err := rt.statementError(e, nil); err != nil {
			return out, err
		}
	}
	return append(records, out...), nil
}

// ExitCode ends a native program with a code: $LASTEXITCODE.
type ExitCode int

func (e ExitCode) Error() string { return fmt.Sprintf("exit code %d", int(e)) }

// statementError applies $ErrorActionPreference (or -ErrorAction): with Stop
// the error ends the script, otherwise it is written to the error stream and
// the script goes on with the next statement.
func (rt *Runtime) statementError(e *Error, call *Call) error {
	if call == nil && rt.tryDepth > 0 {
		return e
	}
	if call != nil && call.Has("ErrorAction") {
		switch strings.ToLower(call.String("ErrorAction")) {
		case "stop":
			return e
		case "silentlycontinue", "ignore":
			return nil
		}
	}
	if strings.EqualFold(ToString(rt.vars["erroractionpreference"]), "Stop") {
		return e
	}
	rt.errs = append(rt.errs, e)
	return nil
}

func (rt *Runtime) bind(cmd *Cmdlet, c *command, input []Value, hasInput bool) (*Call, error) {
	call := &Call{RT: rt, Name: cmd.Name, Params: map[string]Value{}, Input: input, HasIn: hasInput}
	if cmd.Native {
		// A native program gets its arguments as words, as PowerShell passes them.
		var args []string
		for _, a := range c.args {
			if a.param != "" {
				args = append(args, "-"+a.param)
			}
			if a.value != nil {
				v, err := rt.eval(a.value)
				if err != nil {
					return call, err
				}
				for _, x := range enumerate(v) {
					args = append(args, ToString(x))
				}
			}
		}
		call.Args = args
		return call, nil
	}
	var positional []Value
	for _, a := range c.args {
		if a.param == "" {
			v, err := rt.eval(a.value)
			if err != nil {
				return call, err
			}
			positional = append(positional, v)
			continue
		}
		pname, err := matchParam(cmd, a.param)
		if err != nil {
			return call, err
		}
		if isSwitch(cmd, pname) {
			v := Value(true)
			if a.value != nil {
				val, err := rt.eval(a.value)
				if err != nil {
					return call, err
				}
				if a.colon {
					v = IsTrue(val)
				} else {
					positional = append(positional, val)
				}
			}
			call.Params[strings.ToLower(pname)] = v
			continue
		}
		if a.value == nil {
			return call, &Error{Message: fmt.Sprintf("Missing an argument for parameter '%s'. Specify a parameter of type 'System.Object' and try again.", pname),
				Category: "InvalidArgument", FQID: "MissingArgument", Command: cmd.Name}
		}
		v, err := rt.eval(a.value)
		if err != nil {
			return call, err
		}
		call.Params[strings.ToLower(pname)] = v
	}
	sets, err := resolveSets(cmd, call)
	if err != nil {
		return call, err
	}
	pos := 0
	order := positionalIn(cmd, sets)
	for _, v := range positional {
		for pos < len(order) && call.Has(order[pos]) {
			pos++
		}
		if pos >= len(order) {
			return call, &Error{Message: fmt.Sprintf("A positional parameter cannot be found that accepts argument '%s'.", ToString(v)),
				Category: "InvalidArgument", FQID: "PositionalParameterNotFound", Command: cmd.Name, Exception: "ParameterBindingException"}
		}
		call.Params[strings.ToLower(order[pos])] = v
		pos++
	}
	var missing []string
	for _, m := range cmd.Mandatory {
		if !call.Has(m) {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return call, &Error{Message: "Cannot process command because of one or more missing mandatory parameters: " + strings.Join(missing, " ") + ".",
			Category: "InvalidArgument", FQID: "MissingMandatoryParameter", Command: cmd.Name, Exception: "ParameterBindingException"}
	}
	return call, nil
}

// resolveSets keeps the parameter sets every named parameter belongs to;
// none left is PowerShell's AmbiguousParameterSet error.
func resolveSets(cmd *Cmdlet, call *Call) (map[string]bool, error) {
	if cmd.Sets == nil {
		return nil, nil
	}
	var left map[string]bool
	for name := range call.Params {
		in := setsOf(cmd, name)
		if in == nil {
			continue
		}
		if left == nil {
			left = in
			continue
		}
		for s := range left {
			if !in[s] {
				delete(left, s)
			}
		}
	}
	if left != nil && len(left) == 0 {
		return nil, &Error{Message: "Parameter set cannot be resolved using the specified named parameters.",
			Category: "InvalidArgument", FQID: "AmbiguousParameterSet", Command: cmd.Name, Exception: "ParameterBindingException"}
	}
	return left, nil
}

// setsOf is the sets a parameter (lower case) is in; nil means all of them.
func setsOf(cmd *Cmdlet, lname string) map[string]bool {
	for p, ss := range cmd.Sets {
		if strings.ToLower(p) != lname {
			continue
		}
		out := map[string]bool{}
		for _, s := range ss {
			if s == "(All)" {
				return nil
			}
			out[s] = true
		}
		return out
	}
	return nil
}

// positionalIn is the positional parameters, in order, of the sets left.
func positionalIn(cmd *Cmdlet, sets map[string]bool) []string {
	if sets == nil {
		return cmd.Positional
	}
	var out []string
	for _, p := range cmd.Positional {
		in := setsOf(cmd, strings.ToLower(p))
		ok := in == nil
		for s := range in {
			ok = ok || sets[s]
		}
		if ok {
			out = append(out, p)
		}
	}
	return out
}

var commonParams = []string{"ErrorAction", "WarningAction", "Verbose", "Debug", "ErrorVariable", "OutVariable", "WhatIf", "Confirm"}

func isSwitch(c *Cmdlet, name string) bool {
	for _, s := range append(c.Switches, "Verbose", "Debug", "WhatIf", "Confirm") {
		if strings.EqualFold(s, name) {
			return true
		}
	}
	return false
}

// matchParam resolves a parameter name, alias or unambiguous prefix, as
// PowerShell does.
func matchParam(c *Cmdlet, given string) (string, error) {
	common := c.Common
	if common == nil {
		common = commonParams
	}
	all := append(append([]string(nil), c.Params...), common...)
	lg := strings.ToLower(given)
	if p, ok := c.Aliases[lg]; ok {
		return p, nil
	}
	var matches []string
	seen := map[string]bool{}
	for _, p := range all {
		if strings.EqualFold(p, given) {
			return p, nil
		}
		if strings.HasPrefix(strings.ToLower(p), lg) && !seen[strings.ToLower(p)] {
			seen[strings.ToLower(p)] = true
			matches = append(matches, p)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return "", &Error{Message: fmt.Sprintf("A parameter cannot be found that matches parameter name '%s'.", given),
			Category: "InvalidArgument", FQID: "NamedParameterNotFound", Command: c.Name, Exception: "ParameterBindingException"}
	}
	return "", &Error{Message: fmt.Sprintf("Parameter cannot be processed because the parameter name '%s' is ambiguous. Possible matches include: -%s.", given, strings.Join(matches, " -")),
		Category: "InvalidArgument", FQID: "AmbiguousParameter", Command: c.Name, Exception: "ParameterBindingException"}
}

// RunBlock runs a script block with $_ set, for ForEach-Object and Where-Object.
func (rt *Runtime) RunBlock(sb *ScriptBlock, item Value) ([]Value, error) {
	saved := rt.vars["_"]
	rt.vars["_"] = item
	out, err := rt.block(sb.body)
	rt.vars["_"] = saved
	return out, err
}

var dotnetEscape = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\\u([0-9A-Fa-f]{4})`) })

// dotnetRegexp compiles a .NET pattern, case-insensitive as PowerShell's
// operators are; .NET's \uXXXX escape is Go's \x{XXXX}.
func dotnetRegexp(p string) (*regexp.Regexp, error) {
	return regexp.Compile("(?i)" + dotnetEscape().ReplaceAllString(p, `\x{$1}`))
}

func (rt *Runtime) logScriptBlock(text string) {
	if rt.ScriptBlock != nil {
		rt.ScriptBlock(text)
	}
}
