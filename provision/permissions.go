package provision

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
)

// Scope is the kind of resource an IAM action is authorized against.
type Scope string

// The resource scopes of the operator's permissions.
const (
	// ScopeAny is for actions IAM only authorizes on "*".
	ScopeAny        Scope = "*"
	ScopeProvider   Scope = "oidc-provider"
	ScopeRole       Scope = "role"
	ScopeRepository Scope = "repository"
	// ScopeManagedPolicy is for the customer managed policies under the
	// role's own path (ManagedPolicyPath), which hold repository grants
	// beyond the inline policy's quota.
	ScopeManagedPolicy Scope = "managed-policy"
	// ScopeRegistryRepository is for actions on repositories of a registry
	// account, made by the --registry-profile identity.
	ScopeRegistryRepository Scope = "registry-repository"
	// ScopeAccountRole is for the role a multi-account run assumes in each
	// account of the organization (--account-role), in any account.
	ScopeAccountRole Scope = "account-role"
)

// Permission is one IAM action the operator's identity needs, and why.
type Permission struct {
	// Action is the IAM action, e.g. "iam:CreateRole". For an action the
	// tool calls it is the service prefix and the API operation's name.
	Action string
	Scope  Scope
	// Commands are the commands that need the action.
	Commands []string
	// Write is true for actions that change the account.
	Write bool
	// Why says what the tool uses the action for.
	Why string
	// Conditional says when the action is needed, if not on every run.
	Conditional string
	// AuthorizationOnly is true for an action the tool never calls as an
	// operation, which IAM checks as part of another call (tags given at
	// creation are authorized with the Tag* action).
	AuthorizationOnly bool
}

// Commands whose permissions Permissions lists.
const (
	CommandPlan    = "plan"
	CommandSetup   = "setup"
	CommandDestroy = "destroy"
	// CommandRegistry is not a command: it stands for the identity of
	// --registry-profile in a registry account, which setup and plan use
	// for repositories in other accounts. It is never the operator's own
	// identity, so no other command's policy includes its actions.
	CommandRegistry = "registry"
	// CommandOrgAccounts is not a command either: it stands for the
	// identity that runs setup, plan or destroy with --org-accounts, which
	// lists the organization's accounts and assumes --account-role in each
	// but its own. Its actions add to those of the command it runs; the
	// account role needs the command's actions in every account.
	CommandOrgAccounts = "org-accounts"
	// CommandCircleCI is not a command: it prints the CircleCI API calls
	// (circleci.Calls) and the token they need instead of an IAM policy.
	CommandCircleCI = "circleci"
)

// DefaultAccountRole is the role a multi-account run assumes in each
// account of the organization unless --account-role names another: the role
// AWS Organizations creates in the accounts it creates, trusting the
// management account.
const DefaultAccountRole = "OrganizationAccountAccessRole"

var (
	observeCommands  = []string{CommandPlan, CommandSetup, CommandDestroy}
	planCommands     = []string{CommandPlan, CommandSetup}
	setupCommands    = []string{CommandSetup}
	destroyCommands  = []string{CommandDestroy}
	changeCommands   = []string{CommandSetup, CommandDestroy}
	registryCommands = []string{CommandRegistry}
	orgCommands      = []string{CommandOrgAccounts}
)

// Permissions lists every IAM action the operator needs to run plan, setup
// and destroy, in one account or in many (CommandOrgAccounts), in the order
// the documentation shows them. Keep it in step with the IAMAPI, ECRAPI and
// STSAPI interfaces and with package fleet's: tests check that each of their
// methods is listed, and an end-to-end test that every call setup makes is
// allowed by OperatorPolicy.
var Permissions = []Permission{
	{Action: "sts:GetCallerIdentity", Commands: slices.Concat(observeCommands, orgCommands), Scope: ScopeAny, Why: "account and partition for every ARN; with --org-accounts, the caller's own account, which is used without assuming a role (allowed to every identity)"},
	{Action: "iam:GetAccountSummary", Commands: planCommands, Scope: ScopeAny, Why: "the account's quotas: trust policy, inline policies, managed policy size, managed policies per role", Conditional: "optional: without it the documented defaults 2,048, 10,240, 6,144 and 10 apply"},
	{Action: "ecr:DescribeRepositories", Commands: planCommands, Scope: ScopeRepository, Why: "check that the named repositories exist (not for prefix/* or other accounts), listing the region's repositories when some are missing; list them in the wizard"},
	{Action: "iam:ListOpenIDConnectProviders", Commands: planCommands, Scope: ScopeAny, Why: "find the organization's provider while the caller identity is read (IAM only authorizes listing on *)"},
	{Action: "iam:GetOpenIDConnectProvider", Commands: observeCommands, Scope: ScopeProvider, Why: "does the organization's provider exist, with which audiences"},
	{Action: "iam:GetRole", Commands: observeCommands, Scope: ScopeRole, Why: "does the role exist, is it ours (tags), its trust policy"},
	{Action: "iam:GetRolePolicy", Commands: observeCommands, Scope: ScopeRole, Why: "the current " + PolicyName + " inline policy"},
	{Action: "iam:ListRolePolicies", Commands: observeCommands, Scope: ScopeRole, Why: "other inline policies on the role (reported, never changed)"},
	{Action: "iam:ListAttachedRolePolicies", Commands: observeCommands, Scope: ScopeRole, Why: "managed policies attached to the role (others' are reported, never changed)"},
	{Action: "iam:ListPolicies", Commands: observeCommands, Scope: ScopeAny, Why: "find the managed policies under the role's path /circleci-ecr-oidc/<role>/ (IAM only authorizes listing on *)"},
	{Action: "iam:GetPolicyVersion", Commands: observeCommands, Scope: ScopeManagedPolicy, Why: "the document of each of the role's managed policies", Conditional: "when the role's path holds managed policies"},
	{Action: "iam:ListPolicyTags", Commands: observeCommands, Scope: ScopeManagedPolicy, Why: "is each managed policy under the role's path ours (tags)", Conditional: "when the role's path holds managed policies"},
	{Action: "iam:CreateOpenIDConnectProvider", Commands: setupCommands, Scope: ScopeProvider, Write: true, Why: "create the organization's provider", Conditional: "when the account has no provider for the organization"},
	{Action: "iam:TagOpenIDConnectProvider", Commands: setupCommands, Scope: ScopeProvider, Write: true, Why: "tag the provider at creation", Conditional: "with CreateOpenIDConnectProvider, which IAM authorizes its tags with", AuthorizationOnly: true},
	{Action: "iam:AddClientIDToOpenIDConnectProvider", Commands: setupCommands, Scope: ScopeProvider, Write: true, Why: "add the organization ID, and the token audiences CircleCI's settings give the jobs, as audiences of an existing provider (one call each)", Conditional: "when an existing provider lacks one of them"},
	{Action: "iam:CreateRole", Commands: setupCommands, Scope: ScopeRole, Write: true, Why: "create the role", Conditional: "when the role does not exist"},
	{Action: "iam:TagRole", Commands: setupCommands, Scope: ScopeRole, Write: true, Why: "tag the role at creation (IAM authorizes CreateRole's tags with it); add the ownership tags to an adopted role", Conditional: "when the role is created, or adopted with --adopt"},
	{Action: "iam:UpdateAssumeRolePolicy", Commands: setupCommands, Scope: ScopeRole, Write: true, Why: "restore or update the trust policy of a role the tool owns or adopts", Conditional: "when an existing role's trust policy differs"},
	{Action: "iam:PutRolePolicy", Commands: setupCommands, Scope: ScopeRole, Write: true, Why: "create or update the " + PolicyName + " inline policy", Conditional: "when the inline policy is missing or differs"},
	{Action: "iam:CreatePolicy", Commands: setupCommands, Scope: ScopeManagedPolicy, Write: true, Why: "create a managed policy <role>-ecr-<n> for the repository grants beyond the inline policy's quota", Conditional: "when the repositories do not fit the inline policy (about 160 ARNs)"},
	{Action: "iam:TagPolicy", Commands: setupCommands, Scope: ScopeManagedPolicy, Write: true, Why: "tag a managed policy at creation (IAM authorizes CreatePolicy's tags with it); add the ownership tags to a managed policy under the role's path that setup adopts", Conditional: "with CreatePolicy, or with --adopt when such a managed policy lacks the ownership tags (for example one a Terraform export created)"},
	{Action: "iam:GetPolicy", Commands: setupCommands, Scope: ScopeManagedPolicy, Why: "re-read a managed policy another run created meanwhile, to check it is ours", Conditional: "when CreatePolicy finds the policy exists already"},
	{Action: "iam:ListPolicyVersions", Commands: changeCommands, Scope: ScopeManagedPolicy, Why: "count a managed policy's versions before adding one (IAM keeps five), or delete them before the policy", Conditional: "when a managed policy is updated or deleted"},
	{Action: "iam:CreatePolicyVersion", Commands: setupCommands, Scope: ScopeManagedPolicy, Write: true, Why: "update a managed policy's document", Conditional: "when a managed policy's document differs"},
	{Action: "iam:DeletePolicyVersion", Commands: changeCommands, Scope: ScopeManagedPolicy, Write: true, Why: "delete a managed policy's oldest version to make room, or every old version before deleting the policy", Conditional: "when a managed policy has five versions, or is deleted"},
	{Action: "iam:AttachRolePolicy", Commands: setupCommands, Scope: ScopeRole, Write: true, Why: "attach the role's managed policies", Conditional: "when a managed policy of the role is not attached"},
	{Action: "iam:DeletePolicy", Commands: changeCommands, Scope: ScopeManagedPolicy, Write: true, Why: "delete a managed policy of the role that is no longer needed, or with the role", Conditional: "when the role has managed policies it no longer needs, or is destroyed"},
	{Action: "iam:ListRoles", Commands: observeCommands, Scope: ScopeAny, Why: "find the other roles that trust the provider, which destroy then keeps; find every shard role <role>-N (plan and setup with --shard)", Conditional: "when the organization's provider exists (destroy), or with --shard"},
	{Action: "iam:DeleteRolePolicy", Commands: changeCommands, Scope: ScopeRole, Write: true, Why: "delete the role's inline policies before the role", Conditional: "destroy, or setup --shard deleting a shard role that admits no requested project"},
	{Action: "iam:DetachRolePolicy", Commands: changeCommands, Scope: ScopeRole, Write: true, Why: "detach managed policies from the role: its own before deleting them, others' before deleting the role (those are kept)", Conditional: "when managed policies are attached"},
	{Action: "iam:DeleteRole", Commands: changeCommands, Scope: ScopeRole, Write: true, Why: "delete the role", Conditional: "destroy, or setup --shard deleting a shard role that admits no requested project"},
	{Action: "iam:DeleteOpenIDConnectProvider", Commands: destroyCommands, Scope: ScopeProvider, Write: true, Why: "delete the provider", Conditional: "when no other role trusts it"},
	{Action: "ecr:GetRepositoryPolicy", Commands: registryCommands, Scope: ScopeRegistryRepository, Why: "read the repository policy of a repository in another account (plan, setup and destroy with --registry-profile)", Conditional: "only for the --registry-profile identity, with repository ARNs in its account"},
	{Action: "ecr:SetRepositoryPolicy", Commands: registryCommands, Scope: ScopeRegistryRepository, Write: true, Why: "merge the role's statement into that repository policy, keeping its other statements (setup), or take it out again (destroy)", Conditional: "only for the --registry-profile identity, when the statement is missing or differs, or is removed"},
	{Action: "organizations:ListAccounts", Commands: orgCommands, Scope: ScopeAny, Why: "list the organization's accounts, of which the active ones are used (Organizations only authorizes listing accounts on *)", Conditional: "with --org-accounts and no --ou"},
	{Action: "organizations:ListAccountsForParent", Commands: orgCommands, Scope: ScopeAny, Why: "list the accounts directly under --ou and under each OU below it (on *: the organization's ID, part of the OU's ARN, is not known before the call)", Conditional: "with --org-accounts --ou"},
	{Action: "organizations:ListChildren", Commands: orgCommands, Scope: ScopeAny, Why: "list the OUs under --ou, recursively (on *, as ListAccountsForParent)", Conditional: "with --org-accounts --ou"},
	{Action: "sts:AssumeRole", Commands: orgCommands, Scope: ScopeAccountRole, Why: "act in each selected account but the caller's own, as --account-role (session name circleci-ecr-oidc); the role needs there what the command needs", Conditional: "with --org-accounts, once per selected account"},
	{Action: "ecr:DeleteRepositoryPolicy", Commands: registryCommands, Scope: ScopeRegistryRepository, Write: true, Why: "delete a repository policy whose only statement was the role's (destroy with --registry-profile; ECR refuses a policy without statements)", Conditional: "only for the --registry-profile identity, when destroy removes the last statement"},
}

// OperatorScope narrows the resources of OperatorPolicy. Empty fields allow
// any value ("*"), except Partition ("aws") and RoleName ("circleci-ecr-*",
// which covers the default role name).
type OperatorScope struct {
	Partition string
	Account   string
	OrgID     string
	// RoleName is a role name or a pattern with "*".
	RoleName string
	// AccountRole is the role a multi-account run assumes in the
	// organization's accounts (--account-role); empty means
	// DefaultAccountRole. Its account is always "*".
	AccountRole string
}

// DefaultOperatorRoleName is the role name pattern OperatorPolicy allows
// when none is given: it covers DefaultRoleName and sibling roles.
const DefaultOperatorRoleName = "circleci-ecr-*"

// OperatorPolicy returns the IAM policy an identity needs to run the given
// commands (all of them when none is given), with every action but the few
// IAM only authorizes on "*" scoped to the organization's provider, the role
// name and the account's repositories. One statement per resource scope, in
// a stable order; a scope no action needs is left out.
func OperatorPolicy(scope OperatorScope, commands ...string) policy.Document {
	partition := cmp.Or(scope.Partition, "aws")
	account := cmp.Or(scope.Account, "*")
	org := cmp.Or(scope.OrgID, "*")
	resources := map[Scope]string{
		ScopeAny:        "*",
		ScopeRepository: fmt.Sprintf("arn:%s:ecr:*:%s:repository/*", partition, account),
		// With --command registry, --account-id is the registry account.
		ScopeRegistryRepository: fmt.Sprintf("arn:%s:ecr:*:%s:repository/*", partition, account),
		ScopeProvider:           policy.ProviderARN(partition, account, org),
		ScopeRole:               fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, cmp.Or(scope.RoleName, DefaultOperatorRoleName)),
		// The role's policies live under /circleci-ecr-oidc/<role>/, so the
		// role name (or pattern) scopes them too.
		ScopeManagedPolicy: fmt.Sprintf("arn:%s:iam::%s:policy%s*", partition, account, ManagedPolicyPath(cmp.Or(scope.RoleName, DefaultOperatorRoleName))),
		// The account role is assumed in every selected account.
		ScopeAccountRole: fmt.Sprintf("arn:%s:iam::*:role/%s", partition, cmp.Or(scope.AccountRole, DefaultAccountRole)),
	}
	sids := map[Scope]string{ScopeAny: "ReadAccount", ScopeRepository: "ReadRepositories", ScopeProvider: "OIDCProvider", ScopeRole: "Role", ScopeManagedPolicy: "RoleManagedPolicies", ScopeRegistryRepository: "RegistryRepositoryPolicies", ScopeAccountRole: "AssumeAccountRole"}
	doc := policy.Document{Version: policy.Version}
	for _, s := range []Scope{ScopeAny, ScopeRepository, ScopeProvider, ScopeRole, ScopeManagedPolicy, ScopeRegistryRepository, ScopeAccountRole} {
		var actions policy.Values
		for _, p := range Permissions {
			if p.Scope == s && (len(commands) == 0 || slices.ContainsFunc(commands, func(c string) bool { return slices.Contains(p.Commands, c) })) {
				actions = append(actions, p.Action)
			}
		}
		if len(actions) == 0 {
			continue
		}
		doc.Statement = append(doc.Statement, policy.Statement{
			Sid: sids[s], Effect: "Allow", Action: actions, Resource: policy.Values{resources[s]},
		})
	}
	return doc
}
