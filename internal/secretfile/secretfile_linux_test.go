package secretfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hakit/hakit/internal/testutil"
)

func TestRead(t *testing.T) {
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
	victim := write("victim", "s3cret-victim\n", 0o600)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       string
		err        error
		msg        string
	}{
		{"newline trimmed", write("ok", "s3cret\n", 0o600), "s3cret", nil, ""},
		{"crlf trimmed", write("crlf", "s3cret\r\n", 0o400), "s3cret", nil, ""},
		{"inner spaces kept", write("sp", " a b \n", 0o600), " a b ", nil, ""},
		{"group readable", write("g", "s3cret-g\n", 0o640), "", ErrUnsafe, "chmod 600"},
		{"world readable", write("w", "s3cret-w\n", 0o604), "", ErrUnsafe, "mode 0604"},
		{"symlink", link, "", ErrUnsafe, "symlink"},
		{"directory", dir, "", ErrUnsafe, "not a regular file"},
		{"empty", write("e", "\n", 0o600), "", ErrSize, "empty"},
		{"too big", write("big", strings.Repeat("x", MaxSize+1), 0o600), "", ErrSize, "at most 4096"},
		{"max size", write("max", strings.Repeat("x", MaxSize), 0o600), strings.Repeat("x", MaxSize), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(tt.path)
			if tt.err == nil {
				if err != nil || string(got) != tt.want {
					t.Fatalf("Read = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Read error = %v; want %v containing %q", err, tt.err, tt.msg)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error shows the content: %v", err)
			}
		})
	}
	if _, err := Read(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestReadForeignOwner(t *testing.T) {
	testutil.SkipUnlessRoot(t)
	p := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(p, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := Read(p)
	if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Fatalf("Read = %v; want owner refused", err)
	}
}

func TestReadFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := mkfifo(p); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(p); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("Read(fifo) = %v; want ErrUnsafe without blocking", err)
	}
}

func mkfifo(p string) error { return syscall.Mkfifo(p, 0o600) }
