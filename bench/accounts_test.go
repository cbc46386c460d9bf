package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
)

// accountsCount is how many member accounts the multi-account case sets
// up; maxAccountsRatio is the most a run over all of them may take, as a
// multiple of the same run in one account (issue 14), once the time
// requests waited in moto's queue is left out of both (BenchmarkAccounts).
const (
	accountsCount    = 20
	maxAccountsRatio = 2.0
)

// freshOrg empties moto and creates, without latency, an organization
// managed by the dummy credentials' account with n member accounts, each
// holding the repository; the request log is cleared.
func (w *world) freshOrg(b *testing.B, n int) {
	b.Helper()
	w.moto.Reset(b)
	cfg := awstest.Config(context.Background(), b, w.moto.URL())
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("member-%02d", i+1)
	}
	org := awstest.CreateOrganization(b, cfg, names...)
	for _, m := range org.Members {
		member := awstest.AssumeRole(b, cfg, m.RoleARN())
		if _, err := ecr.NewFromConfig(member).CreateRepository(context.Background(), &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil {
			b.Fatalf("create repository %s in %s: %v", repo, m.Name, err)
		}
	}
	w.proxy.Reset()
	w.rec.take()
}

// accountShare is what a multi-account run asked of each account: the
// requests signed with each member account's credentials, and the round
// trips they formed among themselves. The management account's requests
// (the caller's identity, the account listing, one AssumeRole per member)
// are apart.
type accountShare struct {
	requests, rounds []int // one per member account
	// perAccount are one member account's round trips, described.
	perAccount string
	// management are the management account's requests.
	management []call
}

func shareOf(r run) accountShare {
	byKey := map[string][]call{}
	for _, c := range r.calls {
		byKey[c.key] = append(byKey[c.key], c)
	}
	var s accountShare
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range byKey {
			if !yield(k) {
				return
			}
		}
	}) {
		calls := byKey[key]
		if key == awstest.AccessKeyID {
			s.management = calls
			continue
		}
		ws := waves(calls)
		s.requests, s.rounds = append(s.requests, len(calls)), append(s.rounds, len(ws))
		if s.perAccount == "" {
			s.perAccount = describeWaves(ws)
		}
	}
	return s
}

// BenchmarkAccounts measures setup over 20 member accounts of an
// organization (--org-accounts, the management account left out) against
// setup in one account, cold and rerun, in the same run and behind the same
// latency; the two take turns. A run over 20 accounts reads and writes them
// concurrently, so it should cost a few round trips more than one account
// (listing the organization, assuming the role), not 20 times as many.
//
// moto serves one request at a time, about 2 to 4 ms each on the
// benchmark machines, where IAM serves concurrent requests concurrently:
// the 200 requests of a run over 20 accounts queue for about half a second
// at moto alone, which AWS would not make them wait. So besides the wall
// time the benchmark reports it less the queue waits on the run's critical
// path (withoutQueue: latency, moto's service time and the tool's own time
// stay), and fails when a ratio of those exceeds maxAccountsRatio.
func BenchmarkAccounts(b *testing.B) {
	n := iterations(b, "BENCH_ACCOUNTS_ITERATIONS", 3)
	w := newWorld(b)
	tool := toolBinary(b)
	one := append([]string{"setup", "--yes"}, toolArgs()...)
	many := append([]string{"setup", "--org-accounts", "--exclude-accounts", awstest.AccountID, "--yes"}, toolArgs()...)
	oneCold := &series{name: "one account, cold"}
	oneRerun := &series{name: "one account, rerun (no change)"}
	manyCold := &series{name: fmt.Sprintf("%d accounts (--org-accounts), cold", accountsCount)}
	manyRerun := &series{name: fmt.Sprintf("%d accounts (--org-accounts), rerun (no change)", accountsCount)}
	exec := func(args []string) func() (string, string, int, error) {
		return func() (string, string, int, error) { return execIn("", w.env, tool, args...) }
	}
	var notes []string
	steps := []func(){
		func() {
			w.fresh(b, repo)
			oneCold.runs = append(oneCold.runs, mustRun(b, w, "one account cold", exec(one)))
			oneRerun.runs = append(oneRerun.runs, mustRun(b, w, "one account rerun", exec(one)))
		},
		func() {
			w.freshOrg(b, accountsCount)
			c := mustRun(b, w, "accounts cold", exec(many))
			if got := len(shareOf(c).requests); got != accountsCount {
				b.Fatalf("the cold run acted in %d accounts, want %d\nstderr: %s", got, accountsCount, c.stderr)
			}
			r := mustRun(b, w, "accounts rerun", exec(many))
			if writes(r) != 0 {
				notes = append(notes, "the rerun over the accounts wrote: "+byOperation(r.writes))
			}
			manyCold.runs, manyRerun.runs = append(manyCold.runs, c), append(manyRerun.runs, r)
		},
	}
	b.ResetTimer()
	for i := range n {
		for k := range steps {
			steps[(i+k)%len(steps)]()
		}
		progress("accounts iteration %d/%d done: one account %s, %d accounts %s", i+1, n, lastWall(oneCold), accountsCount, lastWall(manyCold))
	}
	b.StopTimer()

	out := os.Stdout
	printAccountsTables(out, n, oneCold, oneRerun, manyCold, manyRerun)
	for _, note := range notes {
		fmt.Fprintln(out, "- Note:", note)
	}
	coldRatio := adjustedMedian(manyCold).Seconds() / adjustedMedian(oneCold).Seconds()
	rerunRatio := adjustedMedian(manyRerun).Seconds() / adjustedMedian(oneRerun).Seconds()
	b.ReportMetric(coldRatio, "cold-ratio")
	b.ReportMetric(rerunRatio, "rerun-ratio")
	b.ReportMetric(manyCold.median().Seconds()/oneCold.median().Seconds(), "cold-wall-ratio")
	b.ReportMetric(manyRerun.median().Seconds()/oneRerun.median().Seconds(), "rerun-wall-ratio")
	b.ReportMetric(manyCold.median().Seconds()*1000, "accounts-cold-ms")
	b.ReportMetric(manyRerun.median().Seconds()*1000, "accounts-rerun-ms")
	for _, r := range []struct {
		what  string
		ratio float64
	}{{"cold", coldRatio}, {"rerun", rerunRatio}} {
		if r.ratio > maxAccountsRatio {
			b.Errorf("setup over %d accounts, %s, took %.2f× the time of one account, moto's queue left out; the target is at most %.0f×", accountsCount, r.what, r.ratio, maxAccountsRatio)
		}
	}
	if len(notes) > 0 {
		b.Errorf("a rerun over the accounts wrote: %v", notes)
	}
}

// adjustedMedian is the median over s's runs of the wall time without the
// queue waits at moto on the critical path (run.unqueued).
func adjustedMedian(s *series) time.Duration {
	ds := make([]time.Duration, len(s.runs))
	for i, r := range s.runs {
		ds[i] = r.unqueued
	}
	return median(ds)
}

// printAccountsTables writes the multi-account case's tables as Markdown.
func printAccountsTables(w io.Writer, n int, oneCold, oneRerun, manyCold, manyRerun *series) {
	fmt.Fprintf(w, "\nMany accounts: setup in %d member accounts of an organization (--org-accounts, management account excluded) and in one account; %d iterations, alternating; %v added to every request. moto serves one request at a time where AWS serves them concurrently; \"without moto's queue\" is the wall time less what the requests on the critical path waited for moto to serve others.\n\n", accountsCount, n, latency)
	fmt.Fprintln(w, "| Run | Wall, median | Min–max | Without moto's queue, median | Requests | Sequential round trips | Requests per account | Round trips per account |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range []*series{oneCold, oneRerun, manyCold, manyRerun} {
		perRequests, perRounds := requests(s.runs), fmt.Sprint(rounds(s.runs))
		if s == manyCold || s == manyRerun {
			share := shareOf(s.runs[len(s.runs)-1])
			perRequests, perRounds = intRange(share.requests), intRange(share.rounds)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d | %s | %s |\n", s.name, secs(s.median()), spread(s.walls()), secs(adjustedMedian(s)),
			requests(s.runs), rounds(s.runs), perRequests, perRounds)
	}
	fmt.Fprintln(w, "\nPer account, the requests signed with that account's credentials (last iteration); the management account's are listed apart:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| Run | One member account's round trips | Management account's requests |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, s := range []*series{manyCold, manyRerun} {
		share := shareOf(s.runs[len(s.runs)-1])
		mgmt := map[string]int{}
		for _, c := range share.management {
			mgmt[c.op]++
		}
		fmt.Fprintf(w, "| %s | %s | %s in %d round trip(s) |\n", s.name, share.perAccount, byOperation(mgmt), len(waves(share.management)))
	}
	fmt.Fprintln(w, "\n| Ratio of medians | Wall | Without moto's queue | Target (issue 14), without moto's queue |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, r := range []struct {
		name      string
		many, one *series
	}{{fmt.Sprintf("%d accounts cold / one account cold", accountsCount), manyCold, oneCold}, {fmt.Sprintf("%d accounts rerun / one account rerun", accountsCount), manyRerun, oneRerun}} {
		fmt.Fprintf(w, "| %s | %.2f× | %.2f× | ≤ %.0f× |\n", r.name, r.many.median().Seconds()/r.one.median().Seconds(),
			adjustedMedian(r.many).Seconds()/adjustedMedian(r.one).Seconds(), maxAccountsRatio)
	}
	fmt.Fprintln(w)
}

// intRange renders the values as one number when they are all equal, else
// as the median and the range.
func intRange(xs []int) string {
	if len(xs) == 0 {
		return "–"
	}
	lo, hi := slices.Min(xs), slices.Max(xs)
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d (%d–%d)", medianInt(xs), lo, hi)
}
