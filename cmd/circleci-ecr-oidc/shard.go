package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

func registerShard(fs *pflag.FlagSet, f *specFlags) {
	fs.BoolVar(&f.shard, "shard", false, "spread the --project-id values over roles <role-name>-1..k, each trust policy within the account's quota")
}

// shardedResult is the JSON output of a sharded setup or plan. The
// top-level role_arn and snippet are the first role's, so that scripts
// written for one role keep working; shards lists every role.
type shardedResult struct {
	Account     string             `json:"account"`
	Partition   string             `json:"partition"`
	Region      string             `json:"region"`
	CallerARN   string             `json:"caller_arn"`
	ProviderARN string             `json:"provider_arn"`
	RoleARN     string             `json:"role_arn"`
	Changes     []provision.Change `json:"changes"`
	NotApplied  []provision.Change `json:"not_applied"`
	Applied     bool               `json:"applied"`
	Snippet     string             `json:"snippet"`
	Shards      []shardResult      `json:"shards"`
	UnusedRoles []string           `json:"unused_roles"`
	Removals    []shardRemoval     `json:"removals"`
	Warnings    []string           `json:"warnings"`
	Error       string             `json:"error,omitempty"`
}

// shardRemoval is a shard role of ours that admits no requested project any
// more, and what its removal deletes and keeps.
type shardRemoval struct {
	RoleName string             `json:"role_name"`
	RoleARN  string             `json:"role_arn"`
	Deletes  []provision.Change `json:"deletes"`
	Keeps    []provision.Kept   `json:"keeps"`
}

// shardResult is one role of a sharded setup and the projects it admits.
type shardResult struct {
	RoleName         string             `json:"role_name"`
	RoleARN          string             `json:"role_arn"`
	Projects         []string           `json:"projects"`
	Changes          []provision.Change `json:"changes"`
	TrustPolicySize  int                `json:"trust_policy_size"`
	TrustPolicyQuota int                `json:"trust_policy_quota"`
	Snippet          string             `json:"snippet"`
}

func newShardedResult(sp *provision.ShardedPlan) (*shardedResult, error) {
	first := sp.Plans[0]
	out := &shardedResult{
		Account: first.Account, Partition: first.Partition, Region: first.Region, CallerARN: first.CallerARN,
		ProviderARN: first.ProviderARN, RoleARN: first.RoleARN,
		Changes: []provision.Change{}, NotApplied: []provision.Change{}, UnusedRoles: []string{}, Removals: []shardRemoval{}, Warnings: []string{},
	}
	seen := map[string]bool{}
	for _, p := range sp.Plans {
		snippet, err := renderSnippet(p)
		if err != nil {
			return nil, err
		}
		if out.Snippet == "" {
			out.Snippet = snippet
		}
		out.Changes = append(out.Changes, p.Changes...)
		out.NotApplied = append(out.NotApplied, p.Changes...)
		for _, w := range p.Warnings {
			if !seen[w] {
				seen[w] = true
				out.Warnings = append(out.Warnings, w)
			}
		}
		out.Shards = append(out.Shards, shardResult{
			RoleName: p.RoleName, RoleARN: p.RoleARN, Projects: p.Spec.ProjectIDs, Changes: p.Changes,
			TrustPolicySize: p.TrustPolicySize, TrustPolicyQuota: p.TrustPolicyQuota, Snippet: snippet,
		})
	}
	for _, r := range sp.Removals {
		out.UnusedRoles = append(out.UnusedRoles, r.RoleName)
		out.Removals = append(out.Removals, shardRemoval{RoleName: r.RoleName, RoleARN: r.RoleARN, Deletes: r.Deletes, Keeps: r.Keeps})
		out.Changes = append(out.Changes, r.Deletes...)
		out.NotApplied = append(out.NotApplied, r.Deletes...)
	}
	return out, nil
}

// planShards validates the flags and plans every role of a sharded setup.
func planShards(ctx context.Context, io IOStreams, f *specFlags) (*provision.ShardedPlan, provision.Clients, error) {
	spec, clients, err := prepareSpec(ctx, f)
	if err != nil {
		return nil, clients, err
	}
	fmt.Fprintf(io.ErrOut, "Reading account state (region %s, roles %s-N)...\n", spec.Region, spec.RoleName)
	sp, err := provision.PlanShards(ctx, clients, spec)
	if err != nil {
		var input *provision.InputError
		if errors.As(err, &input) {
			return nil, clients, err
		}
		return nil, clients, planHint(awsHint(err))
	}
	return sp, clients, nil
}

// writeShardedText prints, for each role, the projects it admits and its
// plan, then the roles it deletes and the warnings once.
func writeShardedText(w io.Writer, sp *provision.ShardedPlan, out *shardedResult) error {
	for i, p := range sp.Plans {
		fmt.Fprintf(w, "== Role %d of %d: %s admits %d project(s): %s\n", i+1, len(sp.Plans), p.RoleName, len(p.Spec.ProjectIDs), strings.Join(p.Spec.ProjectIDs, ", "))
		q := *p
		q.Warnings = nil // printed once below
		if err := q.WriteText(w, p.HasChanges()); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	for _, r := range sp.Removals {
		fmt.Fprintf(w, "== Role %s admits no requested project any more: it is deleted, so that it stops admitting the projects removed from --project-id\n", r.RoleName)
		if err := writeDestroyItems(w, r); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	for _, warning := range out.Warnings {
		fmt.Fprintf(w, "Warning: %s\n", warning)
	}
	return nil
}

// writeShardedSnippets prints each role's snippet; every project's jobs use
// the snippet of the role that admits it.
func writeShardedSnippets(io IOStreams, out *shardedResult) {
	for _, s := range out.Shards {
		fmt.Fprintf(io.Out, "\n# Jobs of projects %s:\n%s", strings.Join(s.Projects, ", "), s.Snippet)
	}
}

func runShardedPlan(ctx context.Context, opts *planOptions) error {
	sp, _, err := planShards(ctx, opts.IO, &opts.Flags)
	if err != nil {
		return err
	}
	out, err := newShardedResult(sp)
	if err != nil {
		return err
	}
	out.Applied = !sp.HasChanges()
	var pending error
	if opts.DetailedExitcode && sp.HasChanges() {
		pending = &silentError{code: exitUsage}
	}
	if opts.Flags.output == "json" {
		return writeJSONThen(opts.IO, out, pending)
	}
	if err := writeShardedText(opts.IO.Out, sp, out); err != nil {
		return err
	}
	return pending
}

// shardOp is a sharded setup: every role, and the removal of the roles no
// project needs any more.
type shardOp struct {
	opts    *setupOptions
	clients provision.Clients
	plan    *provision.ShardedPlan
	out     *shardedResult
}

func newShardOp(opts *setupOptions, sp *provision.ShardedPlan, clients provision.Clients) (*shardOp, error) {
	out, err := newShardedResult(sp)
	if err != nil {
		return nil, err
	}
	return &shardOp{opts: opts, clients: clients, plan: sp, out: out}, nil
}

func (o *shardOp) pending() int           { return len(o.out.Changes) }
func (o *shardOp) show(w io.Writer) error { return writeShardedText(w, o.plan, o.out) }

func (o *shardOp) refusal() error { return o.plan.CheckManagedBy() }

func (o *shardOp) ask() prompt {
	n := len(o.out.Changes)
	return prompt{
		question: fmt.Sprintf("Apply these %d change(s) over %d role(s) to account %s?", n, len(o.plan.Plans), o.out.Account),
		yes:      "Yes, apply", declined: "Nothing was changed.",
		noTerminal: fmt.Errorf("refuse to apply %d change(s) without confirmation: no terminal to ask on; rerun with --yes to apply", n),
	}
}

// execute applies one graph: every role's changes, then the removals; only
// the first plan creates or extends the provider.
func (o *shardOp) execute(ctx context.Context, progress func(provision.Event)) (provision.Result, error) {
	return provision.ApplyShards(ctx, o.clients, o.plan, provision.Options{Progress: progress})
}

func (o *shardOp) finish(_ context.Context, res *provision.Result, err error) error {
	if res != nil {
		o.out.NotApplied = res.NotApplied
	}
	if err == nil {
		o.out.Applied = true
		o.out.NotApplied = []provision.Change{}
	}
	if res != nil && err == nil {
		fmt.Fprintf(o.opts.IO.ErrOut, "Applied %d change(s) over %d role(s). The first job may need a retry while IAM propagates new roles (up to about a minute).\n", len(res.Applied), len(o.plan.Plans))
	}
	return finishSharded(o.opts, o.out, err)
}

// finishSharded writes the JSON result, or in text the snippets, and
// returns err unchanged.
func finishSharded(opts *setupOptions, out *shardedResult, err error) error {
	if opts.Flags.output == "json" {
		if err != nil {
			out.Error = err.Error()
		}
		return writeJSONThen(opts.IO, out, err)
	}
	if err == nil {
		writeShardedSnippets(opts.IO, out)
	}
	return err
}
