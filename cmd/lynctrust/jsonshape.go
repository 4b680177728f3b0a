package main

import (
	"encoding/json"
	"reflect"
	"strings"
)

var marshalerType = reflect.TypeOf((*json.Marshaler)(nil)).Elem()

// emptyLists replaces every nil slice that the JSON encoder would write as
// null with an empty one, in v and everything it points to, so that a
// runbook always reads [] for an empty list (docs/json.md). A pointer left
// nil stays null: that means "not known", not "none".
func emptyLists(v any) {
	fillSlices(reflect.ValueOf(v), 0)
}

func fillSlices(v reflect.Value, depth int) {
	if depth > 32 || !v.IsValid() {
		return
	}
	if v.Type().Implements(marshalerType) && v.Kind() != reflect.Pointer && v.Kind() != reflect.Interface {
		return // it writes itself
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			fillSlices(v.Elem(), depth+1)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if !f.IsExported() || tag == "-" {
				continue
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.Slice && fv.IsNil() && strings.Contains(tag, ",omitempty") {
				continue // left out of the JSON altogether
			}
			fillValue(fv, depth)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fillValue(v.Index(i), depth)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(iter.Value())
			fillValue(e, depth)
			if e.Kind() != reflect.Interface || !e.IsNil() {
				v.SetMapIndex(iter.Key(), e)
			}
		}
	}
}

// fillValue fills v itself when it is a nil slice it can set, then what it holds.
func fillValue(v reflect.Value, depth int) {
	if v.Kind() == reflect.Slice && v.IsNil() && v.CanSet() && v.Type().Elem().Kind() != reflect.Uint8 {
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		return
	}
	if v.Kind() == reflect.Interface && !v.IsNil() {
		inner := v.Elem()
		if inner.Kind() == reflect.Slice && inner.IsNil() && inner.Type().Elem().Kind() != reflect.Uint8 && v.CanSet() {
			v.Set(reflect.MakeSlice(inner.Type(), 0, 0))
			return
		}
		if inner.Kind() == reflect.Struct || inner.Kind() == reflect.Map {
			// A struct held in an interface cannot be changed in place: copy it.
			cp := reflect.New(inner.Type()).Elem()
			cp.Set(inner)
			fillSlices(cp, depth+1)
			if v.CanSet() {
				v.Set(cp)
			}
			return
		}
	}
	fillSlices(v, depth+1)
}
