package main

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
)

// referenceDir is where the committed command reference lives, relative to
// the repository root; `make docs` regenerates it.
const referenceDir = "docs/reference"

func newCmdGenDocs(io IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:    "gen-docs DIR",
		Short:  "Write the Markdown command reference into DIR (for maintainers: make docs)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			// A fresh tree, so the reference does not depend on how this
			// command was invoked.
			if err := writeReference(newRootCmd(io), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(io.ErrOut, "Wrote the command reference to %s\n", args[0])
			return nil
		},
	}
}

// writeReference writes one Markdown file per command of root into dir and
// removes the files of commands that no longer exist. The output is
// deterministic: no generation date, and the help and completion commands
// cobra adds at run time are added first, as the binary shows them.
func writeReference(root *cobra.Command, dir string) error {
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
	completionsSubdir = "completions"
	manpagesSubdir    = "manpages"
)

func newCmdGenReleaseFiles(io IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "gen-release-files DIR",
		Short: "Write the shell completions and man pages that releases ship into DIR (for maintainers: the release build runs it)",
		Long: `Write DIR/completions/circleci-ecr-oidc.{bash,zsh,fish} and one gzipped man page per
command, DIR/manpages/circleci-ecr-oidc*.1.gz, generated from the command tree.
The man pages carry the stamped version and are dated with the stamped date
(-ldflags "-X main.version=... -X main.date=...", as the release build does),
else SOURCE_DATE_EPOCH, else today.`,
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if err := writeReleaseFiles(newRootCmd(io), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(io.ErrOut, "Wrote the shell completions and man pages to %s\n", args[0])
			return nil
		},
	}
}

// writeReleaseFiles writes the bash, zsh and fish completion scripts of root
// into dir/completions and a gzipped man page for each available command
// into dir/manpages, replacing what an earlier run left there.
func writeReleaseFiles(root *cobra.Command, dir string) error {
	root.DisableAutoGenTag = true
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	completions := filepath.Join(dir, completionsSubdir)
	manpages := filepath.Join(dir, manpagesSubdir)
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
	return writeManPages(root, manHeader(name, currentVersion()), manpages)
}

// manHeader is the header of the man pages of the tool called name, built
// as v: the version is the pages' source, and the stamped date (the release
// build stamps its commit's date) their date. Without a date, or with the
// zero time a snapshot without git information stamps, cobra dates them
// SOURCE_DATE_EPOCH, else today.
func manHeader(name string, v versionInfo) *doc.GenManHeader {
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
