package circleciconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{"config", write("config.yml", "version: 2.1\njobs: {}\n"), ""},
		{"empty", write("empty.yml", ""), ""},
		{"missing", filepath.Join(dir, "missing.yml"), "cannot be read: no such file or directory"},
		{"directory", dir, "cannot be read: "},
		{"not a mapping", write("list.yml", "- a\n- b\n"), "mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckFile(tt.path)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("CheckFile() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("CheckFile() = %v, want an error containing %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), dir):
				t.Errorf("CheckFile() = %q names the path, which the caller shows", err)
			}
		})
	}
}
