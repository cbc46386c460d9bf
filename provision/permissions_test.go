package provision

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// TestPermissionsCoverClientInterfaces checks that every SDK call the engine
// can make (the methods of its client interfaces) is in Permissions, so that
// adding a call without documenting its permission fails here first.
func TestPermissionsCoverClientInterfaces(t *testing.T) {
	listed := map[string]bool{}
	for _, p := range Permissions {
		if listed[p.Action] {
			t.Errorf("%s is listed twice", p.Action)
		}
		listed[p.Action] = true
	}
	for _, c := range []struct {
		prefix string
		iface  reflect.Type
	}{
		{"iam", reflect.TypeFor[IAMAPI]()},
		{"ecr", reflect.TypeFor[ECRAPI]()},
		{"sts", reflect.TypeFor[STSAPI]()},
		// RegistryAPI is ECR in a registry account.
		{"ecr", reflect.TypeFor[RegistryAPI]()},
	} {
		prefix, iface := c.prefix, c.iface
		for m := range iface.Methods() {
			if action := prefix + ":" + m.Name; !listed[action] {
				t.Errorf("%s (a method of the %s interface) is not in Permissions", action, iface.Name())
			}
		}
	}
}

func TestOperatorPolicy(t *testing.T) {
	doc := OperatorPolicy(OperatorScope{Account: "123456789012", OrgID: testOrg, RoleName: "ci-pull"})
	if n, err := doc.Size(); err != nil || n > 6144 {
		t.Errorf("policy size %d (err %v), over the 6,144 of a managed policy", n, err)
	}
	var actions []string
	for _, s := range doc.Statement {
		actions = append(actions, s.Action...)
		for _, r := range s.Resource {
			// The account role is assumed in the organization's other
			// accounts, so only its name scopes it.
			if r != "*" && s.Sid != "AssumeAccountRole" && !strings.Contains(r, "123456789012") {
				t.Errorf("statement %s resource %s is not scoped to the account", s.Sid, r)
			}
		}
		if s.Sid == "OIDCProvider" && s.Resource[0] != policy.ProviderARN("aws", "123456789012", testOrg) {
			t.Errorf("provider statement resource %v", s.Resource)
		}
		if s.Sid == "Role" && s.Resource[0] != "arn:aws:iam::123456789012:role/ci-pull" {
			t.Errorf("role statement resource %v", s.Resource)
		}
	}
	if len(actions) != len(Permissions) {
		t.Errorf("policy has %d actions, Permissions %d", len(actions), len(Permissions))
	}
	// plan only reads.
	for _, s := range OperatorPolicy(OperatorScope{}, CommandPlan).Statement {
		for _, a := range s.Action {
			i := slices.IndexFunc(Permissions, func(p Permission) bool { return p.Action == a })
			if Permissions[i].Write {
				t.Errorf("plan's policy allows %s", a)
			}
		}
	}
}

// TestOperatorPolicyOrgAccounts checks the policy of the identity behind
// --org-accounts: the organization's listings and GetCallerIdentity on "*",
// AssumeRole on the account role in any account, and nothing of IAM's or
// ECR's, which the account role needs instead; and that the one-account
// commands' policies grant none of it.
func TestOperatorPolicyOrgAccounts(t *testing.T) {
	for _, c := range []struct {
		scope    OperatorScope
		wantRole string
	}{
		{OperatorScope{}, "arn:aws:iam::*:role/OrganizationAccountAccessRole"},
		{OperatorScope{Partition: "aws-cn", Account: "123456789012", AccountRole: "Deployer"}, "arn:aws-cn:iam::*:role/Deployer"},
	} {
		doc := OperatorPolicy(c.scope, CommandOrgAccounts)
		want := []policy.Statement{
			{Sid: "ReadAccount", Effect: "Allow", Action: policy.Values{"sts:GetCallerIdentity", "organizations:ListAccounts", "organizations:ListAccountsForParent", "organizations:ListChildren"}, Resource: policy.Values{"*"}},
			{Sid: "AssumeAccountRole", Effect: "Allow", Action: policy.Values{"sts:AssumeRole"}, Resource: policy.Values{c.wantRole}},
		}
		if !reflect.DeepEqual(doc.Statement, want) {
			t.Errorf("OperatorPolicy(%+v, org-accounts) statements:\n got %+v\nwant %+v", c.scope, doc.Statement, want)
		}
	}
	for _, command := range []string{CommandPlan, CommandSetup, CommandDestroy, CommandRegistry} {
		for _, s := range OperatorPolicy(OperatorScope{}, command).Statement {
			for _, a := range s.Action {
				if strings.HasPrefix(a, "organizations:") || a == "sts:AssumeRole" {
					t.Errorf("%s's policy allows %s, which only --org-accounts needs", command, a)
				}
			}
		}
	}
}

func TestOperatorScopeValidate(t *testing.T) {
	for _, c := range []struct {
		scope    OperatorScope
		commands []string
		flag     string // the flag the error names; "" for none
	}{
		{OperatorScope{Partition: "aws", RoleName: DefaultOperatorRoleName}, []string{CommandSetup, CommandOrgAccounts}, ""},
		{OperatorScope{Partition: "aws", RoleName: DefaultOperatorRoleName, AccountRole: "Deployer"}, []string{CommandOrgAccounts}, ""},
		{OperatorScope{Partition: "aws", RoleName: DefaultOperatorRoleName}, []string{"deploy"}, "--command"},
		{OperatorScope{Partition: "aws", RoleName: DefaultOperatorRoleName, AccountRole: "admin/Deployer"}, []string{CommandOrgAccounts}, "--account-role"},
		{OperatorScope{Partition: "aws", RoleName: DefaultOperatorRoleName, Account: "1234"}, []string{CommandSetup}, "--account-id"},
	} {
		_, err := c.scope.Validate(c.commands)
		var ie *InputError
		switch {
		case c.flag == "" && err != nil:
			t.Errorf("Validate(%+v, %v) = %v, want no error", c.scope, c.commands, err)
		case c.flag != "" && (!errors.As(err, &ie) || flagOf(ie) != c.flag):
			t.Errorf("Validate(%+v, %v) = %v, want an InputError for %s", c.scope, c.commands, err, c.flag)
		}
	}
}

func TestOperatorScopeWriteFor(t *testing.T) {
	scope := OperatorScope{Partition: "aws", Account: "*", RoleName: DefaultOperatorRoleName}
	var buf bytes.Buffer
	if err := scope.WriteFor(&buf, []string{CommandCircleCI, CommandSetup}, false); err == nil {
		t.Fatal("circleci with setup: no error")
	} else if in := (*InputError)(nil); !errors.As(err, &in) || in.Field != FieldCommand || !strings.Contains(in.Rule, "give it alone") {
		t.Fatalf("circleci with setup: error %v, want an input error of the command", err)
	}
	buf.Reset()
	if err := scope.WriteFor(&buf, []string{CommandCircleCI}, true); err != nil || !json.Valid(buf.Bytes()) {
		t.Fatalf("circleci as JSON: %v, %q", err, buf.String())
	}
	buf.Reset()
	if err := scope.WriteFor(&buf, []string{CommandPlan}, true); err != nil {
		t.Fatal(err)
	}
	var doc struct{ Statement []struct{ Action any } }
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil || len(doc.Statement) == 0 {
		t.Fatalf("plan's policy as JSON: %v, %q", err, buf.String())
	}
	buf.Reset()
	if err := scope.WriteFor(&buf, []string{CommandPlan}, false); err != nil || !strings.Contains(buf.String(), "IAM actions circleci-ecr-oidc calls for plan") {
		t.Fatalf("plan's permissions as text: %v, %q", err, buf.String())
	}
	if err := scope.WriteFor(&buf, []string{"deploy"}, false); err == nil {
		t.Fatal("unknown command: no error")
	}
}
