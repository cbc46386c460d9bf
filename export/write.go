package export

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// Destination is where an export goes and what it says about it.
type Destination struct {
	// Dir is the directory to write the files into; "" writes them to Out.
	Dir string
	Out io.Writer
	// Notes receives what is not the export: the trust policy's size
	// warning, the paths written, the next steps and the StackSet's
	// deployment commands.
	Notes io.Writer
	// OUs are where a StackSet export deploys.
	OUs []string
	// HasProvider is StackSetDeployment's: nil unless the accounts were
	// read.
	HasProvider map[string]bool
}

// Write renders the export of a validated spec in format and writes it to
// d: the files, then for a StackSet the commands that deploy it. Too many
// repositories for the default quotas is a *QuotaError.
func Write(format Format, spec provision.Spec, d Destination) error {
	WarnTrustPolicySize(d.Notes, spec)
	files, err := Render(format, spec)
	var quota *provision.PermissionsQuotaError
	if errors.As(err, &quota) {
		return &QuotaError{Err: quota}
	}
	if err != nil {
		return err
	}
	if d.Dir == "" {
		for _, file := range files {
			if _, err := fmt.Fprint(d.Out, file.Content); err != nil {
				return fmt.Errorf("write export: %w", err)
			}
		}
	} else if err := WriteFiles(d.Dir, format, files, d.Notes); err != nil {
		return err
	}
	if format != CloudFormationStackSet {
		return nil
	}
	notes, err := StackSetNotes(StackSetDeployment{
		Region: spec.Region, OUs: d.OUs, HasProvider: d.HasProvider,
		TemplatePath: filepath.Join(d.Dir, files[0].Name), TemplateBytes: len(files[0].Content),
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(d.Notes, notes)
	return err
}

// WriteFiles writes files into dir, created if missing (files of the same
// name are replaced), and says on notes each path written and what to run
// next for format.
func WriteFiles(dir string, format Format, files []File, notes io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	for _, file := range files {
		path := filepath.Join(dir, file.Name)
		if err := os.WriteFile(path, []byte(file.Content), 0o644); err != nil {
			return fmt.Errorf("write export: %w", err)
		}
		fmt.Fprintf(notes, "Wrote %s\n", path)
	}
	switch format {
	case Terraform:
		fmt.Fprintf(notes, "Next: terraform -chdir=%s init && terraform -chdir=%s apply (add -var create_oidc_provider=false if the organization's OIDC provider exists already).\n", dir, dir)
	case CloudFormation:
		fmt.Fprintf(notes, "Next: aws cloudformation deploy --template-file %s --stack-name circleci-ecr-oidc --capabilities CAPABILITY_NAMED_IAM (add --parameter-overrides CreateOIDCProvider=false if the organization's OIDC provider exists already).\n", filepath.Join(dir, files[0].Name))
	}
	return nil
}

// WarnTrustPolicySize warns on notes when the trust policy would exceed the
// default quota. Export cannot read the account's quota, which may have
// been raised, so it warns instead of refusing as setup does.
func WarnTrustPolicySize(notes io.Writer, spec provision.Spec) {
	// A commercial partition and a 12-digit account give the real length.
	p, err := provision.ExportPlan(spec, "aws", "123456789012")
	if err != nil {
		return
	}
	if size := p.TrustPolicySize; size > provision.DefaultTrustPolicyQuota {
		fmt.Fprintf(notes, "Warning: the trust policy is %d characters, over the default quota of %d; applying fails unless the account's quota was raised. Split the projects across roles.\n", size, provision.DefaultTrustPolicyQuota)
	}
}

// QuotaError words a PermissionsQuotaError for export, which declares the
// documents for the default quotas: a raised quota in some account does
// not help, so it suggests only prefix/* patterns.
type QuotaError struct {
	Err *provision.PermissionsQuotaError
}

func (e *QuotaError) Error() string {
	q := e.Err
	hint := "name the repositories under shared prefixes (team/service) and grant team/* instead of each one"
	if len(q.Prefixes) > 0 {
		hint = "grant prefixes instead of single repositories, e.g. --repo " + strings.Join(q.Prefixes, " --repo ")
	}
	return fmt.Sprintf("grant %d repositories: only %d fit in the inline policy (%d characters) and %d managed policies of %d characters, the default quotas an export is sized for; %s",
		q.Total, q.Fit, q.Limits.Inline, q.Limits.ManagedCount, q.Limits.Managed, hint)
}

func (e *QuotaError) Unwrap() error { return e.Err }
