package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/clidocs"
	"gopkg.in/yaml.v3"
)

// repoRoot is the repository root, relative to this package.
var repoRoot = filepath.Join("..", "..")

// releaseNotes runs scripts/release-notes.sh ARG OUT on changelog and returns
// what it wrote, its stderr and whether it succeeded.
func releaseNotes(t *testing.T, changelog, arg string) (notes, stderr string, ok bool) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join(repoRoot, "scripts", "release-notes.sh"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "notes", "release-notes.md")
	cmd := exec.Command("bash", script, arg, out)
	cmd.Env = append(os.Environ(), "CHANGELOG="+changelog)
	var errOut strings.Builder
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		if _, statErr := os.Stat(out); statErr == nil {
			t.Errorf("release-notes.sh %s failed but wrote %s", arg, out)
		}
		return "", errOut.String(), false
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("release-notes.sh %s succeeded without writing %s: %v", arg, out, err)
	}
	return string(b), errOut.String(), true
}

// TestReleaseNotes checks that the release notes are exactly the version's
// CHANGELOG.md section, and that a tag without an entry stops the release.
func TestReleaseNotes(t *testing.T) {
	const changelog = `# Changelog

Intro text that is no release's.

## [Unreleased]

## [0.2.0] - 2026-12-24

### Added

- Something new, with [a link](https://example.com).

### Fixed

- A bug.

## [0.1.1] - 2026-12-01

## [0.1.0] - 2026-11-30

- The first release.

[Unreleased]: https://github.com/o/r/compare/v0.2.0...HEAD
[0.2.0]: https://github.com/o/r/compare/v0.1.0...v0.2.0
[0.1.0]: https://github.com/o/r/releases/tag/v0.1.0
`
	v020 := "### Added\n\n- Something new, with [a link](https://example.com).\n\n### Fixed\n\n- A bug.\n"
	path := filepath.Join(t.TempDir(), "CHANGELOG.md")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(changelog)
	tests := []struct {
		arg    string
		want   string
		stderr string
	}{
		{arg: "0.2.0", want: v020},
		{arg: "v0.2.0", want: v020},
		{arg: "0.1.0", want: "- The first release.\n"},
		{arg: "--snapshot", want: v020},
		{arg: "0.3.0", stderr: "has no section [0.3.0] with entries"},
		{arg: "0.1.1", stderr: "the section [0.1.1] of " + path + " is empty"},
		{arg: "Unreleased", stderr: "the section [Unreleased] of " + path + " is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			got, stderr, ok := releaseNotes(t, path, tt.arg)
			if tt.stderr != "" {
				if ok || !strings.Contains(stderr, tt.stderr) {
					t.Errorf("succeeded=%v, stderr %q; want a failure saying %q", ok, stderr, tt.stderr)
				}
				return
			}
			if !ok || got != tt.want {
				t.Errorf("succeeded=%v, stderr %q, notes:\n%s\nwant:\n%s", ok, stderr, got, tt.want)
			}
		})
	}
	t.Run("--snapshot takes Unreleased once it has entries", func(t *testing.T) {
		write(strings.Replace(changelog, "## [Unreleased]\n", "## [Unreleased]\n\n- Coming soon.\n", 1))
		if got, stderr, ok := releaseNotes(t, path, "--snapshot"); !ok || got != "- Coming soon.\n" {
			t.Errorf("succeeded=%v, stderr %q, notes %q", ok, stderr, got)
		}
	})
}

// TestChangelogFormat keeps CHANGELOG.md in the Keep a Changelog form the
// release notes are cut from: [Unreleased] first, then released versions,
// newest first, each dated, with entries and a link definition.
func TestChangelogFormat(t *testing.T) {
	path := filepath.Join(repoRoot, "CHANGELOG.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	heading := regexp.MustCompile(`^## \[(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\] - \d{4}-\d{2}-\d{2}$`)
	var versions []string
	sawUnreleased := false
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimSuffix(line, "\n")
		if !strings.HasPrefix(line, "## ") {
			continue
		}
		if line == "## [Unreleased]" {
			if sawUnreleased || len(versions) > 0 {
				t.Errorf("%s: [Unreleased] must be the first section, once", path)
			}
			sawUnreleased = true
			continue
		}
		m := heading.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("%s: heading %q is not '## [X.Y.Z] - YYYY-MM-DD'", path, line)
			continue
		}
		versions = append(versions, m[1])
	}
	if !sawUnreleased || len(versions) == 0 {
		t.Fatalf("%s: want an [Unreleased] section and at least one release, found %v", path, versions)
	}
	for i, v := range versions {
		if i > 0 && !newer(versions[i-1], v) {
			t.Errorf("%s: [%s] comes before [%s]: newest first", path, versions[i-1], v)
		}
		if !strings.Contains(string(raw), "\n["+v+"]: https://") {
			t.Errorf("%s: no link definition [%s]: https://...", path, v)
		}
		if _, stderr, ok := releaseNotes(t, path, v); !ok {
			t.Errorf("release notes of %s: %s", v, stderr)
		}
	}
}

// newer reports whether release version a (X.Y.Z, perhaps with a
// pre-release suffix that is not compared) comes after b.
func newer(a, b string) bool {
	parts := func(v string) [3]int {
		v, _, _ = strings.Cut(v, "-")
		var n [3]int
		for i, p := range strings.SplitN(v, ".", 3) {
			n[i], _ = strconv.Atoi(p)
		}
		return n
	}
	pa, pb := parts(a), parts(b)
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] > pb[i]
		}
	}
	return false
}

// TestReleaseConfig checks that .goreleaser.yaml builds what the README
// promises: static binaries for six platforms, archives holding the
// completions and man pages that gen-release-files writes, deb and rpm
// packages, a Homebrew cask, and SHA-256 checksums. `make release-check` and
// `make release-snapshot` run GoReleaser itself; this runs in `make test`.
func TestReleaseConfig(t *testing.T) {
	type content struct {
		Src, Dst string
	}
	var cfg struct {
		Version int
		Before  struct{ Hooks []string }
		Builds  []struct {
			Env    []string
			Flags  []string
			Goos   []string
			Goarch []string
		}
		Archives []struct {
			Formats         []string
			FormatOverrides []struct {
				Goos    string
				Formats []string
			} `yaml:"format_overrides"`
			Files []yaml.Node
		}
		Checksum struct {
			NameTemplate string `yaml:"name_template"`
			Algorithm    string
		}
		Nfpms []struct {
			Formats  []string
			Contents []content
		}
		HomebrewCasks []struct {
			Manpages    []string
			Completions map[string]string
		} `yaml:"homebrew_casks"`
		Brews []yaml.Node
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot, ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("parse .goreleaser.yaml: %v", err)
	}
	if cfg.Version != 2 || len(cfg.Builds) != 1 || len(cfg.Archives) != 1 || len(cfg.Nfpms) != 1 || len(cfg.HomebrewCasks) != 1 {
		t.Fatalf("want GoReleaser v2 config with one build, archive, nfpm and cask; got %+v", cfg)
	}
	b := cfg.Builds[0]
	if !slices.Contains(b.Env, "CGO_ENABLED=0") || !slices.Contains(b.Flags, "-trimpath") {
		t.Errorf("build env %v flags %v: want CGO_ENABLED=0 and -trimpath", b.Env, b.Flags)
	}
	slices.Sort(b.Goos)
	slices.Sort(b.Goarch)
	if !slices.Equal(b.Goos, []string{"darwin", "linux", "windows"}) || !slices.Equal(b.Goarch, []string{"amd64", "arm64"}) {
		t.Errorf("build goos %v goarch %v: want darwin, linux, windows on amd64 and arm64", b.Goos, b.Goarch)
	}

	// The hook writes build/completions and build/manpages; the archives,
	// packages and cask must take them from there.
	gen := ""
	for _, h := range cfg.Before.Hooks {
		if strings.Contains(h, "gen-release-files") {
			gen = h
		}
	}
	completions, manpages := "build/"+clidocs.CompletionsSubdir, "build/"+clidocs.ManpagesSubdir
	if !strings.HasSuffix(gen, " ./cmd/circleci-ecr-oidc gen-release-files build") {
		t.Errorf("before.hooks %q: want one running gen-release-files into build", cfg.Before.Hooks)
	}
	a := cfg.Archives[0]
	var files []string
	for _, f := range a.Files {
		var c content
		if f.Kind == yaml.ScalarNode {
			c.Src = f.Value
		} else if err := f.Decode(&c); err != nil {
			t.Fatal(err)
		}
		files = append(files, c.Src+" -> "+c.Dst)
	}
	for _, want := range []string{"README.md -> ", "LICENSE -> ", completions + "/* -> completions", manpages + "/* -> manpages"} {
		if !slices.Contains(files, want) {
			t.Errorf("archive files %q: want %q", files, want)
		}
	}
	if !slices.Equal(a.Formats, []string{"tar.gz"}) || len(a.FormatOverrides) != 1 || a.FormatOverrides[0].Goos != "windows" || !slices.Equal(a.FormatOverrides[0].Formats, []string{"zip"}) {
		t.Errorf("archive formats %v %+v: want tar.gz, zip for windows", a.Formats, a.FormatOverrides)
	}
	if cfg.Checksum.NameTemplate != "checksums.txt" || cfg.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum %+v: want checksums.txt, sha256", cfg.Checksum)
	}

	n := cfg.Nfpms[0]
	slices.Sort(n.Formats)
	if !slices.Equal(n.Formats, []string{"deb", "rpm"}) {
		t.Errorf("nfpm formats %v: want deb and rpm", n.Formats)
	}
	var srcs []string
	for _, c := range n.Contents {
		srcs = append(srcs, c.Src)
	}
	for _, want := range []string{completions + "/circleci-ecr-oidc.bash", completions + "/circleci-ecr-oidc.zsh", completions + "/circleci-ecr-oidc.fish", manpages + "/*"} {
		if !slices.Contains(srcs, want) {
			t.Errorf("nfpm contents %v: want %s", srcs, want)
		}
	}

	// brews is being phased out in GoReleaser v2 in favour of casks.
	if len(cfg.Brews) != 0 {
		t.Errorf("brews is set: use homebrew_casks")
	}
	c := cfg.HomebrewCasks[0]
	if !slices.Equal(c.Manpages, []string{"manpages/*.1.gz"}) || len(c.Completions) != 3 {
		t.Errorf("cask manpages %v completions %v: want the archive's manpages and three completions", c.Manpages, c.Completions)
	}
	for shell, p := range c.Completions {
		if p != "completions/circleci-ecr-oidc."+shell {
			t.Errorf("cask %s completion %q: want completions/circleci-ecr-oidc.%s, as in the archive", shell, p, shell)
		}
	}
}
