package iscsi

import (
	"bytes"
	"fmt"
	"strings"
)

// Text key limits (RFC 7143 6.1 and 6.2).
const (
	maxKeyLen   = 63   // a key name
	maxValueLen = 8192 // a value; large binary values (CHAP) are the longest
	maxTextKeys = 256  // pairs in one negotiation step
	maxTextLen  = 1 << 16
)

// textKV is one key=value pair.
type textKV struct {
	Key, Value string
}

// textKeys is an ordered list of key=value pairs, as carried in Login and
// Text PDUs.
type textKeys []textKV

// get returns the value of key and whether it is present.
func (t textKeys) get(key string) (string, bool) {
	for _, kv := range t {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

func validKeyName(k string) bool {
	if k == "" || len(k) > maxKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == '+', c == '@', c == '_':
		default:
			return false
		}
	}
	return true
}

// encodeText encodes pairs as key=value NUL-terminated strings.
func encodeText(pairs textKeys) ([]byte, error) {
	var b bytes.Buffer
	for _, kv := range pairs {
		if !validKeyName(kv.Key) {
			return nil, fmt.Errorf("iscsi: text key %q: invalid name", kv.Key)
		}
		if len(kv.Value) > maxValueLen || strings.IndexByte(kv.Value, 0) >= 0 {
			return nil, fmt.Errorf("iscsi: text key %s: value of %d bytes is too long or holds a NUL", kv.Key, len(kv.Value))
		}
		b.WriteString(kv.Key)
		b.WriteByte('=')
		b.WriteString(kv.Value)
		b.WriteByte(0)
	}
	return b.Bytes(), nil
}

// decodeText decodes a text data segment. Each pair ends with a NUL; a last
// pair without one, and empty strings between NULs (padding some targets
// add), are accepted.
func decodeText(b []byte) (textKeys, error) {
	if len(b) > maxTextLen {
		return nil, &ProtocolError{What: fmt.Sprintf("text of %d bytes exceeds %d", len(b), maxTextLen)}
	}
	var out textKeys
	for len(b) > 0 {
		item, rest, _ := bytes.Cut(b, []byte{0})
		b = rest
		if len(item) == 0 {
			continue
		}
		k, v, ok := bytes.Cut(item, []byte{'='})
		if !ok {
			return nil, &ProtocolError{What: fmt.Sprintf("text item %q has no '='", truncate(item))}
		}
		if !validKeyName(string(k)) {
			return nil, &ProtocolError{What: fmt.Sprintf("text key %q: invalid name", truncate(k))}
		}
		if len(v) > maxValueLen {
			return nil, &ProtocolError{What: fmt.Sprintf("text key %s: value of %d bytes exceeds %d", k, len(v), maxValueLen)}
		}
		if len(out) == maxTextKeys {
			return nil, &ProtocolError{What: fmt.Sprintf("more than %d text keys", maxTextKeys)}
		}
		out = append(out, textKV{string(k), string(v)})
	}
	return out, nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
