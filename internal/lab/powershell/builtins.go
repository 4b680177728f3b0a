package powershell

import (
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"time"
)

func addBuiltins(rt *Runtime) {
	rt.Register(
		&Cmdlet{Name: "Write-Output", Params: []string{"InputObject"}, Positional: []string{"InputObject"},
			Run: func(c *Call) ([]Value, error) {
				if c.Has("InputObject") {
					return enumerateOutput(c.Get("InputObject")), nil
				}
				return c.Input, nil
			}},
		&Cmdlet{Name: "Out-Null", Params: []string{"InputObject"}, Run: func(c *Call) ([]Value, error) { return nil, nil }},
		&Cmdlet{Name: "Write-Error", Params: []string{"Message"}, Positional: []string{"Message"},
			Run: func(c *Call) ([]Value, error) {
				return nil, &Error{Message: c.String("Message"), Category: "NotSpecified", FQID: "Microsoft.PowerShell.Commands.WriteErrorException", Command: "Write-Error"}
			}},
		&Cmdlet{Name: "ForEach-Object", Params: []string{"Process", "InputObject"}, Positional: []string{"Process"},
			Run: func(c *Call) ([]Value, error) {
				sb, ok := c.Get("Process").(*ScriptBlock)
				if !ok {
					return nil, &Error{Message: "Cannot bind parameter 'Process'. Cannot convert the value to type \"System.Management.Automation.ScriptBlock\".",
						Category: "InvalidArgument", FQID: "ParameterBindingFailed"}
				}
				var out []Value
				for _, in := range c.Input {
					vs, err := c.RT.RunBlock(sb, in)
					out = append(out, vs...)
					if err != nil {
						return out, err
					}
				}
				return out, nil
			}},
		&Cmdlet{Name: "Where-Object", Params: []string{"FilterScript", "Property", "Value", "EQ", "NE", "Like", "Match", "InputObject"},
			Switches: []string{"EQ", "NE", "Like", "Match"}, Positional: []string{"FilterScript", "Value"},
			Run: func(c *Call) ([]Value, error) {
				sb, ok := c.Get("FilterScript").(*ScriptBlock)
				if !ok {
					// Where-Object Prop -eq X, the simplified syntax of PowerShell 3.0
					if c.RT.PSVersion < 3 {
						return nil, &Error{Message: "Cannot bind parameter 'FilterScript'. Cannot convert the \"" + c.String("FilterScript") +
							"\" value of type \"System.String\" to type \"System.Management.Automation.ScriptBlock\".",
							Category: "InvalidArgument", FQID: "CannotConvertArgumentNoMessage"}
					}
					prop := c.String("FilterScript")
					var out []Value
					for _, in := range c.Input {
						v := c.RT.memberOf(in, prop)
						keep := false
						switch {
						case c.Has("NE"):
							keep = !equalValues(v, c.Get("Value"), false)
						case c.Has("Like"):
							re, _ := likeToRegexp(c.String("Value"))
							keep = re.MatchString(ToString(v))
						default:
							keep = equalValues(v, c.Get("Value"), false)
						}
						if keep {
							out = append(out, in)
						}
					}
					return out, nil
				}
				var out []Value
				for _, in := range c.Input {
					vs, err := c.RT.RunBlock(sb, in)
					if err != nil {
						return out, err
					}
					if IsTrue(vs) {
						out = append(out, in)
					}
				}
				return out, nil
			}},
		&Cmdlet{Name: "Select-Object", Params: []string{"ExpandProperty", "First", "Property"}, Positional: []string{"Property"},
			Run: func(c *Call) ([]Value, error) {
				in := c.Input
				if c.Has("First") {
					n, _ := toInt(c.Get("First"))
					if n < len(in) {
						in = in[:n]
					}
				}
				if c.Has("ExpandProperty") {
					var out []Value
					for _, v := range in {
						out = append(out, enumerateOutput(c.RT.memberOf(v, c.String("ExpandProperty")))...)
					}
					return out, nil
				}
				if c.Has("Property") {
					var out []Value
					for _, v := range in {
						o := NewObject("Selected.Object")
						for _, p := range enumerate(c.Get("Property")) {
							o.Set(ToString(p), c.RT.memberOf(v, ToString(p)))
						}
						out = append(out, o)
					}
					return out, nil
				}
				return in, nil
			}},
		&Cmdlet{Name: "Invoke-Expression", Params: []string{"Command"}, Positional: []string{"Command"},
			Run: func(c *Call) ([]Value, error) {
				c.RT.logScriptBlock(c.String("Command"))
				s, err := Parse(c.String("Command"))
				if err != nil {
					return nil, err
				}
				return c.RT.block(s)
			}},
		&Cmdlet{Name: "New-Object", Params: []string{"TypeName", "ArgumentList", "ComObject"}, Positional: []string{"TypeName", "ArgumentList"},
			Run: func(c *Call) ([]Value, error) {
				if c.Has("ComObject") {
					return newComObject(c)
				}
				name := c.String("TypeName")
				ctor, ok := c.RT.Types[strings.ToLower(name)]
				if !ok {
					return nil, &Error{Message: "Cannot find type [" + name + "]: verify that the assembly containing this type is loaded.",
						Category: "InvalidType", FQID: "TypeNotFound"}
				}
				v, err := ctor(enumerate(c.Get("ArgumentList")))
				if err != nil {
					return nil, err
				}
				return []Value{v}, nil
			}},
		&Cmdlet{Name: "ConvertTo-Json", PS3: true, Params: []string{"InputObject", "Depth", "Compress"}, Switches: []string{"Compress"},
			Run: func(c *Call) ([]Value, error) {
				return nil, &Error{Message: "ConvertTo-Json is outside the lab's PowerShell subset; lynctrust's scripts print records instead.",
					Category: "NotImplemented", FQID: "NotInSubset"}
			}},
	)
	rt.Register(&Cmdlet{Name: "Start-Sleep", Params: []string{"Seconds", "Milliseconds"}, Positional: []string{"Seconds"},
		Run: func(c *Call) ([]Value, error) {
			n, _ := toInt(c.Get("Seconds"))
			d := time.Duration(n) * time.Second
			if c.Has("Milliseconds") {
				ms, _ := toInt(c.Get("Milliseconds"))
				d = time.Duration(ms) * time.Millisecond
			}
			// The lab's clock runs faster: a script's one-second wait takes 50 ms.
			select {
			case <-time.After(d / 20):
			case <-c.RT.Ctx.Done():
			}
			return nil, nil
		}})
	rt.Statics["guid::newguid"] = Method(func(args []Value) (Value, error) {
		var b [16]byte
		rand.Read(b[:])
		s := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
		o := NewObject("System.Guid")
		o.String = func() string { return s }
		return o, nil
	})
	console := NewObject("System.IO.TextReader")
	console.Method("ReadToEnd", func(args []Value) (Value, error) {
		if rt.Stdin == nil {
			return "", nil
		}
		b, err := io.ReadAll(rt.Stdin)
		return string(b), err
	})
	rt.Statics["console::in"] = console
	rt.Statics["system.console::in"] = console
	writer := NewObject("System.IO.TextWriter")
	write := func(nl string) Method {
		return func(args []Value) (Value, error) {
			text := nl
			if len(args) > 0 {
				text = ToString(args[0]) + nl
			}
			if rt.Console != nil {
				rt.Console(text)
			} else if rt.Out != nil {
				rt.Out(strings.TrimSuffix(text, "\r\n"))
			}
			return nil, nil
		}
	}
	writer.Method("WriteLine", write("\r\n"))
	writer.Method("Write", write(""))
	rt.Statics["console::out"] = writer
	rt.Statics["system.console::out"] = writer
	rt.Statics["console::writeline"] = write("\r\n")
	rt.Statics["system.console::writeline"] = write("\r\n")
	rt.Statics["scriptblock::create"] = Method(func(args []Value) (Value, error) {
		if len(args) != 1 {
			return nil, Errorf("InvalidOperation", "MethodCountCouldNotFindBest", "Cannot find an overload for \"Create\" and the argument count: \"%d\".", len(args))
		}
		s, err := Parse(ToString(args[0]))
		if err != nil {
			return nil, err
		}
		return &ScriptBlock{s}, nil
	})
}

// newComObject is New-Object -ComObject: a class the host registered, or
// the error Windows gives for a ProgID it does not know.
func newComObject(c *Call) ([]Value, error) {
	name := c.String("ComObject")
	ctor, ok := c.RT.ComObjects[strings.ToLower(name)]
	if !ok {
		return nil, &Error{Message: "Cannot load COM type " + name + ".", Category: "InvalidType",
			FQID: "CannotLoadComObjectType,Microsoft.PowerShell.Commands.NewObjectCommand"}
	}
	v, err := ctor()
	if err != nil {
		return nil, err
	}
	return []Value{v}, nil
}
