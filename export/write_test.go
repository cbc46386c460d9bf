package export

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
