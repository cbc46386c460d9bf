package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
