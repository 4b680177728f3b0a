package powershell

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Value is a PowerShell value: nil ($null), bool, int, string, []Value,
// *Hashtable, *Object, *List or *ScriptBlock.
type Value = any

// Hashtable is @{...}: keys compare without case, order is kept.
type Hashtable struct {
	keys []string
	m    map[string]Value
}

// NewHashtable makes an empty hashtable.
func NewHashtable() *Hashtable { return &Hashtable{m: map[string]Value{}} }

// Set sets a key.
func (h *Hashtable) Set(k string, v Value) {
	lk := strings.ToLower(k)
	if _, ok := h.m[lk]; !ok {
		h.keys = append(h.keys, k)
	}
	h.m[lk] = v
}

// Get reads a key.
func (h *Hashtable) Get(k string) (Value, bool) { v, ok := h.m[strings.ToLower(k)]; return v, ok }

// Keys lists the keys in insertion order.
func (h *Hashtable) Keys() []string { return append([]string(nil), h.keys...) }

// Method is a .NET method of an emulated object.
type Method func(args []Value) (Value, error)

// Object is a .NET object as the lab emulates it: a type name, properties and
// methods, all looked up without case.
type Object struct {
	Type    string
	props   []string
	vals    map[string]Value
	Methods map[string]Method
	// String gives ToString(); the type name when nil, as .NET does.
	String func() string
}

// NewObject makes an object of the given type.
func NewObject(typ string) *Object {
	return &Object{Type: typ, vals: map[string]Value{}, Methods: map[string]Method{}}
}

// Set sets a property.
func (o *Object) Set(name string, v Value) *Object {
	ln := strings.ToLower(name)
	if _, ok := o.vals[ln]; !ok {
		o.props = append(o.props, name)
	}
	o.vals[ln] = v
	return o
}

// Get reads a property.
func (o *Object) Get(name string) (Value, bool) { v, ok := o.vals[strings.ToLower(name)]; return v, ok }

// Props lists the property names in order.
func (o *Object) Props() []string { return append([]string(nil), o.props...) }

// Method adds a method.
func (o *Object) Method(name string, m Method) *Object {
	o.Methods[strings.ToLower(name)] = m
	return o
}

// List is a mutable .NET collection (what Lync's PSListModifier properties
// hold): Add, Remove, RemoveAt, Clear, Count, indexing.
type List struct {
	Items []Value
	// Equal decides Remove's match; identity when nil, as for .NET reference types.
	Equal func(a, b Value) bool
}

// ScriptBlock is { ... }.
type ScriptBlock struct{ body *script }

// Errorf makes a terminating error as a cmdlet raises it.
func Errorf(category, fqid, format string, a ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, a...), Category: category, FQID: fqid}
}

// Error is a PowerShell ErrorRecord.
type Error struct {
	Message  string
	Category string // e.g. "InvalidOperation"
	FQID     string // FullyQualifiedErrorId
	Command  string // the cmdlet that raised it
	Target   string
	// Exception is the .NET exception's short name (ParameterBindingException,
	// CommandNotFoundException); "Exception" when empty.
	Exception string
}

func (e *Error) Error() string { return e.Message }

// Render formats the error as PowerShell writes it to the error stream.
func (e *Error) Render() string {
	var b strings.Builder
	if e.Command != "" {
		b.WriteString(e.Command + " : ")
	}
	b.WriteString(e.Message + "\n")
	cat := e.Category
	if cat == "" {
		cat = "NotSpecified"
	}
	target := e.Target
	if e.Command != "" {
		target = e.Command
	}
	exc := e.Exception
	if exc == "" {
		exc = "Exception"
	}
	fmt.Fprintf(&b, "    + CategoryInfo          : %s: (%s) [%s], %s\n", cat, target, e.Command, exc)
	fqid := e.FQID
	if e.Command != "" && fqid != "" && !strings.Contains(fqid, ",") {
		fqid += "," + e.Command
	}
	fmt.Fprintf(&b, "    + FullyQualifiedErrorId : %s\n", fqid)
	return b.String()
}

// ToString converts a value the way PowerShell does in string context.
func ToString(v Value) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case []Value:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = ToString(e)
		}
		return strings.Join(parts, " ")
	case *List:
		parts := make([]string, len(x.Items))
		for i, e := range x.Items {
			parts[i] = ToString(e)
		}
		return strings.Join(parts, " ")
	case *Hashtable:
		return "System.Collections.Hashtable"
	case *Object:
		if x.String != nil {
			return x.String()
		}
		return x.Type
	case *ScriptBlock:
		return "{ScriptBlock}"
	case *Error:
		return x.Message
	}
	return fmt.Sprint(v)
}

// IsTrue is PowerShell's conversion to bool.
func IsTrue(v Value) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int:
		return x != 0
	case string:
		return x != ""
	case []Value:
		switch len(x) {
		case 0:
			return false
		case 1:
			return IsTrue(x[0])
		}
		return true
	case *List:
		return len(x.Items) > 0
	}
	return true
}

// enumerate unrolls collections, as the pipeline and foreach do.
func enumerate(v Value) []Value {
	switch x := v.(type) {
	case nil:
		return nil
	case []Value:
		return x
	case *List:
		return append([]Value(nil), x.Items...)
	}
	return []Value{v}
}

func toInt(v Value) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil
	case nil:
		return 0, true
	}
	return 0, false
}

// Format renders output objects as the console host would, for the lab's
// stdout: strings as they are, objects as property lists.
func Format(v Value) string {
	switch x := v.(type) {
	case *Object:
		if x.String != nil && len(x.props) == 0 {
			return x.String()
		}
		var b strings.Builder
		b.WriteString("\n")
		w := 0
		for _, p := range x.props {
			w = max(w, len(p))
		}
		for _, p := range x.props {
			fmt.Fprintf(&b, "%-*s : %s\n", w, p, ToString(x.vals[strings.ToLower(p)]))
		}
		return b.String()
	case *Hashtable:
		var b strings.Builder
		keys := x.Keys()
		sort.Strings(keys)
		for _, k := range keys {
			v, _ := x.Get(k)
			fmt.Fprintf(&b, "%s = %s\n", k, ToString(v))
		}
		return b.String()
	}
	return ToString(v)
}
