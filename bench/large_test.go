package bench

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
)

// The large case: an organisation with many projects pulling from many
// repositories, the scale at which hand-written trust policies hit IAM's
// quotas.
const (
	largeProjects = 200
	largeRepos    = 1000
	// largePrefix holds every large-case repository, so a name-prefix grant
	// can cover all of them when exact ARNs do not fit.
	largePrefix = "fleet"
)

// fitRE matches the tool's trust-policy quota error, which says how many of
// the requested projects fit.
var fitRE = regexp.MustCompile(`(\d+) of the (\d+) projects fit`)

// largeInputs are the flags the large case ends up measuring, and how the
// benchmark arrived at them.
type largeInputs struct {
	projects []string
	repoArg  string
	shard    bool
	notes    []string
	// shardHint is set when a refusal offered --shard, i.e. the tool can
	// spread the projects over several roles.
	shardHint bool
}

// args are the tool's flags for in. --image is given because a prefix
// grant names no single repository for the snippet to pull.
func (in largeInputs) args() []string {
	image := fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s/svc-0001:latest", awstest.AccountID, awstest.Region, largePrefix)
	args := []string{"--org-id", org, "--repo", in.repoArg, "--project-id", strings.Join(in.projects, ","), "--image", image}
	if in.shard {
		args = append(args, "--shard")
	}
	return args
}

// describe names the request for the report.
func (in largeInputs) describe(repos int) string {
	what := fmt.Sprintf("%d repositories by name", repos)
	if in.repoArg == largePrefix+"/*" {
		what = fmt.Sprintf("the %d repositories as %s/*", repos, largePrefix)
	}
	role := "one role"
	if in.shard {
		role = "--shard"
	}
	return fmt.Sprintf("%d projects × %s, %s", len(in.projects), what, role)
}

// largeProjectIDs returns n fixed, valid, distinct version-4 UUIDs.
func largeProjectIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", 0x5eed0000+i, i, i%0x1000, (i*7)%0x1000, 0xca11ab1e0000+i)
	}
	return ids
}

func largeRepoNames() []string {
	names := make([]string, largeRepos)
	for i := range names {
		names[i] = fmt.Sprintf("%s/svc-%04d", largePrefix, i+1)
	}
	return names
}

// fitLarge asks the tool (plan, read-only) for 200 projects × 1,000 named
// repositories, in one role or with --shard, and narrows the request the way
// its errors advise until it fits: the trust-policy error says how many
// projects fit in one role (moto enforces no quota, so the tool's own guard
// against the documented 2,048-character default is what applies), and the
// permissions error (when the exact ARNs do not fit even in managed
// policies) advises name prefixes. Each step is recorded for
// the report.
func fitLarge(b *testing.B, w *world, tool string, repos []string, shard bool) largeInputs {
	b.Helper()
	in := largeInputs{projects: largeProjectIDs(largeProjects), repoArg: strings.Join(repos, ","), shard: shard}
	for range 5 {
		_, errOut, code, err := execIn("", w.env, tool, append([]string{"plan"}, in.args()...)...)
		if err != nil {
			b.Fatal(err)
		}
		if code == 0 {
			in.notes = append(in.notes, in.describe(len(repos))+": accepted; measured.")
			return in
		}
		msg := errorLine(errOut)
		in.shardHint = in.shardHint || strings.Contains(msg, "--shard")
		if m := fitRE.FindStringSubmatch(msg); m != nil && !shard {
			k, _ := strconv.Atoi(m[1])
			if k < 1 || k >= len(in.projects) {
				b.Fatalf("the tool says %d of %d projects fit: %s", k, len(in.projects), msg)
			}
			in.notes = append(in.notes, fmt.Sprintf("%s: refused, %q; retried with the first %d projects.", in.describe(len(repos)), msg, k))
			in.projects = in.projects[:k]
			continue
		}
		if (strings.Contains(msg, "permissions policy") || strings.Contains(msg, "repositories: only")) && in.repoArg != largePrefix+"/*" {
			in.notes = append(in.notes, fmt.Sprintf("%s: refused, %q; retried granting %s/*, which covers the same %d repositories.", in.describe(len(repos)), msg, largePrefix, len(repos)))
			in.repoArg = largePrefix + "/*"
			continue
		}
		b.Fatalf("%s: the tool refused: %s", in.describe(len(repos)), msg)
	}
	b.Fatalf("no large request the tool accepts; last try: %s", in.describe(len(repos)))
	return in
}

// BenchmarkLarge runs the tool end to end, cold and rerun, for the largest
// request of up to 200 projects × 1,000 repositories that the tool accepts in
// one role and, if the tool offers --shard, for all 200 projects spread over
// several roles. The repositories are created in moto before timing, without
// latency.
func BenchmarkLarge(b *testing.B) {
	n := iterations(b, "BENCH_LARGE_ITERATIONS", 3)
	w := newWorld(b)
	tool := toolBinary(b)
	repos := largeRepoNames()
	w.fresh(b, repos...)
	variants := []largeInputs{fitLarge(b, w, tool, repos, false)}
	if variants[0].shardHint {
		variants = append(variants, fitLarge(b, w, tool, repos, true))
	} else {
		variants[0].notes = append(variants[0].notes, "the tool offers no --shard, so one role is all there is to measure.")
	}

	var all []*series
	for _, in := range variants {
		name := in.describe(len(repos))
		all = append(all, &series{name: name + ": setup, cold"}, &series{name: name + ": setup, rerun (no change)"})
	}
	var notes []string
	for i := range n {
		for k, in := range variants {
			if i > 0 || k > 0 { // the first run uses the account fitLarge only read
				w.fresh(b, repos...)
			}
			args := append(append([]string{"setup"}, in.args()...), "--yes")
			c := mustRun(b, w, "large cold", func() (string, string, int, error) { return execIn("", w.env, tool, args...) })
			r := mustRun(b, w, "large rerun", func() (string, string, int, error) { return execIn("", w.env, tool, args...) })
			if writes(r) != 0 {
				notes = append(notes, in.describe(len(repos))+": the rerun wrote: "+byOperation(r.writes))
			}
			all[2*k].runs, all[2*k+1].runs = append(all[2*k].runs, c), append(all[2*k+1].runs, r)
		}
		progress("large case iteration %d/%d done", i+1, n)
	}

	out := os.Stdout
	printPeerTables(out, fmt.Sprintf("Large case: %d projects × %d repositories requested; %d iterations; %v added to every request.",
		largeProjects, largeRepos, n, latency), all)
	fmt.Fprintln(out)
	for _, in := range variants {
		for _, note := range in.notes {
			fmt.Fprintln(out, "- Note:", note)
		}
	}
	for _, note := range notes {
		fmt.Fprintln(out, "- Note:", note)
	}
	b.ReportMetric(float64(len(variants[0].projects)), "projects-one-role")
	b.ReportMetric(all[0].median().Seconds()*1000, "cold-ms")
	b.ReportMetric(all[1].median().Seconds()*1000, "rerun-ms")
	if len(variants) > 1 {
		b.ReportMetric(all[2].median().Seconds()*1000, "sharded-cold-ms")
		b.ReportMetric(all[3].median().Seconds()*1000, "sharded-rerun-ms")
	}
}
