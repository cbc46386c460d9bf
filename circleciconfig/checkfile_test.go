package circleciconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
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

func TestCheckInput(t *testing.T) {
	config := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(config, []byte("version: 2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name                string
		path                string
		shard, manyAccounts bool
		wantRule            string
	}{
		{"no file", "", true, true, ""},
		{"a config", config, false, false, ""},
		{"many accounts", config, false, true, "does not apply with --profiles or --org-accounts"},
		{"shard", config, true, false, "does not apply with --shard"},
		{"missing", config + ".missing", false, false, "cannot be read"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckInput(tt.path, tt.shard, tt.manyAccounts)
			var input *provision.InputError
			switch {
			case tt.wantRule == "" && err != nil:
				t.Fatalf("CheckInput() = %v, want nil", err)
			case tt.wantRule != "" && (!errors.As(err, &input) || input.Field != FieldConfigFile || input.Value != tt.path || !strings.Contains(input.Rule, tt.wantRule)):
				t.Fatalf("CheckInput() = %v, want an input error of the file with %q", err, tt.wantRule)
			}
		})
	}
}
