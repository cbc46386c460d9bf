package circleciconfig

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFilePatchOperation runs a config.yml patch as the operation a front
// end confirms and executes: the diff with its notes as the plan, the
// question naming the file, the write, and the note on what changed.
func TestFilePatchOperation(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "add.in.yml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	op, err := ReadPatch(path, testTarget)
	if err != nil {
		t.Fatal(err)
	}
	if op.Changes() != 1 || op.Account() != "" || op.Refusal() != nil {
		t.Errorf("%d change(s), account %q, refusal %v; want 1, none, nil", op.Changes(), op.Account(), op.Refusal())
	}
	var plan bytes.Buffer
	if err := op.WritePlan(&plan); err != nil || !strings.Contains(plan.String(), "Changes to "+path+" (1 image(s)):") {
		t.Errorf("WritePlan() = %v:\n%s", err, plan.String())
	}
	c := op.Confirmation()
	if c.Question != "Write these changes to "+path+"?" || c.Yes != "Yes, write" || c.Declined != "Left "+path+" as it was." ||
		c.NoTerminal.Error() != "refuse to write "+path+" without confirmation: no terminal to ask on; rerun with --yes to write it, or apply the diff above by hand" {
		t.Errorf("confirmation %+v", c)
	}
	res, err := op.Execute(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "oidc_role_arn: "+testTarget.RoleARN) {
		t.Errorf("Execute() did not write the patch:\n%s", b)
	}
	var done, out bytes.Buffer
	op.WriteDone(&done, res)
	if want := "Updated " + path + ": 1 image(s) now pull with " + testTarget.RoleARN + ".\n"; done.String() != want {
		t.Errorf("WriteDone() = %q, want %q", done.String(), want)
	}
	if got := op.Outcome(&res, nil); got != nil {
		t.Errorf("Outcome() = %v, want none: the setup that patches the file reports", got)
	}
	if err := op.WriteOutcome(&out, &out); err != nil || out.Len() != 0 {
		t.Errorf("WriteOutcome() = %v, wrote %q; want nothing", err, out.String())
	}
}
