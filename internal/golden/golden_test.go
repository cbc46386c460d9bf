package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what Check reports instead of
// failing the test that runs it.
type recorder struct {
	testing.TB
	errors []string
	fatal  string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(path, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	same := &recorder{TB: t}
	Check(same, path, []byte("one\ntwo\n"))
	if len(same.errors) != 0 || same.fatal != "" {
		t.Errorf("equal content reported %v %q", same.errors, same.fatal)
	}

	differs := &recorder{TB: t}
	Check(differs, path, []byte("one\nthree\n"))
	if len(differs.errors) != 1 || !strings.Contains(differs.errors[0], "-two") || !strings.Contains(differs.errors[0], "+three") || !strings.Contains(differs.errors[0], "go test -update") {
		t.Errorf("a difference reported %q", differs.errors)
	}

	missing := &recorder{TB: t}
	Check(missing, filepath.Join(dir, "none.txt"), []byte("x"))
	if !strings.Contains(missing.fatal, "go test -update writes it") {
		t.Errorf("a missing golden file reported %q", missing.fatal)
	}

	*update = true
	defer func() { *update = false }()
	rewrite := &recorder{TB: t}
	Check(rewrite, filepath.Join(dir, "new", "file.txt"), []byte("fresh\n"))
	if got, err := os.ReadFile(filepath.Join(dir, "new", "file.txt")); err != nil || string(got) != "fresh\n" || len(rewrite.errors) != 0 {
		t.Errorf("-update wrote %q (%v), reported %v", got, err, rewrite.errors)
	}
}
