package circleciconfig

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// FieldConfigFile is the config.yml setup patches for the role it sets up.
const FieldConfigFile provision.Field = "config-file"

// CheckInput checks path as setup takes it, before anything happens in
// AWS, so that a typo does not surface only after the role exists: the file
// must be readable and parse (CheckFile), and there must be one role to
// patch in, so neither shard nor manyAccounts. The error is a
// *provision.InputError of FieldConfigFile. An empty path is no file to
// patch, which is fine.
func CheckInput(path string, shard, manyAccounts bool) error {
	switch {
	case path == "":
		return nil
	case manyAccounts:
		return &provision.InputError{Field: FieldConfigFile, Value: path, Rule: "does not apply with --profiles or --org-accounts: a config.yml uses one account's role; run setup --config-file in the account its jobs pull from"}
	case shard:
		// A config.yml is one project's, and under --shard each project's
		// jobs use the role that admits it: there is no one role to patch in.
		return &provision.InputError{Field: FieldConfigFile, Value: path, Rule: "does not apply with --shard: each project's jobs use the role that admits it, so paste into each project's config the snippet setup --shard prints for its role"}
	}
	if err := CheckFile(path); err != nil {
		return &provision.InputError{Field: FieldConfigFile, Value: path, Rule: err.Error()}
	}
	return nil
}

// ShowPlanned writes to out the diff setup would make to path for the
// plan's role, with what it says about the file on notes and, with hint,
// how to write it. It never writes the file.
func ShowPlanned(path string, p *provision.Plan, out, notes io.Writer, hint bool) error {
	c, err := ReadPatch(path, ForPlan(p))
	if err != nil {
		return err
	}
	if err := c.Show(out, notes); err != nil {
		return err
	}
	if c.Changed() && hint {
		fmt.Fprintf(notes, "Run setup with --config-file %s to write it.\n", path)
	}
	return nil
}

// CheckFile reads path and checks it as Check does, so that a command can
// reject an unreadable or unparseable file before it changes anything
// elsewhere. Its error is the rule the file breaks, without the path, which
// the caller shows with it: "cannot be read: why", or Check's error.
func CheckFile(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot be read: %s", pathErrReason(err))
	}
	return Check(src)
}

// pathErrReason is the reason of a file error without the path.
func pathErrReason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
