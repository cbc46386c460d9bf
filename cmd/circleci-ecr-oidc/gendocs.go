package main

import (
	"fmt"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/buildinfo"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/clidocs"
	"github.com/spf13/cobra"
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
			if err := clidocs.WriteReference(newRootCmd(io), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(io.ErrOut, "Wrote the command reference to %s\n", args[0])
			return nil
		},
	}
}

func newCmdGenReleaseFiles(io IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "gen-release-files DIR",
		Short: "Write the shell completions and man pages that releases ship into DIR (for maintainers: the release build runs it)",
		Long: `Write DIR/completions/circleci-ecr-oidc.{bash,zsh,fish} and one gzipped man page per
command, DIR/manpages/circleci-ecr-oidc*.1.gz, generated from the command tree.
The man pages carry the stamped version and are dated with the stamped date
(-ldflags "-X .../internal/buildinfo.version=... and .date", as the release build does),
else SOURCE_DATE_EPOCH, else today.`,
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if err := clidocs.WriteReleaseFiles(newRootCmd(io), args[0], buildinfo.Current()); err != nil {
				return err
			}
			fmt.Fprintf(io.ErrOut, "Wrote the shell completions and man pages to %s\n", args[0])
			return nil
		},
	}
}
