package lab

import (
	"fmt"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab/powershell"
)

// Culture is a server's regional setting, as far as a script can see it:
// .NET's date and time separators and patterns, and the words schtasks
// prints for a task's status.
type Culture struct {
	Name      string
	DateSep   string // what '/' in a .NET custom format becomes
	TimeSep   string // what ':' becomes (a '.' in fi-FI on .NET Framework)
	ShortDate string
	LongTime  string
	Running   string // schtasks' status words
	Ready     string
}

// cultures the lab knows. The invariant culture ("") is what a script asks
// for with [Globalization.CultureInfo]::InvariantCulture.
var cultures = map[string]Culture{
	"":      {"", "/", ":", "MM/dd/yyyy", "HH:mm:ss", "Running", "Ready"},
	"en-US": {"en-US", "/", ":", "M/d/yyyy", "h:mm:ss tt", "Running", "Ready"},
	"de-DE": {"de-DE", ".", ":", "dd.MM.yyyy", "HH:mm:ss", "Wird ausgeführt", "Bereit"},
	"fi-FI": {"fi-FI", ".", ".", "d.M.yyyy", "H.mm.ss", "Käynnissä", "Valmis"},
}

// LookupCulture finds a culture by name (en-US, de-DE, fi-FI).
func LookupCulture(name string) (Culture, error) {
	for k, c := range cultures {
		if k != "" && strings.EqualFold(k, name) {
			return c, nil
		}
	}
	return Culture{}, fmt.Errorf("culture %q: the lab knows en-US, de-DE and fi-FI", name)
}

// formatDate renders a .NET custom date and time format string: ':' and '/'
// are the culture's separators, not literal characters (.NET "Custom date
// and time format strings": "The ":" custom format specifier … the time
// separator … is retrieved from the DateTimeFormatInfo.TimeSeparator
// property of the current or specified culture").
func formatDate(t time.Time, layout string, c Culture) string {
	var b strings.Builder
	r := []rune(layout)
	for i := 0; i < len(r); {
		ch := r[i]
		n := 1
		for i+n < len(r) && r[i+n] == ch {
			n++
		}
		switch ch {
		case 'y':
			if n >= 4 {
				fmt.Fprintf(&b, "%04d", t.Year())
			} else {
				fmt.Fprintf(&b, "%02d", t.Year()%100)
			}
		case 'M':
			fmt.Fprintf(&b, "%0*d", min(n, 2), int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%0*d", min(n, 2), t.Day())
		case 'H':
			fmt.Fprintf(&b, "%0*d", min(n, 2), t.Hour())
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			fmt.Fprintf(&b, "%0*d", min(n, 2), h)
		case 'm':
			fmt.Fprintf(&b, "%0*d", min(n, 2), t.Minute())
		case 's':
			fmt.Fprintf(&b, "%0*d", min(n, 2), t.Second())
		case 't':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case ':':
			b.WriteString(strings.Repeat(c.TimeSep, n))
		case '/':
			b.WriteString(strings.Repeat(c.DateSep, n))
		case '\'', '"':
			j := i + 1
			for j < len(r) && r[j] != ch {
				j++
			}
			b.WriteString(string(r[i+1 : min(j, len(r))]))
			i = j + 1
			continue
		case '\\':
			if i+1 < len(r) {
				b.WriteRune(r[i+1])
			}
			i += 2
			continue
		default:
			b.WriteString(string(r[i : i+n]))
		}
		i += n
	}
	return b.String()
}

// cultureObject is a System.Globalization.CultureInfo.
func cultureObject(c Culture) *powershell.Object {
	o := powershell.NewObject("System.Globalization.CultureInfo").Set("Name", c.Name)
	o.String = func() string { return c.Name }
	return o
}

// registerCultures adds [Globalization.CultureInfo]::InvariantCulture and
// ::CurrentCulture.
func (s *session) registerCultures() {
	inv, cur := cultureObject(cultures[""]), cultureObject(s.culture())
	for _, t := range []string{"cultureinfo", "globalization.cultureinfo", "system.globalization.cultureinfo"} {
		s.rt.Statics[t+"::invariantculture"] = inv
		s.rt.Statics[t+"::currentculture"] = cur
	}
}

// culture is the server's culture (the knob), en-US by default.
func (s *session) culture() Culture {
	if c, err := LookupCulture(s.d.Knobs.Culture()); err == nil {
		return c
	}
	return cultures["en-US"]
}

// dateTime emulates System.DateTime with the members lynctrust's scripts
// use, formatting in the server's culture unless given another.
func dateTime(t time.Time, c Culture) *powershell.Object {
	o := powershell.NewObject("System.DateTime")
	o.String = func() string { return formatDate(t, c.ShortDate+" "+c.LongTime, c) }
	o.Method("ToUniversalTime", func([]powershell.Value) (powershell.Value, error) { return dateTime(t.UTC(), c), nil })
	o.Method("ToString", func(args []powershell.Value) (powershell.Value, error) {
		if len(args) == 0 {
			return o.String(), nil
		}
		use := c
		if len(args) > 1 {
			if p, ok := args[1].(*powershell.Object); ok {
				name, _ := p.Get("Name")
				use = cultures[powershell.ToString(name)]
			}
		}
		return formatDate(t, powershell.ToString(args[0]), use), nil
	})
	return o
}
