// Package golden compares what a test produced with a golden file under
// testdata, and rewrites the file instead when the test binary runs with
// -update (go test ./pkg -update). Every package with golden files uses it,
// so the flag and the failure message are the same everywhere.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Check compares got with the file at path. Under -update it first writes
// got there (creating the directory), so the comparison then passes. A
// difference is reported as a unified diff from the golden file to got.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file %s (go test -update writes it): %v", path, err)
	}
	if bytes.Equal(got, want) {
		return
	}
	diff, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(want)), B: difflib.SplitLines(string(got)),
		FromFile: path, ToFile: "got", Context: 3,
	})
	if err != nil {
		diff = string(got)
	}
	t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", path, diff)
}
