package serialhb_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hakit/hakit/serialhb"
)

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		path string
		want error
		msg  string
		key  string
	}{
		{"ok", write("ok", "0123456789abcdef0123456789abcdefXYZ\n", 0o600), nil, "", "0123456789abcdef0123456789abcdefXYZ"},
		{"ok crlf", write("crlf", "0123456789abcdef0123456789abcdef\r\n", 0o400), nil, "", "0123456789abcdef0123456789abcdef"},
		{"missing", filepath.Join(dir, "nope"), fs.ErrNotExist, "nope", ""},
		{"empty", write("empty", "", 0o600), serialhb.ErrShortKey, "empty", ""},
		{"short", write("short", "0123456789\n", 0o600), serialhb.ErrShortKey, "holds 10 bytes, need at least 32", ""},
		{"16 bytes", write("sixteen", "0123456789abcdef\n", 0o600), serialhb.ErrShortKey, "holds 16 bytes, need at least 32", ""},
		{"only white space", write("ws", "\n\n   \n", 0o600), serialhb.ErrShortKey, "holds 0 bytes", ""},
		{"world readable", write("wr", "0123456789abcdef", 0o644), serialhb.ErrKeyFile, "chmod 600", ""},
		{"directory", dir, serialhb.ErrKeyFile, "not a regular file", ""},
		{"symlink", symlink(t, write("target", "0123456789abcdef", 0o600), filepath.Join(dir, "link")), serialhb.ErrKeyFile, "symlink", ""},
		{"over 4096 bytes", write("big", strings.Repeat("k", 4097), 0o600), serialhb.ErrKeyFile, "at most 4096", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := serialhb.LoadKey(tc.path)
			if tc.want == nil {
				if err != nil || string(k) != tc.key {
					t.Fatalf("LoadKey = %q, %v; want %q", k, err, tc.key)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("LoadKey: %v; want %v mentioning %q", err, tc.want, tc.msg)
			}
		})
	}
}

func symlink(t *testing.T, target, link string) string {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return link
}
