package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/buildinfo"
	"gopkg.in/yaml.v3"
)

// TestVersionFlag runs the command line in-process: --version prints the
// five facts as text or JSON on stdout, and --output alone is bad input.
func TestVersionFlag(t *testing.T) {
	want := buildinfo.Current()
	text := "circleci-ecr-oidc version " + want.Version + "\n" +
		"  commit:   " + want.Commit + "\n" +
		"  date:     " + want.Date + "\n" +
		"  go:       " + want.GoVersion + "\n" +
		"  platform: " + want.Platform + "\n"
	tests := []struct {
		args []string
		code int
		// stdout is the text expected, unless json is set.
		stdout string
		json   bool
		// stderr is how the error starts, for a non-zero code.
		stderr string
	}{
		{args: []string{"--version"}, stdout: text},
		{args: []string{"-v", "-o", "text"}, stdout: text},
		{args: []string{"--version", "--output", "json"}, json: true},
		{args: []string{"-o", "json", "-v"}, json: true},
		{args: []string{"--version", "--output", "yaml"}, code: exitUsage, stderr: `Error: invalid --output "yaml": must be text or json`},
		{args: []string{"--output", "json"}, code: exitUsage, stderr: "Error: --output without a command applies only to --version"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			if code != tt.code {
				t.Fatalf("exit status %d, want %d; stderr: %s", code, tt.code, errOut.String())
			}
			switch {
			case tt.code != exitOK:
				if out.Len() != 0 {
					t.Errorf("stdout = %q, want nothing", out.String())
				}
				if !strings.HasPrefix(errOut.String(), tt.stderr) {
					t.Errorf("stderr = %q, want it to start with %q", errOut.String(), tt.stderr)
				}
				return
			case tt.json:
				var got buildinfo.Info
				dec := json.NewDecoder(&out)
				dec.DisallowUnknownFields()
				if err := dec.Decode(&got); err != nil {
					t.Fatalf("decode %q: %v", out.String(), err)
				}
				if got != want {
					t.Errorf("JSON = %+v, want %+v", got, want)
				}
			case out.String() != tt.stdout:
				t.Errorf("stdout =\n%s\nwant\n%s", out.String(), tt.stdout)
			}
			if errOut.Len() != 0 {
				t.Errorf("stderr = %q, want nothing", errOut.String())
			}
		})
	}
}

// TestNoArgumentsPrintsHelp keeps the root's behaviour without --version:
// the help, exit 0.
func TestNoArgumentsPrintsHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}); code != exitOK {
		t.Fatalf("exit status %d; stderr: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "Available Commands:") || !strings.Contains(out.String(), "--version") {
		t.Errorf("stdout is not the help:\n%s", out.String())
	}
}

// releaseLdflags returns the -ldflags of the release build in
// .goreleaser.yaml, with its templates filled in as GoReleaser would.
func releaseLdflags(t *testing.T, version, commit, date string) string {
	t.Helper()
	var cfg struct {
		Builds []struct {
			Ldflags []string `yaml:"ldflags"`
		} `yaml:"builds"`
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("parse .goreleaser.yaml: %v", err)
	}
	if len(cfg.Builds) != 1 {
		t.Fatalf(".goreleaser.yaml has %d builds, want 1", len(cfg.Builds))
	}
	flags := strings.Join(cfg.Builds[0].Ldflags, " ")
	for tmpl, value := range map[string]string{"{{ .Version }}": version, "{{ .FullCommit }}": commit, "{{ .Date }}": date} {
		if !strings.Contains(flags, tmpl) {
			t.Fatalf(".goreleaser.yaml ldflags %q do not use %s", flags, tmpl)
		}
		flags = strings.ReplaceAll(flags, tmpl, value)
	}
	return flags
}

// TestVersionStamped builds the binary the way the release build and `make
// build` do and checks that --version reports what they stamped: a renamed
// variable or a typo in either set of -X flags would leave "buildinfo.Unknown".
func TestVersionStamped(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is needed to test `make build`: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	release := filepath.Join(dir, "release")
	ldflags := releaseLdflags(t, "0.1.1-SNAPSHOT-0139db7", "0139db7233a7fbbac73ce911907e566499bae517", "2026-11-30T08:00:00Z")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", release, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build with the release ldflags: %v\n%s", err, out)
	}
	got := versionOf(t, release)
	want := buildinfo.Info{Version: "0.1.1-SNAPSHOT-0139db7", Commit: "0139db7233a7fbbac73ce911907e566499bae517", Date: "2026-11-30T08:00:00Z", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if got != want {
		t.Errorf("release build --version = %+v, want %+v", got, want)
	}

	made := filepath.Join(dir, "made")
	mk := exec.Command("make", "--no-print-directory", "-C", root, "build", "BINARY="+made)
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	got = versionOf(t, made)
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	if !strings.HasPrefix(got.Commit, strings.TrimSpace(string(head))) {
		t.Errorf("make build --version commit = %q, want HEAD %s", got.Commit, head)
	}
	if got.Version == "" || got.Version == buildinfo.Unknown || strings.HasPrefix(got.Version, "v") {
		t.Errorf("make build --version version = %q, want git describe without its v, or dev", got.Version)
	}
	if len(got.Date) != len("2026-11-30T08:00:00Z") || !strings.HasSuffix(got.Date, "Z") {
		t.Errorf("make build --version date = %q, want the build time in UTC, RFC 3339", got.Date)
	}
}

// versionOf runs binary --version --output json.
func versionOf(t *testing.T, binary string) buildinfo.Info {
	t.Helper()
	out, err := exec.Command(binary, "--version", "--output", "json").Output()
	if err != nil {
		t.Fatalf("%s --version --output json: %v", binary, err)
	}
	var v buildinfo.Info
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	return v
}
