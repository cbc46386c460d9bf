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

// foreignTrust is a trust policy of a role this tool did not create that
// federates the organization's provider.
const foreignTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + testProviderARN + `"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`

func destroyKeys(p *DestroyPlan) []string {
	out := []string{}
	for _, c := range p.Deletes {
		out = append(out, string(c.Action)+" "+string(c.Resource)+" "+c.Name)
	}
	return out
}

func keptKeys(p *DestroyPlan) []string {
	out := []string{}
	for _, k := range p.Keeps {
		s := string(k.Resource) + " " + k.Name
		if len(k.UsedBy) > 0 {
			s += " used by " + strings.Join(k.UsedBy, ",")
		}
		out = append(out, s)
	}
	return out
}

func TestDestroyPlan(t *testing.T) {
	const role = DefaultRoleName
	ourPolicy := "delete role-policy " + role + "/" + PolicyName
	tests := []struct {
		name   string
		state  func(t *testing.T) *fakeAWS
		delete []string
		keep   []string
	}{
		{
			name:   "owned role and our provider are deleted, policy first",
			state:  converged,
			delete: []string{ourPolicy, "delete iam-role " + role, "delete oidc-provider " + testProviderARN},
		},
		{
			name: "owned role with extra policies: all removed before the role",
			state: func(t *testing.T) *fakeAWS {
				f := converged(t)
				f.roles[role].inline["extra"] = `{"Version":"2012-10-17","Statement":[]}`
				f.roles[role].attached = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
				return f
			},
			delete: []string{
				ourPolicy, "delete role-policy " + role + "/extra",
				"detach attached-policy " + role + "/arn:aws:iam::aws:policy/ReadOnlyAccess",
				"delete iam-role " + role, "delete oidc-provider " + testProviderARN,
			},
		},
		{
			name: "foreign role is kept, and so is the provider it trusts",
			state: func(t *testing.T) *fakeAWS {
				f := converged(t)
				f.roles[role].tags = []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}}
				return f
			},
			keep: []string{"iam-role " + role, "oidc-provider " + testProviderARN + " used by " + role},
		},
		{
			name: "role tagged for another organization is kept",
			state: func(t *testing.T) *fakeAWS {
				f := converged(t)
				f.roles[role].tags = ownedTags(otherProj)
				return f
			},
			keep: []string{"iam-role " + role, "oidc-provider " + testProviderARN + " used by " + role},
		},
		{
			name: "provider kept when another role trusts it",
			state: func(t *testing.T) *fakeAWS {
				f := converged(t)
				f.roles["deployer"] = &fakeRole{trust: foreignTrust, inline: map[string]string{}}
				f.roles["unrelated"] = &fakeRole{trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, inline: map[string]string{}}
				return f
			},
			delete: []string{ourPolicy, "delete iam-role " + role},
			keep:   []string{"oidc-provider " + testProviderARN + " used by deployer"},
		},
		{
			name: "an unreadable trust policy that names the provider keeps it",
			state: func(t *testing.T) *fakeAWS {
				f := converged(t)
				f.roles["odd"] = &fakeRole{trust: `{"Statement": "` + testProviderARN + `"`, inline: map[string]string{}}
				return f
			},
			delete: []string{ourPolicy, "delete iam-role " + role},
			keep:   []string{"oidc-provider " + testProviderARN + " used by odd"},
		},
		{
			name: "provider not ours is kept even with no role trusting it",
			state: func(t *testing.T) *fakeAWS {
				f := converged(t)
				f.providers[testProviderARN].tags = nil
				return f
			},
			delete: []string{ourPolicy, "delete iam-role " + role},
			keep:   []string{"oidc-provider " + testProviderARN},
		},
		{
			name:  "nothing there: no-op",
			state: func(*testing.T) *fakeAWS { return newFakeAWS() },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.state(t)
			f.calls = nil
			st, err := ObserveDestroy(context.Background(), f.clients(), testOrg, role)
			if err != nil {
				t.Fatal(err)
			}
			if w := f.writes(); len(w) != 0 {
				t.Fatalf("observing wrote %v", w)
			}
			p := NewDestroyPlan(testOrg, role, st, false)
			want := tt.delete
			if want == nil {
				want = []string{}
			}
			if got := destroyKeys(p); !slices.Equal(got, want) {
				t.Errorf("deletes:\n got %q\nwant %q", got, want)
			}
			wantKeep := tt.keep
			if wantKeep == nil {
				wantKeep = []string{}
			}
			if got := keptKeys(p); !slices.Equal(got, wantKeep) {
				t.Errorf("keeps:\n got %q\nwant %q", got, wantKeep)
			}

			// Destroy makes exactly the planned deletions, and a second
			// round plans nothing more.
			if _, err := Destroy(context.Background(), f.clients(), p, nil); err != nil {
				t.Fatal(err)
			}
			again, err := ObserveDestroy(context.Background(), f.clients(), testOrg, role)
			if err != nil {
				t.Fatal(err)
			}
			if p2 := NewDestroyPlan(testOrg, role, again, false); len(p2.Deletes) > 0 {
				t.Errorf("second destroy plans %q", destroyKeys(p2))
			}
		})
	}
}

func TestDestroyListsEveryPage(t *testing.T) {
	f := converged(t)
	for _, n := range []string{"a1", "b2", "c3", "zz-last"} {
		trust := `{"Version":"2012-10-17","Statement":[]}`
		if n == "zz-last" {
			trust = foreignTrust
		}
		f.roles[n] = &fakeRole{trust: trust, inline: map[string]string{}}
	}
	st, err := ObserveDestroy(context.Background(), f.clients(), testOrg, DefaultRoleName)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{DefaultRoleName, "zz-last"}; !slices.Equal(st.TrustingRoles, want) {
		t.Errorf("trusting roles %v, want %v", st.TrustingRoles, want)
	}
	n := 0
	for _, c := range f.calls {
		if c == "ListRoles" {
			n++
		}
	}
	if n != len(f.roles) {
		t.Errorf("ListRoles called %d times for %d one-role pages", n, len(f.roles))
	}
}

func TestDestroyStopsAtFirstFailure(t *testing.T) {
	f := converged(t)
	st, err := ObserveDestroy(context.Background(), f.clients(), testOrg, DefaultRoleName)
	if err != nil {
		t.Fatal(err)
	}
	p := NewDestroyPlan(testOrg, DefaultRoleName, st, false)
	f.failures["DeleteRole"] = apiError("AccessDenied")
	res, err := Destroy(context.Background(), f.clients(), p, nil)
	var ae *ApplyError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "delete iam-role "+DefaultRoleName) {
		t.Fatalf("err = %v", err)
	}
	if len(res.Applied) != 1 || len(res.NotApplied) != 2 {
		t.Errorf("applied %v, not applied %v", res.Applied, res.NotApplied)
	}
	if slices.Contains(f.writes(), "DeleteOpenIDConnectProvider") {
		t.Error("deleted the provider after the role deletion failed")
	}
}

func TestDestroyTreatsGoneAsDone(t *testing.T) {
	f := converged(t)
	st, err := ObserveDestroy(context.Background(), f.clients(), testOrg, DefaultRoleName)
	if err != nil {
		t.Fatal(err)
	}
	p := NewDestroyPlan(testOrg, DefaultRoleName, st, false)
	// Another run deleted everything between our read and our writes.
	delete(f.roles, DefaultRoleName)
	delete(f.providers, testProviderARN)
	if _, err := Destroy(context.Background(), f.clients(), p, nil); err != nil {
		t.Errorf("destroy of what is already gone: %v", err)
	}
}
