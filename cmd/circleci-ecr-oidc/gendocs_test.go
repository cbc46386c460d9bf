package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCommandReferenceUpToDate regenerates the command reference from the
// cobra tree into a temporary directory and compares it with the committed
// docs/reference, so that a changed flag or a new command cannot leave the
// reference behind.
func TestCommandReferenceUpToDate(t *testing.T) {
	const regenerate = "regenerate it with `make docs` (go run ./cmd/circleci-ecr-oidc gen-docs docs/reference) and commit the result"
	want := filepath.Join("..", "..", referenceDir)
	got := t.TempDir()
	if err := writeReference(newRootCmd(IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}), got); err != nil {
		t.Fatal(err)
	}
	names := func(dir string) []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("read %s: %v; %s", dir, err, regenerate)
		}
		var out []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".md") {
				out = append(out, e.Name())
			}
		}
		return out
	}
	gotNames, wantNames := names(got), names(want)
	for _, n := range gotNames {
		if !slices.Contains(wantNames, n) {
			t.Errorf("%s/%s is missing: %s", referenceDir, n, regenerate)
		}
	}
	for _, n := range wantNames {
		if !slices.Contains(gotNames, n) && strings.HasPrefix(n, "circleci-ecr-oidc") {
			t.Errorf("%s/%s documents a command that no longer exists: %s", referenceDir, n, regenerate)
		}
	}
	for _, n := range gotNames {
		g, _ := os.ReadFile(filepath.Join(got, n))
		w, err := os.ReadFile(filepath.Join(want, n))
		if err == nil && string(g) != string(w) {
			t.Errorf("%s/%s is out of date: %s", referenceDir, n, regenerate)
		}
	}
}
