package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleciconfig"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// configFileUsage is the help text of setup's --config-file flag.
const configFileUsage = "patch this .circleci/config.yml so that jobs pulling the role's repositories use it (shows a diff; writes after confirmation or --yes)"

// checkConfigFile rejects an unreadable or unparseable --config-file before
// anything happens in AWS, so that a typo does not surface only after the
// role exists.
func checkConfigFile(path string, shard bool) error {
	if path == "" {
		return nil
	}
	if shard {
		// A config.yml is one project's, and under --shard each project's
		// jobs use the role that admits it: there is no one role to patch in.
		return &provision.InputError{Flag: "--config-file", Value: path, Rule: "does not apply with --shard: each project's jobs use the role that admits it, so paste into each project's config the snippet setup --shard prints for its role"}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return &provision.InputError{Flag: "--config-file", Value: path, Rule: "cannot be read: " + pathErrReason(err)}
	}
	if err := circleciconfig.Check(src); err != nil {
		return &provision.InputError{Flag: "--config-file", Value: path, Rule: err.Error()}
	}
	return nil
}

// thenPatchConfig runs after setup printed its result: when that worked
// (err is nil) it patches --config-file for the plan's role; otherwise it
// returns err, so that a failed setup never touches the file.
func thenPatchConfig(ctx context.Context, opts *setupOptions, p *provision.Plan, err error) error {
	if err != nil || opts.ConfigFile == "" {
		return err
	}
	return patchConfigFile(ctx, opts, p)
}

// configPatch is what setup would change in --config-file.
type configPatch struct {
	// path is the file as given; file is where it really is (through any
	// symbolic link), so that writing keeps the link.
	path, file string
	mode       os.FileMode
	src, out   []byte
	report     circleciconfig.Report
}

// newConfigPatch reads path and patches it in memory for the plan's role.
func newConfigPatch(path string, p *provision.Plan) (*configPatch, error) {
	file, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	info, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	out, rep, err := circleciconfig.Patch(src, circleciconfig.ForPlan(p))
	if err != nil {
		return nil, fmt.Errorf("patch %s: %w", path, err)
	}
	return &configPatch{path: path, file: file, mode: info.Mode().Perm(), src: src, out: out, report: rep}, nil
}

// changed reports whether the patch changes the file.
func (c *configPatch) changed() bool { return len(c.report.Changes) > 0 }

// show prints the unified diff to w, then the notes (and, when nothing
// changes, why) to e. The notes come after the diff, next to the question
// they bear on.
func (c *configPatch) show(w, e io.Writer) error {
	if c.changed() {
		diff, err := circleciconfig.Diff(c.path, c.src, c.out)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\nChanges to %s (%d image(s)):\n%s", c.path, len(c.report.Changes), diff)
	}
	for _, n := range c.report.Notes {
		fmt.Fprintf(e, "Note: %s\n", n)
	}
	switch {
	case c.changed():
	case c.report.Current > 0:
		fmt.Fprintf(e, "%s already pulls the role's images with oidc_role_arn: nothing to change.\n", c.path)
	default:
		fmt.Fprintf(e, "No docker image in %s is in the role's repositories: nothing to change.\n", c.path)
	}
	return nil
}

// patchConfigFile shows on stderr the diff that gives the plan's role to
// every docker image of --config-file in the role's repositories, then
// writes it after confirmation on a terminal (default no) or with --yes.
// Without a terminal and without --yes it writes nothing and fails, as
// setup does for the plan. The diff goes to stderr because stdout carries
// the snippet or the JSON result.
func patchConfigFile(ctx context.Context, opts *setupOptions, p *provision.Plan) error {
	path, e := opts.ConfigFile, opts.IO.ErrOut
	c, err := newConfigPatch(path, p)
	if err != nil {
		return err
	}
	if err := c.show(e, e); err != nil {
		return err
	}
	if !c.changed() {
		return nil
	}
	if !opts.Yes {
		if !opts.IO.CanPrompt() {
			return fmt.Errorf("refuse to write %s without confirmation: no terminal to ask on; rerun with --yes to write it, or apply the diff above by hand", path)
		}
		ok, err := confirm(ctx, opts, fmt.Sprintf("Write these changes to %s?", path), "Yes, write")
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintf(e, "Left %s as it was.\n", path)
			return nil
		}
	}
	// An editor may have saved the file while the question was open; the
	// diff shown is only right for what was read.
	if now, err := os.ReadFile(c.file); err != nil || !bytes.Equal(now, c.src) {
		return fmt.Errorf("refuse to write %s: it changed since it was read; run the command again", path)
	}
	if err := writeFileAtomic(c.file, c.out, c.mode); err != nil {
		return err
	}
	fmt.Fprintf(e, "Updated %s: %d image(s) now pull with %s.\n", path, len(c.report.Changes), p.RoleARN)
	return nil
}

// writeFileAtomic replaces path with data so that a reader, or a crash,
// sees the old file or the new one and never a half-written one: it writes
// a temporary file in the same directory (a rename is atomic only within
// one file system) with path's permissions, then renames it over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			// Best effort: the write already failed, and that error is
			// the one to report.
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; keep the mode the user's file had.
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// showPlannedConfig prints after plan's output the diff that setup would
// make to --config-file: on stdout with the text plan, whose data it is,
// and on stderr with --output json, whose stdout is one JSON object. plan
// never writes the file. err, plan's own outcome, passes through; a
// pending-changes status still shows the diff.
func showPlannedConfig(opts *planOptions, p *provision.Plan, err error) error {
	var pending *silentError
	if opts.ConfigFile == "" || (err != nil && !errors.As(err, &pending)) {
		return err
	}
	c, cerr := newConfigPatch(opts.ConfigFile, p)
	if cerr != nil {
		return cerr
	}
	w := opts.IO.Out
	if opts.Flags.output == "json" {
		w = opts.IO.ErrOut
	}
	if serr := c.show(w, opts.IO.ErrOut); serr != nil {
		return serr
	}
	if c.changed() && opts.Flags.output != "json" {
		fmt.Fprintf(opts.IO.ErrOut, "Run setup with --config-file %s to write it.\n", opts.ConfigFile)
	}
	return err
}

// pathErrReason is the reason of a file error without the path, which the
// caller already shows.
func pathErrReason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
