package agent

import (
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/hakit/hakit/internal/cliflag"
)

// ConfigKeys returns every key of the configuration file as a dotted path
// ("serial.key_file", "disks[].initiator"), sorted.
func ConfigKeys() []string {
	var keys []string
	walkKeys(reflect.TypeFor[Config](), "", func(path string, _ reflect.Type) { keys = append(keys, path) })
	sort.Strings(keys)
	return keys
}

// walkKeys calls fn with the dotted path of every YAML key under t, and
// with the struct type that holds it.
func walkKeys(t reflect.Type, prefix string, fn func(path string, parent reflect.Type)) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		ft := f.Type
		if opts == "inline" {
			walkKeys(ft, prefix, func(p string, _ reflect.Type) { fn(p, t) })
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			path += "[]"
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			walkKeys(ft, path+".", fn)
			continue
		}
		fn(path, t)
	}
}

// keysOfType returns the YAML keys of the configuration struct named
// typeName ("agent.SerialConfig"), for "did you mean".
func keysOfType(typeName string) []string {
	var keys []string
	seen := map[string]bool{}
	collect := func(t reflect.Type) {
		for i := range t.NumField() {
			name, opts, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if opts == "inline" {
				continue
			}
			if name != "" && !seen[name] {
				seen[name] = true
				keys = append(keys, name)
			}
		}
	}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		if t.String() == typeName {
			collect(t)
			for i := range t.NumField() {
				if _, opts, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); opts == "inline" {
					collect(t.Field(i).Type)
				}
			}
		}
		for i := range t.NumField() {
			ft := t.Field(i).Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				visit(ft)
			}
		}
	}
	visit(reflect.TypeFor[Config]())
	return keys
}

var yamlUnknownField = regexp.MustCompile(`field ([A-Za-z0-9_]{1,40}) not found in type ([A-Za-z0-9_.]+)`)

// suggestKey says a yaml unknown-field message in the configuration's
// own words (the key and the section it is under, not the Go type) and
// adds "did you mean".
func suggestKey(msg string) string {
	m := yamlUnknownField.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	where := "at the top level"
	if sec := sectionOfType(m[2]); sec != "" {
		where = "in " + sec
	}
	return strings.Replace(msg, m[0], "unknown key "+m[1]+" "+where, 1) + cliflag.DidYouMean(m[1], keysOfType(m[2]))
}

// sectionOfType is the YAML path of the configuration struct named
// typeName ("timers", "disks[]"), "" for the top level or a type not
// found.
func sectionOfType(typeName string) string {
	var visit func(t reflect.Type, path string) (string, bool)
	visit = func(t reflect.Type, path string) (string, bool) {
		if t.String() == typeName {
			return path, true
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			ft, sub := f.Type, path
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
				name += "[]"
			}
			if ft.Kind() != reflect.Struct || (name == "" || name == "-") && opts != "inline" {
				continue
			}
			if opts != "inline" {
				sub = strings.TrimPrefix(path+"."+name, ".")
			}
			if p, ok := visit(ft, sub); ok {
				return p, true
			}
		}
		return "", false
	}
	p, _ := visit(reflect.TypeFor[Config](), "")
	return p
}
