package provision

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func TestCheckTags(t *testing.T) {
	spec := Spec{OrgID: testOrg}
	tests := []struct {
		name  string
		tags  map[string]string
		adopt bool
		// want is "" (may change), "not owned" or "iac".
		want string
	}{
		{"the tool's own", map[string]string{ManagedTag: "true", OrgIDTag: testOrg}, false, ""},
		{"the tool's own, from a version without the org tag", map[string]string{ManagedTag: "true"}, false, ""},
		{"a Terraform export's", map[string]string{ManagedTag: "terraform", OrgIDTag: testOrg}, false, "iac"},
		{"a CloudFormation export's", map[string]string{ManagedTag: "cloudformation", OrgIDTag: testOrg}, false, "iac"},
		{"a Terraform export's, adopted", map[string]string{ManagedTag: "terraform", OrgIDTag: testOrg}, true, ""},
		{"a Terraform export's for another organization", map[string]string{ManagedTag: "terraform", OrgIDTag: otherProj}, false, "not owned"},
		{"another organization's", map[string]string{ManagedTag: "true", OrgIDTag: otherProj}, false, "not owned"},
		{"an unknown value", map[string]string{ManagedTag: "pulumi", OrgIDTag: testOrg}, false, "not owned"},
		{"a value in other letter case", map[string]string{ManagedTag: "Terraform", OrgIDTag: testOrg}, false, "not owned"},
		{"no tags", nil, false, "not owned"},
		{"no tags, adopted", nil, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec
			s.Adopt = tt.adopt
			err := checkTags("role r", tt.tags, s, "remedy")
			var iac *IaCError
			switch tt.want {
			case "":
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			case "iac":
				if !errors.As(err, &iac) || !errors.Is(err, ErrManagedByIaC) || errors.Is(err, ErrNotOwned) || iac.ManagedBy != tt.tags[ManagedTag] {
					t.Fatalf("got %v, want an IaCError for %s", err, tt.tags[ManagedTag])
				}
			case "not owned":
				if !errors.Is(err, ErrNotOwned) || errors.As(err, &iac) {
					t.Fatalf("got %v, want ErrNotOwned", err)
				}
			}
		})
	}
}

func TestIaCErrorWording(t *testing.T) {
	for _, tt := range []struct {
		err  IaCError
		want []string
	}{
		{IaCError{What: "role ci", ManagedBy: ManagedByTerraform}, []string{"refuse to change role ci: it is managed by Terraform (tagged circleci-ecr-oidc:managed=terraform)", "change the Terraform configuration", "or pass --adopt to take it over"}},
		{IaCError{What: "role ci", ManagedBy: ManagedByCloudFormation}, []string{"managed by CloudFormation", "change the CloudFormation template and update the stack", "--adopt"}},
		{IaCError{What: "role ci", ManagedBy: ManagedByTerraform, Delete: true}, []string{"refuse to delete role ci: it is managed by Terraform", "terraform destroy", "or pass --adopt to delete it anyway"}},
		{IaCError{What: "role ci", ManagedBy: ManagedByCloudFormation, Delete: true}, []string{"delete it with CloudFormation instead", "--adopt"}},
	} {
		msg := tt.err.Error()
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%q lacks %q", msg, w)
			}
		}
	}
}

// setTag sets key to value in tags, as TagRole would.
func setTag(tags []iamtypes.Tag, key, value string) []iamtypes.Tag {
	tags = slices.DeleteFunc(slices.Clone(tags), func(t iamtypes.Tag) bool { return aws.ToString(t.Key) == key })
	return append(tags, iamtypes.Tag{Key: aws.String(key), Value: aws.String(value)})
}

func tagValue(tags []iamtypes.Tag, key string) string {
	i := slices.IndexFunc(tags, func(t iamtypes.Tag) bool { return aws.ToString(t.Key) == key })
	if i < 0 {
		return ""
	}
	return aws.ToString(tags[i].Value)
}

// exported returns a fake account in the state an export of spec leaves
// when applied with the tool managedBy: what setup creates, with the
// managed tag naming that tool; CloudFormation cannot tag managed policies.
func exported(t *testing.T, f *fakeAWS, spec Spec, managedBy string) *fakeAWS {
	t.Helper()
	applyPlan(t, f, spec)
	for _, p := range f.providers {
		p.tags = setTag(p.tags, ManagedTag, managedBy)
	}
	for _, r := range f.roles {
		r.tags = setTag(r.tags, ManagedTag, managedBy)
	}
	for _, p := range f.policies {
		if managedBy == ManagedByCloudFormation {
			p.tags = nil
		} else {
			p.tags = setTag(p.tags, ManagedTag, managedBy)
		}
	}
	f.calls = nil
	return f
}

// TestPlanWhatAnExportCreated checks that plan compares what an export
// created as usual and marks it, that setup's Apply refuses to change it
// without a write, and that --adopt takes it over.
func TestPlanWhatAnExportCreated(t *testing.T) {
	for _, tool := range []string{ManagedByTerraform, ManagedByCloudFormation} {
		t.Run(tool, func(t *testing.T) {
			f := newFakeAWS()
			spec := packedSpec(manyRepos(f, 300))
			exported(t, f, spec, tool)

			// Unchanged: nothing to do, and the plan says who owns what.
			p, err := planFor(t, f, spec)
			if err != nil {
				t.Fatalf("plan over an export: %v", err)
			}
			if p.HasChanges() || p.RoleManagedBy != tool || p.ProviderManagedBy != tool {
				t.Fatalf("plan over an unchanged export: changes %v, role managed by %q, provider by %q", p.Changes, p.RoleManagedBy, p.ProviderManagedBy)
			}
			if err := p.CheckManagedBy(); err != nil {
				t.Fatalf("nothing to change, yet refused: %v", err)
			}
			var text strings.Builder
			if err := p.WriteText(&text, false); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text.String(), "matches (no change); managed by "+IaCName(tool)) {
				t.Errorf("the text plan does not say who manages the role:\n%s", text.String())
			}

			// A new project: planned as usual, marked, refused by Apply
			// before any write.
			more := spec
			more.ProjectIDs = []string{testProject, otherProj}
			more.Tags = map[string]string{"team": "platform"}
			p, err = planFor(t, f, more)
			if err != nil {
				t.Fatalf("plan over an export: %v", err)
			}
			if got := changeKeys(p); !slices.Equal(got, []string{"tag iam-role", "update trust-policy"}) {
				t.Fatalf("changes %v, want the trust policy and the new tag", got)
			}
			for _, c := range p.Changes {
				if c.ManagedBy != tool {
					t.Errorf("change %s is not marked managed by %s", c, tool)
				}
			}
			err = p.CheckManagedBy()
			var iac *IaCError
			if !errors.As(err, &iac) || iac.What != "role "+DefaultRoleName || !strings.Contains(err.Error(), "managed by "+IaCName(tool)) {
				t.Fatalf("CheckManagedBy = %v, want a refusal naming the role", err)
			}
			text.Reset()
			if err := p.WriteText(&text, false); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"[managed by " + IaCName(tool) + "]", "setup refuses these changes"} {
				if !strings.Contains(text.String(), want) {
					t.Errorf("the text plan lacks %q:\n%s", want, text.String())
				}
			}
			f.calls = nil
			res, err := Apply(context.Background(), f, p, Options{})
			if !errors.Is(err, ErrManagedByIaC) || len(res.Applied) != 0 || len(res.NotApplied) != 2 {
				t.Fatalf("Apply = %v, %+v; want a refusal with nothing applied", err, res)
			}
			if w := f.writes(); len(w) != 0 {
				t.Fatalf("the refused apply wrote %v", w)
			}

			// --adopt takes the role and its managed policies over.
			more.Adopt = true
			p = applyPlan(t, f, more)
			var tagged int
			for _, c := range p.Changes {
				if c.Action == ActionTag && !strings.Contains(c.Reason, "take it over from "+IaCName(tool)) {
					t.Errorf("tag change %s says %q", c, c.Reason)
				}
				if c.Action == ActionTag && c.Resource == ResourceManagedPolicy {
					tagged++
				}
			}
			if tagged != len(f.policies) || tagged == 0 {
				t.Errorf("adopting tags %d of %d managed policies", tagged, len(f.policies))
			}
			if v := tagValue(f.roles[DefaultRoleName].tags, ManagedTag); v != ManagedByTool {
				t.Errorf("after --adopt the role is tagged %s=%s", ManagedTag, v)
			}
			for arn, mp := range f.policies {
				if tagValue(mp.tags, ManagedTag) != ManagedByTool || tagValue(mp.tags, OrgIDTag) != testOrg {
					t.Errorf("after --adopt managed policy %s has tags %v", arn, mp.tags)
				}
			}
			// From then on the role is the tool's: no changes, none marked.
			more.Adopt = false
			p, err = planFor(t, f, more)
			if err != nil || p.HasChanges() || p.RoleManagedBy != "" {
				t.Fatalf("plan after --adopt: %v, changes %v, role managed by %q", err, p.Changes, p.RoleManagedBy)
			}
		})
	}
}

// TestPlanProviderFromAnExport checks that a provider an export created is
// marked when setup would add an audience to it, and left alone otherwise.
func TestPlanProviderFromAnExport(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	f.providers[testProviderARN] = &fakeProvider{clientIDs: []string{"other"}, tags: []iamtypes.Tag{
		{Key: aws.String(ManagedTag), Value: aws.String(ManagedByTerraform)}, {Key: aws.String(OrgIDTag), Value: aws.String(testOrg)}}}
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Changes {
		if want := map[bool]string{true: ManagedByTerraform, false: ""}[c.Resource == ResourceProvider]; c.ManagedBy != want {
			t.Errorf("change %s marked %q, want %q", c, c.ManagedBy, want)
		}
	}
	var iac *IaCError
	if err := p.CheckManagedBy(); !errors.As(err, &iac) || iac.What != "OIDC provider "+testProviderARN {
		t.Fatalf("CheckManagedBy = %v, want a refusal naming the provider", err)
	}
	// With the audience in place, the new role is the tool's to create.
	f.providers[testProviderARN].clientIDs = []string{testOrg}
	p = applyPlan(t, f, validSpec())
	if p.ProviderManagedBy != ManagedByTerraform || tagValue(f.providers[testProviderARN].tags, ManagedTag) != ManagedByTerraform {
		t.Fatalf("the provider's owner changed: plan says %q, tags %v", p.ProviderManagedBy, f.providers[testProviderARN].tags)
	}
	if v := tagValue(f.roles[DefaultRoleName].tags, ManagedTag); v != ManagedByTool {
		t.Fatalf("the role setup created is tagged %s=%s", ManagedTag, v)
	}
}

func TestVerifyWhatAnExportCreated(t *testing.T) {
	f := newFakeAWS()
	spec := packedSpec(manyRepos(f, 300))
	spec.Tags = map[string]string{"team": "platform"}
	exported(t, f, spec, ManagedByTerraform)
	r, _ := verifyFake(t, f, spec)
	if !r.OK() {
		t.Fatalf("verify of an unchanged export failed: %+v", r.Failed())
	}
	for _, c := range r.Checks {
		switch c.Item {
		case CheckOwnership, CheckProvider:
			if c.ManagedBy != ManagedByTerraform || !strings.Contains(c.Detail, "managed by Terraform") {
				t.Errorf("%s: managed_by %q, detail %q", c.Item, c.ManagedBy, c.Detail)
			}
		}
	}
	// It compares as usual: a tag changed in the account is a difference.
	f.roles[DefaultRoleName].tags = setTag(f.roles[DefaultRoleName].tags, "team", "other")
	r, _ = verifyFake(t, f, spec)
	if got := failedItems(r); !slices.Equal(got, []string{CheckTags}) {
		t.Fatalf("verify after a tag drift fails %v, want tags", got)
	}
}

func TestDestroyWhatAnExportCreated(t *testing.T) {
	observe := func(t *testing.T, f *fakeAWS) *DestroyState {
		t.Helper()
		st, err := ObserveDestroy(context.Background(), f.clients(), testOrg, DefaultRoleName)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for _, tool := range []string{ManagedByTerraform, ManagedByCloudFormation} {
		t.Run(tool, func(t *testing.T) {
			f := newFakeAWS()
			exported(t, f, packedSpec(manyRepos(f, 300)), tool)
			p := NewDestroyPlan(testOrg, DefaultRoleName, observe(t, f), false)
			want := []string{"delete role-policy", "delete managed-policy", "delete managed-policy", "delete iam-role"}
			var got []string
			for _, c := range p.Deletes {
				got = append(got, string(c.Action)+" "+string(c.Resource))
				if c.ManagedBy != tool {
					t.Errorf("deletion %s is not marked managed by %s", c, tool)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("deletes %v, want %v", got, want)
			}
			if len(p.Keeps) != 1 || p.Keeps[0].Resource != ResourceProvider || p.Keeps[0].ManagedBy != tool {
				t.Fatalf("keeps %+v, want the provider, managed by %s", p.Keeps, tool)
			}
			err := p.CheckManagedBy()
			var iac *IaCError
			if !errors.As(err, &iac) || !iac.Delete || iac.What != "role "+DefaultRoleName {
				t.Fatalf("CheckManagedBy = %v, want a refusal to delete the role", err)
			}
			f.calls = nil
			if _, err := Destroy(context.Background(), f.clients(), p, nil); !errors.Is(err, ErrManagedByIaC) {
				t.Fatalf("Destroy = %v, want the refusal", err)
			}
			if w := f.writes(); len(w) != 0 {
				t.Fatalf("the refused destroy wrote %v", w)
			}

			// --adopt deletes everything the export created.
			p = NewDestroyPlan(testOrg, DefaultRoleName, observe(t, f), true)
			if _, err := Destroy(context.Background(), f.clients(), p, nil); err != nil {
				t.Fatal(err)
			}
			if len(f.roles) != 0 || len(f.policies) != 0 || len(f.providers) != 0 {
				t.Fatalf("after destroy --adopt: %d roles, %d policies, %d providers", len(f.roles), len(f.policies), len(f.providers))
			}
		})
	}

	t.Run("the tool's role under an export's provider", func(t *testing.T) {
		f := converged(t)
		f.providers[testProviderARN].tags = setTag(f.providers[testProviderARN].tags, ManagedTag, ManagedByTerraform)
		p := NewDestroyPlan(testOrg, DefaultRoleName, observe(t, f), false)
		if got := destroyKeys(p); !slices.Equal(got, []string{"delete role-policy " + DefaultRoleName + "/" + PolicyName, "delete iam-role " + DefaultRoleName}) {
			t.Fatalf("deletes %v", got)
		}
		if len(p.Keeps) != 1 || !strings.Contains(p.Keeps[0].Reason, "managed by Terraform") || !strings.Contains(p.Keeps[0].Reason, "--adopt") {
			t.Fatalf("keeps %+v, want the provider, managed by Terraform", p.Keeps)
		}
		if err := p.CheckManagedBy(); err != nil {
			t.Fatalf("refused: %v", err)
		}
		if _, err := Destroy(context.Background(), f.clients(), p, nil); err != nil {
			t.Fatal(err)
		}
		if len(f.roles) != 0 || len(f.providers) != 1 {
			t.Fatalf("after destroy: %d roles, %d providers", len(f.roles), len(f.providers))
		}
	})
}
