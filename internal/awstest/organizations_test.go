package awstest

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func callerAccount(ctx context.Context, t *testing.T, cfg aws.Config) string {
	t.Helper()
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	return aws.ToString(out.Account)
}

// TestOrganizationAccountsAreApart checks what the multi-account tests rely
// on: the members CreateOrganization makes are listed, the account role
// acts in its member, and what one member creates the others cannot see.
func TestOrganizationAccountsAreApart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cfg := Config(ctx, t, StartMoto(t).URL())
	org := CreateOrganization(t, cfg, "alpha", "beta")
	if len(org.Members) != 2 || !strings.HasPrefix(org.RootID, "r-") {
		t.Fatalf("organization = %+v, want two members and a root r-...", org)
	}
	listed, err := organizations.NewFromConfig(cfg).ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]orgtypes.AccountState{}
	for _, a := range listed.Accounts {
		ids[aws.ToString(a.Id)] = a.State
	}
	for _, id := range []string{AccountID, org.Members[0].ID, org.Members[1].ID} {
		if ids[id] != orgtypes.AccountStateActive {
			t.Errorf("ListAccounts: account %s state %q, want ACTIVE (listed %v)", id, ids[id], ids)
		}
	}

	alpha, beta := AssumeRole(t, cfg, org.Members[0].RoleARN()), AssumeRole(t, cfg, org.Members[1].RoleARN())
	if got := callerAccount(ctx, t, alpha); got != org.Members[0].ID {
		t.Errorf("the account role of %s acts in %s", org.Members[0].ID, got)
	}
	createRole(ctx, t, iam.NewFromConfig(alpha), "only-in-alpha")
	got, err := iam.NewFromConfig(alpha).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("only-in-alpha")})
	if err != nil || !strings.Contains(aws.ToString(got.Role.Arn), ":"+org.Members[0].ID+":") {
		t.Errorf("role created in %s: %v, ARN %s", org.Members[0].ID, err, aws.ToString(got.Role.Arn))
	}
	for name, other := range map[string]aws.Config{"beta": beta, "the management account": cfg} {
		_, err := iam.NewFromConfig(other).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("only-in-alpha")})
		var nse *iamtypes.NoSuchEntityException
		if !errors.As(err, &nse) {
			t.Errorf("GetRole in %s: err = %v, want NoSuchEntity", name, err)
		}
	}
}

// TestOrganizationUnitsAndClosing checks CreateOU, MoveAccount and
// CloseAccount as the OU and state tests use them.
func TestOrganizationUnitsAndClosing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cfg := Config(ctx, t, StartMoto(t).URL())
	org := CreateOrganization(t, cfg, "alpha", "beta")
	ou := org.CreateOU(t, org.RootID, "team")
	org.MoveAccount(t, org.Members[1].ID, org.RootID, ou)
	org.CloseAccount(t, org.Members[0].ID)

	api := organizations.NewFromConfig(cfg)
	under, err := api.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String(ou)})
	if err != nil {
		t.Fatal(err)
	}
	if len(under.Accounts) != 1 || aws.ToString(under.Accounts[0].Id) != org.Members[1].ID {
		t.Errorf("accounts under %s = %+v, want only %s", ou, under.Accounts, org.Members[1].ID)
	}
	closed, err := api.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(org.Members[0].ID)})
	if err != nil {
		t.Fatal(err)
	}
	if closed.Account.State != orgtypes.AccountStateSuspended {
		t.Errorf("closed account state %q, want SUSPENDED", closed.Account.State)
	}
}

// TestWriteProfiles loads each kind of profile WriteProfiles writes: a
// role_arn profile reaching a member through its endpoint_url, a static
// one, one whose endpoint refuses connections, and one that does not exist.
func TestWriteProfiles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	moto := StartMoto(t)
	org := CreateOrganization(t, Config(ctx, t, moto.URL()), "alpha")
	sc := WriteProfiles(t,
		Profile{Name: "source"},
		Profile{Name: "alpha", Endpoint: moto.URL(), RoleARN: org.Members[0].RoleARN(), SourceProfile: "source"},
		Profile{Name: "direct", Endpoint: moto.URL()},
		Profile{Name: "refused", Endpoint: RefusedEndpoint(t)},
	)
	for profile, want := range map[string]string{"alpha": org.Members[0].ID, "direct": AccountID} {
		cfg, err := sc.Load(ctx, profile)
		if err != nil {
			t.Fatalf("load %s: %v", profile, err)
		}
		if got := callerAccount(ctx, t, cfg); got != want {
			t.Errorf("profile %s acts in %s, want %s", profile, got, want)
		}
	}
	cfg, err := sc.Load(ctx, "refused")
	if err != nil {
		t.Fatalf("load refused: %v", err)
	}
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("GetCallerIdentity through the refused endpoint: err = %v, want connection refused", err)
	}
	var notExist config.SharedConfigProfileNotExistError
	if _, err := sc.Load(ctx, "missing"); !errors.As(err, &notExist) {
		t.Errorf("load a missing profile: err = %v, want SharedConfigProfileNotExistError", err)
	}
}
