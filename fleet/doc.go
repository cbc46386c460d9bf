// Package fleet runs the single-account engine (package provision) in many
// AWS accounts: the accounts of shared-config profiles (--profiles), or the
// active accounts of an AWS Organization or of some of its organizational
// units (--org-accounts, --ou), reached by assuming a role in each.
//
// The pieces, in the order a front end uses them:
//
//   - [Selection] holds the multi-account flags; [Selection.Validate]
//     checks them before any AWS call and reports a bad one as a
//     *provision.InputError naming the field.
//   - [Targets] turns a selection into the accounts to act in, each with
//     an aws.Config whose credentials are its profile's or an AssumeRole
//     provider's. A profile that fails to load is that target's failure,
//     not the whole run's.
//   - [Run] calls a function (observe and plan, or apply) for every target,
//     at most Selection.Parallel at once. One account failing never stops
//     the others; the outcomes come back in the targets' order.
//   - [WriteSummary] prints the table of accounts, changes, warnings and
//     status; [Entry] is one account's object in the JSON output.
//   - [Scope] is where a command runs, one account or a selection's;
//     [Scope.Plan] reads and plans there with a command's single-account
//     plan function, so that a command has one path for both.
//   - [Selection.Find] checks a selection and finds its targets as a
//     command does, loading each profile with package awsconfig.
//   - [PlanEvery] (or [ReadAndPlan], as a command runs it) makes the
//     [Operation] a command runs over all the accounts: each account's
//     single-account operation (an [AccountPlan], which is a
//     provision.Operation), planned concurrently, shown as one review,
//     applied concurrently ([Operation.Execute]) and reported as one
//     summary and one JSON [Report]. A refusal, a failed plan or a failed
//     apply is its account's failure. The Operation is itself a
//     provision.Operation: the front end runs it as it runs one account's,
//     with one question for every account.
//   - [ProviderAccounts] reads only whether each account has the
//     organization's OIDC provider, for the StackSet export.
//
// Nothing here prompts or prints progress: those belong to the front end,
// which passes a progress function and decides where each text goes.
package fleet
