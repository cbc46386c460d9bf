// Package clidocs generates what is written from the command tree rather
// than by hand: the Markdown command reference (docs/reference), and the
// shell completions and man pages that releases ship.
package clidocs

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/buildinfo"
)

// WriteReference writes one Markdown file per command of root into dir and
// removes the files of commands that no longer exist. The output is
// deterministic: no generation date, and the help and completion commands
// cobra adds at run time are added first, as the binary shows them.
func WriteReference(root *cobra.Command, dir string) error {
	root.DisableAutoGenTag = true
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create reference directory: %w", err)
	}
	stale, err := filepath.Glob(filepath.Join(dir, root.Name()+"*.md"))
	if err != nil {
		return fmt.Errorf("list old reference files: %w", err)
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("remove old reference file: %w", err)
		}
	}
	if err := doc.GenMarkdownTreeCustom(root, dir, func(string) string { return "" }, func(name string) string {
		return strings.ToLower(name)
	}); err != nil {
		return fmt.Errorf("generate command reference: %w", err)
	}
	return nil
}

// Where gen-release-files writes, below its DIR argument; .goreleaser.yaml
// packs these into the archives, the deb and rpm packages and the Homebrew
// cask.
const (
	CompletionsSubdir = "completions"
	ManpagesSubdir    = "manpages"
)

// WriteReleaseFiles writes the bash, zsh and fish completion scripts of root
// into dir/completions and a gzipped man page for each available command
// into dir/manpages, replacing what an earlier run left there.
func WriteReleaseFiles(root *cobra.Command, dir string, v buildinfo.Info) error {
	root.DisableAutoGenTag = true
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	completions := filepath.Join(dir, CompletionsSubdir)
	manpages := filepath.Join(dir, ManpagesSubdir)
	for _, d := range []string{completions, manpages} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("remove old release files: %w", err)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create release files directory: %w", err)
		}
	}
	name := root.Name()
	shells := []struct {
		ext string
		gen func(io.Writer) error
	}{
		{"bash", func(w io.Writer) error { return root.GenBashCompletionV2(w, true) }},
		{"zsh", root.GenZshCompletion},
		{"fish", func(w io.Writer) error { return root.GenFishCompletion(w, true) }},
	}
	for _, sh := range shells {
		var buf bytes.Buffer
		if err := sh.gen(&buf); err != nil {
			return fmt.Errorf("generate %s completion: %w", sh.ext, err)
		}
		if err := os.WriteFile(filepath.Join(completions, name+"."+sh.ext), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s completion: %w", sh.ext, err)
		}
	}
	return writeManPages(root, ManHeader(name, v), manpages)
}

// ManHeader is the header of the man pages of the tool called name, built
// as v: the version is the pages' source, and the stamped date (the release
// build stamps its commit's date) their date. Without a date, or with the
// zero time a snapshot without git information stamps, cobra dates them
// SOURCE_DATE_EPOCH, else today.
func ManHeader(name string, v buildinfo.Info) *doc.GenManHeader {
	header := &doc.GenManHeader{
		Source: name + " " + v.Version,
		Manual: name + " manual",
	}
	if t, err := time.Parse(time.RFC3339, v.Date); err == nil && !t.IsZero() {
		header.Date = &t
	}
	return header
}

// writeManPages writes cmd's man page and those of its available
// subcommands, as cobra's GenManTree would, but gzipped (as Debian's and
// Homebrew's packaging expect) and without a time stamp in the gzip header.
func writeManPages(cmd *cobra.Command, header *doc.GenManHeader, dir string) error {
	for _, c := range cmd.Commands() {
		if !c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand() {
			continue
		}
		if err := writeManPages(c, header, dir); err != nil {
			return err
		}
	}
	// GenMan fills in the title from the command it is given, so each page
	// gets its own copy of the header.
	h := *header
	var page bytes.Buffer
	if err := doc.GenMan(cmd, &h, &page); err != nil {
		return fmt.Errorf("generate man page of %s: %w", cmd.CommandPath(), err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(page.Bytes()); err != nil {
		return fmt.Errorf("compress man page of %s: %w", cmd.CommandPath(), err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress man page of %s: %w", cmd.CommandPath(), err)
	}
	file := strings.ReplaceAll(cmd.CommandPath(), " ", "-") + ".1.gz"
	if err := os.WriteFile(filepath.Join(dir, file), gz.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write man page of %s: %w", cmd.CommandPath(), err)
	}
	return nil
}
