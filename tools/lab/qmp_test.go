package lab

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEncodeQMP(t *testing.T) {
	tests := []struct {
		name    string
		execute string
		args    any
		want    string
	}{
		{"no args", "stop", nil, `{"execute":"stop"}` + "\n"},
		{"set_link", "set_link", setLinkArgs("nic0", false), `{"arguments":{"name":"nic0","up":false},"execute":"set_link"}` + "\n"},
		{"cable pulled", "chardev-change", chardevChangeArgs("hb", false, true, "127.0.0.1", 4000),
			`{"arguments":{"backend":{"data":{},"type":"null"},"id":"hb"},"execute":"chardev-change"}` + "\n"},
		{"cable plugged server", "chardev-change", chardevChangeArgs("hb", true, true, "127.0.0.1", 4000),
			`{"arguments":{"backend":{"data":{"addr":{"data":{"host":"127.0.0.1","port":"4000"},"type":"inet"},"server":true,"wait":false},"type":"socket"},"id":"hb"},"execute":"chardev-change"}` + "\n"},
		{"cable plugged client", "chardev-change", chardevChangeArgs("hb", true, false, "127.0.0.1", 4000),
			`{"arguments":{"backend":{"data":{"addr":{"data":{"host":"127.0.0.1","port":"4000"},"type":"inet"},"reconnect":1,"server":false},"type":"socket"},"id":"hb"},"execute":"chardev-change"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeQMP(tt.execute, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("EncodeQMP (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := EncodeQMP("", nil); !errors.Is(err, ErrQMPMessage) {
		t.Errorf("empty command: err %v, want ErrQMPMessage", err)
	}
}

func TestDecodeQMP(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    QMPMessage
		wantErr error
	}{
		{"greeting", `{"QMP": {"version": {"qemu": {"micro": 2, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}`,
			QMPMessage{Greeting: json.RawMessage(`{"version": {"qemu": {"micro": 2, "minor": 2, "major": 7}}, "capabilities": ["oob"]}`)}, nil},
		{"return empty", `{"return": {}}` + "\r\n", QMPMessage{Return: json.RawMessage(`{}`)}, nil},
		{"return with id", `{"return": [1], "id": "x"}`, QMPMessage{Return: json.RawMessage(`[1]`), ID: json.RawMessage(`"x"`)}, nil},
		{"error", `{"error": {"class": "GenericError", "desc": "Chardev 'hb' not found"}}`,
			QMPMessage{Error: &QMPError{Class: "GenericError", Desc: "Chardev 'hb' not found"}}, nil},
		{"event", `{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}`, QMPMessage{Event: "STOP"}, nil},
		{"event with data", `{"event": "NIC_RX_FILTER_CHANGED", "data": {"name": "nic0"}}`,
			QMPMessage{Event: "NIC_RX_FILTER_CHANGED", EventData: json.RawMessage(`{"name": "nic0"}`)}, nil},
		{"empty", ``, QMPMessage{}, ErrQMPMessage},
		{"not an object", `[1,2]`, QMPMessage{}, ErrQMPMessage},
		{"truncated", `{"return": {`, QMPMessage{}, ErrQMPMessage},
		{"nothing known", `{"foo": 1}`, QMPMessage{}, ErrQMPMessage},
		{"two kinds", `{"return": {}, "event": "STOP"}`, QMPMessage{}, ErrQMPMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeQMP([]byte(tt.line))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeQMP (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQMPErrorIs(t *testing.T) {
	var qe *QMPError
	err := error(&QMPError{Class: "GenericError", Desc: "x"})
	if !errors.As(err, &qe) || qe.Error() != "qmp: GenericError: x" {
		t.Errorf("errors.As/Error: %v", err)
	}
}

func FuzzDecodeQMP(f *testing.F) {
	for _, s := range []string{`{"QMP": {}}`, `{"return": {}}`, `{"error": {"class": "a", "desc": "b"}}`, `{"event": "STOP"}`, `{`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeQMP(b)
		if err != nil {
			return
		}
		n := 0
		for _, set := range []bool{m.Greeting != nil, m.Return != nil, m.Error != nil, m.Event != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("decoded %q into %d kinds", b, n)
		}
	})
}
