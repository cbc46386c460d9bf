package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/fleet"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func TestErrorTextNamesFlags(t *testing.T) {
	org := &provision.InputError{Field: provision.FieldOrgID, Value: "x", Rule: "must be a UUID"}
	both := &provision.InputError{Field: fleet.FieldProfiles, With: []provision.Field{fleet.FieldOrgAccounts}, Join: "and", Rule: "cannot be combined"}
	missing := provision.MissingError([]provision.Field{provision.FieldOrgID, provision.FieldRepo, provision.FieldProjectIDOrAllProjects}, "is required")
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"bare", org, `invalid --org-id "x": must be a UUID`},
		{"wrapped", fmt.Errorf("resolve: %w", &usageError{org}), `resolve: invalid --org-id "x": must be a UUID`},
		{"joined", errors.Join(org, both), "invalid --org-id \"x\": must be a UUID\n--profiles and --org-accounts cannot be combined"},
		{"list", missing, "--org-id, --repo, --project-id or --all-projects is required"},
		{"not an input error", errors.New("access denied"), "access denied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorText(tt.err); got != tt.want {
				t.Errorf("errorText() = %q, want %q", got, tt.want)
			}
		})
	}
	// Without the command line's names the engine's message names fields.
	if got, want := org.Error(), `invalid org-id "x": must be a UUID`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestFlagNamedKeepsTheInputError(t *testing.T) {
	in := &provision.InputError{Field: provision.FieldRepo, Value: "arn:aws-cn:ecr:cn-north-1:123456789012:repository/app", Rule: "is in partition aws-cn"}
	err := flagNamed(fmt.Errorf("plan: %w", in))
	var got *provision.InputError
	if !errors.As(err, &got) || got != in {
		t.Fatalf("errors.As(%v) does not find the input error", err)
	}
	if want := `plan: invalid --repo "arn:aws-cn:ecr:cn-north-1:123456789012:repository/app": is in partition aws-cn`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	if plain := errors.New("throttled"); flagNamed(plain) != plain {
		t.Error("flagNamed wrapped an error with no input error in it")
	}
}

// TestEveryFieldHasAFlag reads the Field constants the engine and the
// command line declare, so that a new field cannot reach the user without
// its flag: the flag flagName names must be one a command takes.
func TestEveryFieldHasAFlag(t *testing.T) {
	flags := map[string]bool{}
	var collect func(*cobra.Command)
	collect = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { flags["--"+f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { flags["--"+f.Name] = true })
		for _, sub := range c.Commands() {
			collect(sub)
		}
	}
	collect(newRootCmd(IOStreams{}))
	for _, dir := range []string{"provision", "fleet", "export", "circleciconfig", filepath.Join("cmd", "circleci-ecr-oidc")} {
		n := 0
		for field, name := range fieldConstants(t, filepath.Join("..", "..", dir)) {
			n++
			for _, flag := range strings.Split(flagName(field), " or ") {
				if _, otherwise := fieldsNamedOtherwise[field]; !flags[flag] && (!otherwise || strings.HasPrefix(flag, "--")) {
					t.Errorf("%s.%s (%q) names flag %q, which no command takes", dir, name, field, flag)
				}
			}
		}
		if n == 0 {
			t.Errorf("found no Field constants in %s", dir)
		}
	}
}

// fieldConstants are the Field constants declared in dir's non-test files,
// with their names.
func fieldConstants(t *testing.T, dir string) map[provision.Field]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	found := map[provision.Field]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(node ast.Node) bool {
			spec, ok := node.(*ast.ValueSpec)
			if !ok || len(spec.Values) != 1 || !isFieldType(spec.Type) {
				return true
			}
			if lit, ok := spec.Values[0].(*ast.BasicLit); ok {
				found[provision.Field(strings.Trim(lit.Value, `"`))] = spec.Names[0].Name
			}
			return true
		})
	}
	return found
}

func isFieldType(expr ast.Expr) bool {
	switch e := expr.(type) {
	case *ast.Ident:
		return e.Name == "Field"
	case *ast.SelectorExpr:
		return e.Sel.Name == "Field"
	}
	return false
}
