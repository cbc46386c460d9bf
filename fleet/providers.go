package fleet

import (
	"context"
	"fmt"
	"io"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// ProviderAccounts reads in every target, at most parallel at once,
// whether the account has the organization's OIDC provider
// (provision.ObserveProvider): what the StackSet export needs for its
// per-account overrides. It returns which accounts have it, by account ID,
// and the summary rows (status "provider exists" or "no provider"). An
// account that could not be read is a failed row and missing from the map,
// and the error is then a *FailedError naming it. A target whose
// configuration has no region signs its calls for region.
func ProviderAccounts(ctx context.Context, targets []Target, parallel int, orgID, region string) (map[string]bool, []Row, error) {
	type read struct {
		account     string
		hasProvider bool
	}
	outcomes := Run(ctx, targets, parallel, func(ctx context.Context, t Target) (read, error) {
		t = t.withDefaultRegion(region)
		id, provider, err := provision.ObserveProvider(ctx, t.Clients(), t.Config.Region, orgID)
		return read{id.Account, provider != nil}, err
	})
	hasProvider := map[string]bool{}
	rows := make([]Row, 0, len(outcomes))
	var failed []string
	for _, o := range outcomes {
		r := newRow(o.Target, o.Err, o.Finished)
		if o.Err != nil {
			failed = append(failed, o.Target.Label())
			rows = append(rows, r)
			continue
		}
		r.Account = o.Value.account
		hasProvider[r.Account] = o.Value.hasProvider
		r.Status = map[bool]string{true: "provider exists", false: "no provider"}[hasProvider[r.Account]]
		rows = append(rows, r)
	}
	if len(failed) > 0 {
		return hasProvider, rows, &FailedError{Accounts: failed, Of: len(targets)}
	}
	return hasProvider, rows, nil
}

// ReadProviders is ProviderAccounts as a command runs it: it says on notes
// what it reads, then writes the summary there. The map is nil when no
// account could be read at all (the error says why); else a non-nil error
// names the accounts that could not be. An interruption ends the read.
func ReadProviders(ctx context.Context, targets []Target, parallel int, orgID, region string, notes io.Writer) (map[string]bool, error) {
	fmt.Fprintf(notes, "Reading whether %d account(s) have the organization's OIDC provider...\n", len(targets))
	hasProvider, rows, err := ProviderAccounts(ctx, targets, parallel, orgID, region)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("read the accounts: %w", ctx.Err())
	}
	if werr := WriteSummary(notes, rows); werr != nil {
		return nil, werr
	}
	if err != nil {
		err = fmt.Errorf("%w; the commands deploy their instances as if they had no provider", err)
	}
	return hasProvider, err
}
