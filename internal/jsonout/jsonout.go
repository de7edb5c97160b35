// Package jsonout writes hakit's --json output in one form (docs/JSON.md):
// every document is an object with "schema_version" first, a list is
// wrapped as {"schema_version": N, KEY: [...]}, every time is RFC 3339 in
// UTC with milliseconds, and an unknown (zero) time is null. Documents are
// indented; streams (events, watch) write one compact object a line.
package jsonout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// SchemaVersion is the version of every document's schema; it changes
// when a field is renamed or removed, not when one is added.
const SchemaVersion = 1

// TimeLayout is the one time format: RFC 3339, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Document writes v indented; listKey names the list when v encodes to
// an array.
func Document(w io.Writer, listKey string, v any) error {
	b, err := normalize(v, listKey)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// Line writes v as one compact line (a stream's element).
func Line(w io.Writer, v any) error {
	b, err := normalize(v, "items")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Marshal is v as one compact document (hwagent's API answers, one per
// line); listKey names the list when v encodes to an array.
func Marshal(listKey string, v any) ([]byte, error) {
	return normalize(v, listKey)
}

// Time formats t in the one format, "" for the zero time.
func Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

func normalize(v any, listKey string) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	head := `{"schema_version":` + strconv.Itoa(SchemaVersion)
	switch raw[0] {
	case '{':
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		out.WriteString(head)
		if err := members(dec, &out, true, true); err != nil {
			return nil, err
		}
	case '[':
		out.WriteString(head + "," + strconv.Quote(listKey) + ":")
		if err := value(dec, &out); err != nil {
			return nil, err
		}
		out.WriteByte('}')
	default:
		out.WriteString(head + `,"value":`)
		if err := value(dec, &out); err != nil {
			return nil, err
		}
		out.WriteByte('}')
	}
	return out.Bytes(), nil
}

// members writes an object's members after its '{' (already read), and
// the closing '}'; comma says whether one was written before; top drops
// a schema_version of the value's own.
func members(dec *json.Decoder, out *bytes.Buffer, comma, top bool) error {
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("jsonout: object key %v", tok)
		}
		if top && key == "schema_version" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if comma {
			out.WriteByte(',')
		}
		comma = true
		out.WriteString(strconv.Quote(key) + ":")
		if err := value(dec, out); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	out.WriteByte('}')
	return nil
}

func value(dec *json.Decoder, out *bytes.Buffer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			out.WriteByte('{')
			return members(dec, out, false, false)
		case '[':
			out.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := value(dec, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			out.WriteByte(']')
			return nil
		}
		return fmt.Errorf("jsonout: unexpected %v", t)
	case string:
		if ts, err := time.Parse(time.RFC3339Nano, t); err == nil && len(t) >= len("2006-01-02T15:04:05Z") {
			if ts.IsZero() {
				out.WriteString("null")
				return nil
			}
			t = ts.UTC().Format(TimeLayout)
		}
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		out.Write(b)
	case json.Number:
		out.WriteString(t.String())
	case bool:
		out.WriteString(strconv.FormatBool(t))
	case nil:
		out.WriteString("null")
	}
	return nil
}
