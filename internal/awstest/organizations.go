package awstest

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// AccountRole is the role moto creates in every account CreateAccount
// creates, trusting the management account, as AWS Organizations does.
const AccountRole = "OrganizationAccountAccessRole"

// Organization is an AWS Organization in moto, managed by the account of
// the configuration that created it (AccountID with the dummy credentials).
//
// moto keeps each account's resources apart and maps credentials to an
// account: credentials from AssumeRole into a member's AccountRole act in
// that member (GetCallerIdentity names it, and what they create has its
// ARN). That is what makes several accounts in one moto_server possible.
type Organization struct {
	// RootID is the organization's root, "r-" and a few characters.
	RootID string
	// Members are the accounts CreateOrganization created, in order.
	Members []Account
	api     *organizations.Client
}

// Account is a member account of an Organization.
type Account struct {
	ID, Name string
}

// RoleARN returns the ARN of the account's AccountRole.
func (a Account) RoleARN() string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", a.ID, AccountRole)
}

// CreateOrganization creates an organization managed by cfg's account, and
// one member account per name (email <name>@example.com).
func CreateOrganization(tb testing.TB, cfg aws.Config, names ...string) *Organization {
	tb.Helper()
	ctx := context.Background()
	o := &Organization{api: organizations.NewFromConfig(cfg)}
	if _, err := o.api.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		tb.Fatalf("awstest: create organization: %v", err)
	}
	roots, err := o.api.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) != 1 {
		tb.Fatalf("awstest: list the organization's roots: %v (%d roots)", err, len(roots.Roots))
	}
	o.RootID = aws.ToString(roots.Roots[0].Id)
	for _, name := range names {
		out, err := o.api.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
		if err != nil {
			tb.Fatalf("awstest: create account %s: %v", name, err)
		}
		// moto creates accounts synchronously: the status is SUCCEEDED.
		o.Members = append(o.Members, Account{ID: aws.ToString(out.CreateAccountStatus.AccountId), Name: name})
	}
	return o
}

// CreateOU creates an organizational unit under parent (the root or another
// OU) and returns its ID.
func (o *Organization) CreateOU(tb testing.TB, parent, name string) string {
	tb.Helper()
	out, err := o.api.CreateOrganizationalUnit(context.Background(), &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(parent), Name: aws.String(name)})
	if err != nil {
		tb.Fatalf("awstest: create OU %s under %s: %v", name, parent, err)
	}
	return aws.ToString(out.OrganizationalUnit.Id)
}

// MoveAccount moves a member account from one parent to another.
func (o *Organization) MoveAccount(tb testing.TB, account, from, to string) {
	tb.Helper()
	if _, err := o.api.MoveAccount(context.Background(), &organizations.MoveAccountInput{AccountId: aws.String(account), SourceParentId: aws.String(from), DestinationParentId: aws.String(to)}); err != nil {
		tb.Fatalf("awstest: move account %s from %s to %s: %v", account, from, to, err)
	}
}

// CloseAccount closes a member account; moto then lists it as SUSPENDED.
func (o *Organization) CloseAccount(tb testing.TB, account string) {
	tb.Helper()
	if _, err := o.api.CloseAccount(context.Background(), &organizations.CloseAccountInput{AccountId: aws.String(account)}); err != nil {
		tb.Fatalf("awstest: close account %s: %v", account, err)
	}
}

// AssumeRole assumes roleARN with cfg's credentials and returns a copy of
// cfg with the role's credentials (static: they are not refreshed), for a
// test to act in another account, or to read back what the code under test
// did there, independently of that code's own credentials.
func AssumeRole(tb testing.TB, cfg aws.Config, roleARN string) aws.Config {
	tb.Helper()
	out, err := sts.NewFromConfig(cfg).AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("awstest")})
	if err != nil {
		tb.Fatalf("awstest: assume role %s: %v", roleARN, err)
	}
	c := out.Credentials
	assumed := cfg.Copy()
	assumed.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	return assumed
}
