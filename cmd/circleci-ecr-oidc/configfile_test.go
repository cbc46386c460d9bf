package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

const e2eConfig = `version: 2.1
# Pulled with static keys until now.
jobs:
  build:
    docker:
      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest
        aws_auth:
          aws_access_key_id: $AWS_ACCESS_KEY_ID
          aws_secret_access_key: $AWS_SECRET_ACCESS_KEY
    steps: [checkout]
  tools:
    docker:
      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/tools/builder:1.0
      - image: cimg/postgres:16.4
    steps: [checkout]

workflows:
  main:
    jobs:
      - build:
          context: aws
      - tools
`

// TestSetupPatchesConfigFileEndToEnd runs setup --yes --config-file with
// the built binary against the emulator: the file is patched in place
// (mode kept), the diff is on stderr and asks for no context, stdout
// still carries only the result, and a rerun changes nothing.
func TestSetupPatchesConfigFileEndToEnd(t *testing.T) {
	e := startEmulator(t, "app", "tools/builder")
	path := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(path, []byte(e2eConfig), 0o640); err != nil {
		t.Fatal(err)
	}

	// plan shows the same diff, with the plan on stdout, and writes nothing.
	planArgs := append([]string{"plan"}, setupArgs[1:]...)
	pl := runCmd(t, e.env, append(planArgs, "--config-file", path)...)
	if pl.code != 0 || !strings.Contains(pl.stdout, "+          oidc_role_arn: arn:aws:iam::123456789012:role/circleci-ecr-pull") {
		t.Errorf("plan exit %d\nstdout: %s\nstderr: %s", pl.code, pl.stdout, pl.stderr)
	}
	if !strings.Contains(pl.stderr, "Run setup with --config-file "+path+" to write it.\n") {
		t.Errorf("plan does not say how to write the file; stderr: %s", pl.stderr)
	}
	if b, _ := os.ReadFile(path); string(b) != e2eConfig {
		t.Error("plan wrote the config file")
	}
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("plan wrote %v", w)
	}

	r := runCmd(t, e.env, append(setupArgs, "--yes", "--config-file", path)...)
	if r.code != 0 {
		t.Fatalf("setup exit %d\nstderr: %s", r.code, r.stderr)
	}
	t.Logf("setup stderr:\n%s", r.stderr)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const role = "oidc_role_arn: arn:aws:iam::123456789012:role/circleci-ecr-pull"
	if strings.Count(string(got), role) != 2 || strings.Contains(string(got), "aws_access_key_id") {
		t.Errorf("config not patched as expected:\n%s", got)
	}
	if !strings.Contains(string(got), "# Pulled with static keys until now.\n") || !strings.Contains(string(got), "      - image: cimg/postgres:16.4\n") {
		t.Errorf("untouched lines changed:\n%s", got)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("mode after write = %v, %v; want 0640", info.Mode().Perm(), err)
	}
	for _, want := range []string{
		"--- a" + path, "+++ b" + path,
		"-          aws_access_key_id: $AWS_ACCESS_KEY_ID",
		"+          " + role,
		"Updated " + path,
		"No context is needed for OIDC",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	// Job tools runs without a context: that is fine, CircleCI issues its
	// OIDC token all the same.
	if strings.Contains(r.stderr, "with a context") || strings.Contains(r.stderr, "Warning:") {
		t.Errorf("stderr asks for a context:\n%s", r.stderr)
	}
	if strings.Contains(r.stdout, "+++") {
		t.Errorf("the diff is on stdout, which carries the snippet:\n%s", r.stdout)
	}
	// Nothing but the config file lives in its directory: no temporary
	// file is left behind.
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("directory holds %d entries after the write", len(entries))
	}

	e.proxy.Reset()
	again := runCmd(t, e.env, append(setupArgs, "--yes", "--config-file", path)...)
	if again.code != 0 || !strings.Contains(again.stderr, "nothing to change") || strings.Contains(again.stderr, "+++") {
		t.Errorf("rerun exit %d\nstderr: %s", again.code, again.stderr)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, got) {
		t.Errorf("rerun changed the file:\n%s", after)
	}
	if w := e.proxy.Writes(); len(w) != 0 {
		t.Errorf("rerun wrote %v", w)
	}

	// Without a terminal and without --yes the diff is shown and the file
	// is left alone; the exit status says nothing was written.
	if err := os.WriteFile(path, []byte(e2eConfig), 0o640); err != nil {
		t.Fatal(err)
	}
	noYes := runCmd(t, e.env, append(setupArgs, "--config-file", path)...)
	if noYes.code != exitError || !strings.Contains(noYes.stderr, "+          "+role) || !strings.Contains(noYes.stderr, "--yes") {
		t.Errorf("without --yes: exit %d\nstderr: %s", noYes.code, noYes.stderr)
	}
	if after, _ := os.ReadFile(path); string(after) != e2eConfig {
		t.Errorf("wrote the file without confirmation:\n%s", after)
	}
}

func TestSetupRejectsBadConfigFileBeforeAWS(t *testing.T) {
	e := startEmulator(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("jobs: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing.yml"), bad} {
		r := runCmd(t, e.env, append(setupArgs, "--yes", "--config-file", path)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--config-file") {
			t.Errorf("%s: exit %d, stderr %s", path, r.code, r.stderr)
		}
		if n := e.proxy.Total(); n != 0 {
			t.Errorf("%s: made %d AWS requests", path, n)
		}
	}
}

func TestPatchConfigFileWithoutTerminal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(path, []byte(e2eConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	plan := &provision.Plan{
		RoleARN:      "arn:aws:iam::123456789012:role/circleci-ecr-pull",
		Repositories: []provision.RepositoryStatus{{Input: "app", ARN: "arn:aws:ecr:us-east-1:123456789012:repository/app"}},
	}
	var out, errOut bytes.Buffer
	opts := &setupOptions{IO: IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, ConfigFile: path}
	err := patchConfigFile(context.Background(), opts, plan)
	if err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("err = %v, want a refusal naming --yes", err)
	}
	if b, _ := os.ReadFile(path); string(b) != e2eConfig {
		t.Error("wrote without confirmation")
	}
	if out.Len() != 0 || !strings.Contains(errOut.String(), "+++ b"+path) {
		t.Errorf("stdout %q\nstderr %s", out.String(), errOut.String())
	}

	opts.Yes = true
	errOut.Reset()
	if err := patchConfigFile(context.Background(), opts, plan); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "oidc_role_arn") || strings.Contains(string(b), "aws_access_key_id") {
		t.Errorf("not patched:\n%s", b)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
}

func TestWriteFileAtomicThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.yml")
	link := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(target, []byte("version: 2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.yml", link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	plan := &provision.Plan{
		RoleARN:      "arn:aws:iam::123456789012:role/r",
		Repositories: []provision.RepositoryStatus{{ARN: "arn:aws:ecr:us-east-1:123456789012:repository/app"}},
	}
	if err := os.WriteFile(target, []byte(e2eConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	opts := &setupOptions{IO: IOStreams{Out: &bytes.Buffer{}, ErrOut: &errOut}, ConfigFile: link, Yes: true}
	if err := patchConfigFile(context.Background(), opts, plan); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a file")
	}
	if b, _ := os.ReadFile(target); !strings.Contains(string(b), "role/r") {
		t.Errorf("the link's target was not patched:\n%s", b)
	}
}
