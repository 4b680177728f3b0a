package lab

import (
	"sort"
	"strings"

	"github.com/lynctrust/lynctrust/internal/lab/powershell"
)

// x509StoreType is the .NET type New-Object makes for an X509Store.
const x509StoreType = "system.security.cryptography.x509certificates.x509store"

// extendX509Store gives the lab's X509Store what taking a certificate out
// needs (X509Store.Certificates, filled when the store is opened, and
// X509Store.Remove), on top of Open, Add and Close.
func (s *session) extendX509Store() {
	base := s.rt.Types[x509StoreType]
	if base == nil {
		return
	}
	s.rt.Types[x509StoreType] = func(args []powershell.Value) (powershell.Value, error) {
		v, err := base(args)
		st, ok := v.(*powershell.Object)
		if err != nil || !ok {
			return v, err
		}
		nv, _ := st.Get("Name")
		store := powershell.ToString(nv)
		open := st.Methods["open"]
		opened := false
		st.Set("Certificates", []powershell.Value{})
		st.Method("Open", func(a []powershell.Value) (powershell.Value, error) {
			r, err := open(a)
			if err == nil {
				opened = true
				st.Set("Certificates", s.storeObjects(store))
			}
			return r, err
		})
		st.Method("Remove", func(a []powershell.Value) (powershell.Value, error) {
			if !opened {
				return nil, powershell.Errorf("InvalidOperation", "CryptographicException", "Exception calling \"Remove\" with \"1\" argument(s): \"The store is not open.\"")
			}
			var o *powershell.Object
			if len(a) == 1 {
				o, _ = a[0].(*powershell.Object)
			}
			if o == nil {
				return nil, powershell.Errorf("InvalidOperation", "MethodArgumentConversionInvalidCastArgument", "Cannot convert argument \"certificate\" to type X509Certificate2.")
			}
			// Removing a certificate the store lacks does nothing, as in .NET.
			tv, _ := o.Get("Thumbprint")
			s.srv.RemoveFromStore(store, strings.ToUpper(powershell.ToString(tv)))
			s.srv.Counters.Writes.Add(1)
			if s.d.OnChange != nil {
				s.d.OnChange()
			}
			return nil, nil
		})
		return st, nil
	}
}

// storeObjects are the certificates in one of the server's stores, as
// X509Certificate2 objects.
func (s *session) storeObjects(store string) []powershell.Value {
	s.srv.mu.Lock()
	var thumbs []string
	for t := range s.srv.stores[store] {
		thumbs = append(thumbs, t)
	}
	s.srv.mu.Unlock()
	sort.Strings(thumbs)
	out := []powershell.Value{}
	for _, t := range thumbs {
		if o := s.x509Object(store, t); o != nil {
			out = append(out, o)
		}
	}
	return out
}
