package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StateFile is one small JSON record that must survive a restart of the
// agent (a fenced latch). Store writes it atomically: a temporary file in
// the same directory, fsync, rename, fsync of the directory; so a crash
// leaves the old record or the new one, never half of one. The directory is
// created 0700 and must not be writable by anyone but its owner. A zero
// StateFile keeps nothing: Load finds no latch, Store does nothing.
type StateFile struct{ Path string }

// Latch is what a StateFile holds: a fenced latch and why.
type Latch struct {
	// Reason says why the latch was set.
	Reason string `json:"reason"`
	// Since is when it was set.
	Since time.Time `json:"since"`
	// Device is the disk it concerns, "" for the node's self-fence latch.
	Device string `json:"device,omitempty"`
}

// maxStateFile bounds what Load reads: a latch is a few hundred bytes.
const maxStateFile = 64 << 10

// Load reads the latch; ok is false when none is stored. A file that is
// unreadable or not a latch is an error (unknown is not "not latched").
func (f StateFile) Load() (l Latch, ok bool, err error) {
	if f.Path == "" {
		return l, false, nil
	}
	fh, err := os.Open(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, false, nil
	}
	if err != nil {
		return l, false, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxStateFile+1))
	if err != nil {
		return l, false, fmt.Errorf("state file %s: %w", f.Path, err)
	}
	n := len(b)
	if n > maxStateFile {
		return l, false, fmt.Errorf("state file %s: larger than %d bytes: not a latch", f.Path, maxStateFile)
	}
	if err := json.Unmarshal(b[:n], &l); err != nil || l.Reason == "" {
		return l, false, fmt.Errorf("state file %s: not a latch record (%v): remove it only after checking this node's registrations", f.Path, err)
	}
	return l, true, nil
}

// Store writes l, or removes the record when l.Reason is "".
func (f StateFile) Store(l Latch) error {
	if f.Path == "" {
		return nil
	}
	dir := filepath.Dir(f.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if fi, err := os.Stat(dir); err != nil {
		return err
	} else if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("state directory %s is writable by group or others (%v): refusing to keep a latch there", dir, fi.Mode().Perm())
	}
	if l.Reason == "" {
		err := os.Remove(f.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return syncDir(dir)
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.Path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// SelfFenceState is the node's self-fence latch in dir.
func SelfFenceState(dir string) StateFile {
	return StateFile{Path: filepath.Join(dir, "self-fenced.json")}
}
