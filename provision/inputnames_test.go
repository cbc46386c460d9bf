package provision

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// upper names a field as a front end might: differently from the field.
func upper(f Field) string { return "<" + strings.ToUpper(string(f)) + ">" }

func TestDescribeInputs(t *testing.T) {
	org := &InputError{Field: FieldOrgID, Value: "x", Rule: "must be a UUID"}
	both := &InputError{Field: FieldProfile, With: []Field{FieldRegion}, Join: "and", Rule: "cannot be combined"}
	list := &InputError{Field: FieldOrgID, With: []Field{FieldRepo}, Join: ",", Rule: "is required"}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"bare", org, `invalid <ORG-ID> "x": must be a UUID`},
		{"wrapped twice", fmt.Errorf("plan: %w", fmt.Errorf("resolve: %w", org)), `plan: resolve: invalid <ORG-ID> "x": must be a UUID`},
		{"joined", errors.Join(org, both), "invalid <ORG-ID> \"x\": must be a UUID\n<PROFILE> and <REGION> cannot be combined"},
		{"list", list, "<ORG-ID>, <REPO> is required"},
		{"no input error", errors.New("access denied"), "access denied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := DescribeInputs(tt.err, upper); got != tt.want {
				t.Errorf("DescribeInputs() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNameInputsKeepsTheInputError(t *testing.T) {
	in := &InputError{Field: FieldRepo, Value: "app!", Rule: "is not a repository name"}
	err := NameInputs(fmt.Errorf("plan: %w", in), upper)
	var got *InputError
	if !errors.As(err, &got) || got != in {
		t.Fatalf("errors.As(%v) does not find the input error", err)
	}
	if want := `plan: invalid <REPO> "app!": is not a repository name`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	if plain := errors.New("throttled"); NameInputs(plain, upper) != plain {
		t.Error("NameInputs wrapped an error with no input error in it")
	}
	if NameInputs(nil, upper) != nil {
		t.Error("NameInputs(nil) is not nil")
	}
}
