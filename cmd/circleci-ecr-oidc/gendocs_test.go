package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/buildinfo"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/clidocs"
	"github.com/spf13/cobra"
)

// TestCommandReferenceUpToDate regenerates the command reference from the
// cobra tree into a temporary directory and compares it with the committed
// docs/reference, so that a changed flag or a new command cannot leave the
// reference behind.
func TestCommandReferenceUpToDate(t *testing.T) {
	const regenerate = "regenerate it with `make docs` (go run ./cmd/circleci-ecr-oidc gen-docs docs/reference) and commit the result"
	want := filepath.Join("..", "..", referenceDir)
	got := t.TempDir()
	if err := clidocs.WriteReference(newRootCmd(IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}), got); err != nil {
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

// TestReleaseFilesGenerate runs what the release build's before hook runs
// (gen-release-files) and checks its output: a completion script per shell
// that bash can parse, and a readable man page for every command that the
// help lists, titled after it, and none for hidden commands.
func TestReleaseFilesGenerate(t *testing.T) {
	dir := t.TempDir()
	// A file from an earlier run, of a command since removed, must go.
	stale := filepath.Join(dir, clidocs.ManpagesSubdir, "circleci-ecr-oidc-removed.1.gz")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"gen-release-files", dir}, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}); code != exitOK {
		t.Fatalf("gen-release-files: exit status %d: %s", code, errOut.String())
	}

	for shell, header := range map[string]string{
		"bash": "# bash completion V2 for circleci-ecr-oidc",
		"zsh":  "#compdef circleci-ecr-oidc",
		"fish": "# fish completion for circleci-ecr-oidc",
	} {
		path := filepath.Join(dir, clidocs.CompletionsSubdir, "circleci-ecr-oidc."+shell)
		script, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s completion: %v", shell, err)
		}
		if !strings.HasPrefix(string(script), header) {
			t.Errorf("%s does not start with %q", path, header)
		}
		if shell == "bash" {
			if msg, err := exec.Command("bash", "-n", path).CombinedOutput(); err != nil {
				t.Errorf("bash -n %s: %v\n%s", path, err, msg)
			}
		}
	}

	// Every command a user can run, as the help and completion list them.
	root := newRootCmd(IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var want []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		want = append(want, strings.ReplaceAll(c.CommandPath(), " ", "-")+".1.gz")
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				walk(sub)
			}
		}
	}
	walk(root)
	slices.Sort(want)
	entries, err := os.ReadDir(filepath.Join(dir, clidocs.ManpagesSubdir))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("man pages:\n %v\nwant one per available command:\n %v", got, want)
	}
	if slices.Contains(got, "circleci-ecr-oidc-gen-docs.1.gz") || !slices.Contains(got, "circleci-ecr-oidc-setup.1.gz") {
		t.Fatalf("man pages %v: want setup's and no hidden command's", got)
	}
	for _, name := range got {
		f, err := os.Open(filepath.Join(dir, clidocs.ManpagesSubdir, name))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s is not gzip: %v", name, err)
		}
		page, err := io.ReadAll(zr)
		_ = f.Close()
		if err != nil {
			t.Fatalf("gunzip %s: %v", name, err)
		}
		title := strings.ToUpper(strings.TrimSuffix(name, ".1.gz"))
		// The page's title, section 1, and its source: the tool and version.
		th := fmt.Sprintf(".TH \"%s\" \"1\" ", title)
		if !strings.Contains(string(page), th) || !strings.Contains(string(page), `"circleci-ecr-oidc `+buildinfo.Current().Version+`" "circleci-ecr-oidc manual"`) {
			t.Errorf("%s has no header %s... with the source and manual:\n%.300s", name, th, page)
		}
		if !strings.Contains(string(page), ".SH SYNOPSIS") {
			t.Errorf("%s has no SYNOPSIS section", name)
		}
	}
}

func TestManHeader(t *testing.T) {
	stamped := time.Date(2026, 11, 27, 23, 44, 35, 0, time.UTC)
	tests := []struct {
		date string
		want *time.Time
	}{
		{"2026-11-27T23:44:35Z", &stamped},
		{"0001-01-01T00:00:00Z", nil},
		{buildinfo.Unknown, nil},
	}
	for _, tt := range tests {
		h := clidocs.ManHeader("circleci-ecr-oidc", buildinfo.Info{Version: "0.1.0", Date: tt.date})
		if h.Source != "circleci-ecr-oidc 0.1.0" || h.Manual != "circleci-ecr-oidc manual" {
			t.Errorf("date %s: source %q manual %q", tt.date, h.Source, h.Manual)
		}
		if (h.Date == nil) != (tt.want == nil) || (h.Date != nil && !h.Date.Equal(*tt.want)) {
			t.Errorf("date %s: header date %v, want %v", tt.date, h.Date, tt.want)
		}
	}
}
