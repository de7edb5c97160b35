package jsonout

import (
	"bytes"
	"testing"
	"time"
)

func TestForms(t *testing.T) {
	at := time.Date(2026, 12, 3, 13, 4, 5, 123456789, time.FixedZone("CET", 3600))
	type doc struct {
		B     int       `json:"b"`
		A     string    `json:"a"`
		At    time.Time `json:"at"`
		Zero  time.Time `json:"zero"`
		Inner struct {
			When time.Time `json:"when"`
		} `json:"inner"`
		Msg string `json:"msg"`
	}
	d := doc{B: 1, A: "x", At: at, Msg: "2026 was a year"}
	d.Inner.When = at
	for _, tc := range []struct {
		name string
		v    any
		line bool
		want string
	}{
		{"object, key order kept", d, true, `{"schema_version":1,"b":1,"a":"x","at":"2026-12-03T12:04:05.123Z","zero":null,"inner":{"when":"2026-12-03T12:04:05.123Z"},"msg":"2026 was a year"}` + "\n"},
		{"list wrapped", []int{1, 2}, false, "{\n  \"schema_version\": 1,\n  \"items\": [\n    1,\n    2\n  ]\n}\n"},
		{"own version replaced", map[string]any{"schema_version": 7, "k": true}, true, `{"schema_version":1,"k":true}` + "\n"},
	} {
		var b bytes.Buffer
		var err error
		if tc.line {
			err = Line(&b, tc.v)
		} else {
			err = Document(&b, "items", tc.v)
		}
		if err != nil || b.String() != tc.want {
			t.Errorf("%s: %v\n got %s\nwant %s", tc.name, err, b.String(), tc.want)
		}
	}
	if Time(time.Time{}) != "" || Time(at) != "2026-12-03T12:04:05.123Z" {
		t.Errorf("Time: %q %q", Time(time.Time{}), Time(at))
	}
}

// Marshal is a compact document, a list under the key given.
func TestMarshal(t *testing.T) {
	b, err := Marshal("disks", []map[string]any{{"at": time.Time{}}})
	if want := `{"schema_version":1,"disks":[{"at":null}]}`; err != nil || string(b) != want {
		t.Errorf("Marshal: %s %v, want %s", b, err, want)
	}
}
