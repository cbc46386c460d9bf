package fleet_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/fleet"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// scopeProfiles writes a shared config with a profile in eu-west-1 and one
// without a region, both with static credentials, and points the SDK at it.
func scopeProfiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"config":      "[profile east]\nregion = eu-west-1\n\n[profile noregion]\n",
		"credentials": "[east]\naws_access_key_id = AKIDEAST\naws_secret_access_key = s\n\n[noregion]\naws_access_key_id = AKIDNOREGION\naws_secret_access_key = s\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(name, "") // the SDK takes an empty variable as unset
	}
}

// placesSeen is a plan function that records the region and the registry
// of every place it is called for, and plans a report naming the region.
type placesSeen struct {
	mu       sync.Mutex
	regions  []string
	registry []bool
}

func (p *placesSeen) plan(_ context.Context, at fleet.Place) (provision.Operation, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.regions = append(p.regions, at.Config.Region)
	p.registry = append(p.registry, at.Clients.Registry != nil)
	return provision.VerifyOperation{Report: &provision.VerifyReport{Account: at.Config.Region, OK: true}}, nil
}

func TestScopePlanInOneAccount(t *testing.T) {
	scopeProfiles(t)
	for _, tt := range []struct {
		name  string
		scope fleet.Scope
		want  string
	}{
		{"configured region", fleet.Scope{Profile: "east", DefaultRegion: "us-east-1"}, "eu-west-1"},
		{"no region: the default", fleet.Scope{Profile: "noregion", DefaultRegion: "us-east-1"}, "us-east-1"},
		{"no region and no default", fleet.Scope{Profile: "noregion"}, ""},
		{"region asked for", fleet.Scope{Profile: "east", Region: "ap-south-1", DefaultRegion: "us-east-1"}, "ap-south-1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seen := &placesSeen{}
			op, err := tt.scope.Plan(t.Context(), nil, nil, seen.plan)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seen.regions, []string{tt.want}) || seen.registry[0] {
				t.Errorf("planned in regions %v (registry %v), want once in %q without a registry", seen.regions, seen.registry, tt.want)
			}
			if _, ok := op.(provision.VerifyOperation); !ok {
				t.Errorf("Plan() = %T, want the one account's operation as it is", op)
			}
		})
	}
	t.Run("with a registry profile", func(t *testing.T) {
		seen := &placesSeen{}
		if _, err := (fleet.Scope{Profile: "east", RegistryProfile: "noregion"}).Plan(t.Context(), nil, nil, seen.plan); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seen.registry, []bool{true}) {
			t.Errorf("registry clients %v, want them", seen.registry)
		}
	})
}

func TestScopePlanInManyAccounts(t *testing.T) {
	scopeProfiles(t)
	seen := &placesSeen{}
	scope := fleet.Scope{
		Many:          true,
		Selection:     fleet.Selection{Profiles: []string{"east", "noregion"}, AccountRole: fleet.DefaultAccountRole, Parallel: 2},
		DefaultRegion: "us-east-1", RegistryProfile: "east",
	}
	var notes syncBuffer
	op, err := scope.Plan(t.Context(), &notes, nil, seen.plan)
	if err != nil {
		t.Fatal(err)
	}
	many, ok := op.(*fleet.Operation)
	if !ok {
		t.Fatalf("Plan() = %T, want a *fleet.Operation", op)
	}
	slices.Sort(seen.regions)
	if !slices.Equal(seen.regions, []string{"eu-west-1", "us-east-1"}) || slices.Contains(seen.registry, false) {
		t.Errorf("planned in regions %v (registry %v), want eu-west-1 and the default, each with the registry", seen.regions, seen.registry)
	}
	if rows := many.Rows(); len(rows) != 2 {
		t.Errorf("the operation has %d accounts, want 2", len(rows))
	}
	if notes.String() != "Reading 2 account(s), 2 at a time...\n" {
		t.Errorf("notes = %q", notes.String())
	}
}

// TestScopePlanRefusesBadInputFirst checks that a bad selection, profile
// or registry profile fails before any account is planned.
func TestScopePlanRefusesBadInputFirst(t *testing.T) {
	scopeProfiles(t)
	profiles := fleet.Selection{Profiles: []string{"east"}, AccountRole: fleet.DefaultAccountRole, Parallel: 1}
	for _, tt := range []struct {
		name  string
		scope fleet.Scope
		field provision.Field
	}{
		{"missing profile", fleet.Scope{Profile: "missing"}, provision.FieldProfile},
		{"missing registry profile", fleet.Scope{Profile: "east", RegistryProfile: "missing"}, provision.FieldRegistryProfile},
		{"profiles with a profile", fleet.Scope{Many: true, Selection: profiles, Profile: "east"}, fleet.FieldProfiles},
		{"profiles with a missing registry profile", fleet.Scope{Many: true, Selection: profiles, RegistryProfile: "missing"}, provision.FieldRegistryProfile},
		{"parallel out of range", fleet.Scope{Many: true, Selection: fleet.Selection{Profiles: []string{"east"}, AccountRole: fleet.DefaultAccountRole, Parallel: 0}}, fleet.FieldParallel},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seen := &placesSeen{}
			op, err := tt.scope.Plan(t.Context(), &syncBuffer{}, nil, seen.plan)
			var input *provision.InputError
			if !errors.As(err, &input) || input.Field != tt.field {
				t.Errorf("Plan() error = %v, want an input error of %s", err, tt.field)
			}
			if op != nil || len(seen.regions) > 0 {
				t.Errorf("Plan() = %v after planning in %v, want nothing planned", op, seen.regions)
			}
		})
	}
}

// syncBuffer is a notes writer for the accounts' concurrent progress.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// TestScopeReadProviders checks that one account is not read (a StackSet
// export reads accounts only when asked to) and that a selection's bad
// profile fails before any account is read.
func TestScopeReadProviders(t *testing.T) {
	scopeProfiles(t)
	var notes syncBuffer
	has, err := fleet.Scope{Profile: "east"}.ReadProviders(t.Context(), orgID, "us-east-1", &notes)
	if has != nil || err != nil || notes.String() != "" {
		t.Errorf("one account: ReadProviders() = %v, %v, notes %q; want nothing read", has, err, notes.String())
	}
	many := fleet.Scope{Many: true, Profile: "east", Selection: fleet.Selection{Profiles: []string{"east"}, AccountRole: fleet.DefaultAccountRole, Parallel: 1}}
	has, err = many.ReadProviders(t.Context(), orgID, "us-east-1", &notes)
	var input *provision.InputError
	if has != nil || !errors.As(err, &input) || input.Field != fleet.FieldProfiles || notes.String() != "" {
		t.Errorf("--profiles with --profile: ReadProviders() = %v, %v, notes %q; want the input error, nothing read", has, err, notes.String())
	}
}
