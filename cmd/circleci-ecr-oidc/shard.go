package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

func registerShard(fs *pflag.FlagSet, f *specFlags) {
	fs.BoolVar(&f.Shard, "shard", false, "spread the --project-id values over roles <role-name>-1..k, each trust policy within the account's quota")
	fs.BoolVar(&f.KeepUnusedRoles, "keep-unused-roles", false, "with --shard: keep a role <role-name>-N that no longer admits any requested project, with a trust policy that admits no one, instead of deleting it")
}

// planShards validates the flags and plans every role of a sharded setup.
func planShards(ctx context.Context, io IOStreams, f *specFlags) (*provision.ShardedPlan, provision.Clients, error) {
	spec, clients, err := prepareSpec(ctx, io.ErrOut, f)
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

// shardOp is a sharded setup: every role, and the removal of the roles no
// project needs any more.
type shardOp struct {
	opts    *setupOptions
	clients provision.Clients
	plan    *provision.ShardedPlan
	out     *provision.ShardedReport
}

func newShardOp(opts *setupOptions, sp *provision.ShardedPlan, clients provision.Clients) (*shardOp, error) {
	report, err := provision.NewShardedReport(sp)
	if err != nil {
		return nil, err
	}
	report.CircleCI = opts.Flags.Resolution()
	return &shardOp{opts: opts, clients: clients, plan: sp, out: report}, nil
}

func (o *shardOp) pending() int           { return len(o.out.Changes) }
func (o *shardOp) show(w io.Writer) error { return o.out.WriteText(w, o.plan) }

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
	o.record(res, err)
	if o.opts.planOnly {
		pending := o.opts.pendingStatus(o.plan.HasChanges())
		if o.opts.Flags.output == "json" {
			return writeJSONThen(o.opts.IO, o.out, pending)
		}
		return pending
	}
	if res != nil && err == nil {
		fmt.Fprintf(o.opts.IO.ErrOut, "Applied %d change(s) over %d role(s). The first job may need a retry while IAM propagates new roles (up to about a minute).\n", len(res.Applied), len(o.plan.Plans))
	}
	return finishSharded(o.opts, o.out, err)
}

// record notes the outcome in the report and returns it, as setupOp's
// record does.
func (o *shardOp) record(res *provision.Result, err error) any {
	if o.opts.planOnly {
		o.out.RecordPlan(o.plan)
	} else {
		o.out.Record(res, flagNamed(err))
	}
	return o.out
}

// finishSharded writes the JSON result, or in text the snippets, and
// returns err unchanged.
func finishSharded(opts *setupOptions, out *provision.ShardedReport, err error) error {
	if opts.Flags.output == "json" {
		if err != nil {
			out.Error = errorText(err)
		}
		return writeJSONThen(opts.IO, out, err)
	}
	if err == nil {
		out.WriteSnippets(opts.IO.Out)
	}
	return err
}
