package circleciconfig

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// FilePatch is what patching a config.yml on disk would change: the file as
// read and as it would be written.
type FilePatch struct {
	// path is the file as given; file is where it really is (through any
	// symbolic link), so that writing keeps the link.
	path, file string
	mode       os.FileMode
	src, out   []byte
	// roleARN is the role the patched images pull with.
	roleARN string
	// Report says which images change and why others do not.
	Report Report
}

// ReadPatch reads path and patches it in memory for t; nothing is written.
func ReadPatch(path string, t Target) (*FilePatch, error) {
	file, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	info, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	out, rep, err := Patch(src, t)
	if err != nil {
		return nil, fmt.Errorf("patch %s: %w", path, err)
	}
	return &FilePatch{path: path, file: file, mode: info.Mode().Perm(), src: src, out: out, roleARN: t.RoleARN, Report: rep}, nil
}

// Changed reports whether the patch changes the file.
func (c *FilePatch) Changed() bool { return len(c.Report.Changes) > 0 }

// Show prints the unified diff to w, then the notes (and, when nothing
// changes, why) to notes. The notes come after the diff, next to the
// question they bear on.
func (c *FilePatch) Show(w, notes io.Writer) error {
	if c.Changed() {
		diff, err := Diff(c.path, c.src, c.out)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\nChanges to %s (%d image(s)):\n%s", c.path, len(c.Report.Changes), diff)
	}
	for _, n := range c.Report.Notes {
		fmt.Fprintf(notes, "Note: %s\n", n)
	}
	switch {
	case c.Changed():
	case c.Report.Current > 0:
		fmt.Fprintf(notes, "%s already pulls the role's images with oidc_role_arn: nothing to change.\n", c.path)
	default:
		fmt.Fprintf(notes, "No docker image in %s is in the role's repositories: nothing to change.\n", c.path)
	}
	return nil
}

// Write writes the patched file, unless it changed since it was read (an
// editor may have saved it while a question was open, and the diff shown is
// only right for what was read).
func (c *FilePatch) Write() error {
	if now, err := os.ReadFile(c.file); err != nil || !bytes.Equal(now, c.src) {
		return fmt.Errorf("refuse to write %s: it changed since it was read; run the command again", c.path)
	}
	return writeFileAtomic(c.file, c.out, c.mode)
}

// writeFileAtomic replaces path with data so that a reader, or a crash,
// sees the old file or the new one and never a half-written one: it writes
// a temporary file in the same directory (a rename is atomic only within
// one file system) with path's permissions, then renames it over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			// Best effort: the write already failed, and that error is
			// the one to report.
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; keep the mode the user's file had.
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
