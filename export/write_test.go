package export

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/fleet"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

func TestWriteFiles(t *testing.T) {
	tests := []struct {
		format   Format
		file     string
		wantNext string
	}{
		{Terraform, "main.tf", "Next: terraform -chdir=DIR init && terraform -chdir=DIR apply "},
		{CloudFormation, "stack.yaml", "Next: aws cloudformation deploy --template-file DIR/stack.yaml "},
		{CloudFormationStackSet, "stackset.yaml", ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.format), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "made", "by", "export")
			var notes bytes.Buffer
			if err := WriteFiles(dir, tt.format, []File{{Name: tt.file, Content: "content\n"}}, &notes); err != nil {
				t.Fatalf("WriteFiles() = %v", err)
			}
			got, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil || string(got) != "content\n" {
				t.Fatalf("file = %q, %v; want the content written", got, err)
			}
			if !strings.Contains(notes.String(), "Wrote "+filepath.Join(dir, tt.file)+"\n") {
				t.Errorf("notes = %q, want the path written", notes.String())
			}
			wantNext := strings.ReplaceAll(tt.wantNext, "DIR", dir)
			if hasNext := strings.Contains(notes.String(), "Next:"); hasNext != (wantNext != "") || !strings.Contains(notes.String(), wantNext) {
				t.Errorf("notes = %q, want next step %q", notes.String(), wantNext)
			}
		})
	}
}

func TestWriteFilesFailsOnAFileAsDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteFiles(file, Terraform, []File{{Name: "main.tf"}}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "create output directory: ") {
		t.Fatalf("WriteFiles() = %v, want the directory's error", err)
	}
}

func TestWrite(t *testing.T) {
	spec := goldenSpec(t)
	t.Run("stdout", func(t *testing.T) {
		var out, notes bytes.Buffer
		if err := Write(Terraform, spec, Destination{Out: &out, Notes: &notes}); err != nil {
			t.Fatal(err)
		}
		files, err := Render(Terraform, spec)
		if err != nil {
			t.Fatal(err)
		}
		if out.String() != files[0].Content {
			t.Error("stdout is not the rendered main.tf")
		}
		if notes.Len() != 0 {
			t.Errorf("notes = %q, want none for a Terraform export to stdout", notes.String())
		}
	})
	t.Run("stack set into a directory", func(t *testing.T) {
		dir := t.TempDir()
		var out, notes bytes.Buffer
		if err := Write(CloudFormationStackSet, spec, Destination{Dir: dir, Out: &out, Notes: &notes, OUs: []string{"ou-ab12-cd34ef56"}}); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, StackSetTemplateFile)
		if _, err := os.Stat(path); err != nil {
			t.Fatal(err)
		}
		if out.Len() != 0 {
			t.Errorf("stdout = %q, want nothing when writing into a directory", out.String())
		}
		for _, want := range []string{"Wrote " + path, "aws cloudformation create-stack-set", "file://" + path, "ou-ab12-cd34ef56"} {
			if !strings.Contains(notes.String(), want) {
				t.Errorf("notes do not hold %q:\n%s", want, notes.String())
			}
		}
	})
	t.Run("too many repositories", func(t *testing.T) {
		repos := make([]string, 3000)
		for i := range repos {
			repos[i] = fmt.Sprintf("service-%04d", i)
		}
		many, err := provision.Spec{OrgID: testOrg, Repositories: repos, ProjectIDs: []string{testProject}, Region: "us-east-1"}.Validate()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = Write(Terraform, many, Destination{Out: &out, Notes: &bytes.Buffer{}})
		var quota *QuotaError
		if !errors.As(err, &quota) {
			t.Fatalf("Write() = %v, want a QuotaError", err)
		}
		if out.Len() != 0 {
			t.Error("a refused export wrote to stdout")
		}
	})
}

func TestCheckSelection(t *testing.T) {
	for _, tt := range []struct {
		name          string
		format        Format
		readsAccounts bool
		ous           []string
		field         provision.Field
	}{
		{"terraform alone", Terraform, false, nil, ""},
		{"terraform reading accounts", Terraform, true, nil, fleet.FieldProfiles},
		{"cloudformation with an OU", CloudFormation, false, []string{"ou-ab12-cd34ef56"}, provision.FieldOU},
		{"stack set without an OU", CloudFormationStackSet, true, nil, provision.FieldOU},
		{"stack set reading the accounts of an OU", CloudFormationStackSet, true, []string{"ou-ab12-cd34ef56"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CheckSelection(tt.format, tt.readsAccounts, tt.ous)
			var input *provision.InputError
			if tt.field == "" && err != nil || tt.field != "" && (!errors.As(err, &input) || input.Field != tt.field) {
				t.Errorf("CheckSelection() = %v, want an error of %q", err, tt.field)
			}
		})
	}
}
