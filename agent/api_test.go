package agent

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hakit/hakit/internal/jsonout"
)

// fill sets every exported field reachable from v to a value that is not
// zero: 1 for numbers and enums (a valid one for the text-coded enums),
// 3 s for durations, "x" for strings, a fixed UTC instant, one element in
// slices and maps.
func fill(t *testing.T, v reflect.Value, path string) {
	switch v.Interface().(type) {
	case time.Time:
		v.Set(reflect.ValueOf(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)))
		return
	case netip.Addr:
		v.Set(reflect.ValueOf(netip.MustParseAddr("192.168.77.2")))
		return
	case time.Duration:
		// Whole seconds: some durations travel in milliseconds.
		v.SetInt(int64(3 * time.Second))
		return
	case json.RawMessage:
		v.SetBytes([]byte(`{"x":1}`))
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(0.5)
	case reflect.String:
		v.SetString("x")
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), path)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0), path+"[0]")
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k, path+".key")
		fill(t, e, path+".value")
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Interface:
		// Data map[string]any: a string survives JSON as itself.
		v.Set(reflect.ValueOf("x"))
	default:
		t.Fatalf("%s: cannot fill a %s", path, v.Kind())
	}
}

// Every field of the API's answers survives the wire (docs/API.md's
// documents, times in milliseconds): the agent encodes
// the same named types its client and hwcheck decode, and a field whose
// JSON does not read back (a codec that loses it, a json:"-" tag) fails
// here rather than reading as zero on the other side.
func TestAPITypesRoundTrip(t *testing.T) {
	for _, v := range []any{
		&Status{}, &Ping{}, &DiskStatus{}, &ActionResult{}, &Event{},
		&HeartbeatStatus{}, &CableTestResult{}, &NICStatus{}, &RAIDStatus{},
	} {
		rv := reflect.ValueOf(v).Elem()
		t.Run(rv.Type().String(), func(t *testing.T) {
			fill(t, rv, rv.Type().Name())
			b, err := jsonout.Marshal("items", v) // as writeJSON sends it
			if err != nil {
				t.Fatal(err)
			}
			back := reflect.New(rv.Type())
			if err := json.Unmarshal(b, back.Interface()); err != nil {
				t.Fatalf("%s does not decode: %v", b, err)
			}
			if d := cmp.Diff(v, back.Interface(), cmpopts.EquateEmpty(), cmpopts.EquateComparable(netip.Addr{})); d != "" {
				t.Errorf("lost on the wire (-sent +read):\n%s\n%s", d, b)
			}
		})
	}
}
