package policy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func repoARNs(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "arn:aws:ecr:us-east-1:123456789012:repository/" + n
	}
	return out
}

func TestPackPermissionsTable(t *testing.T) {
	defaults := PackLimits{Inline: 10240, Managed: 6144, ManagedCount: 10}
	tokenOnly, err := permissionsDocument(AccessPull, "", nil, true).Size()
	if err != nil {
		t.Fatal(err)
	}
	many := func(n int) []string {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("team/service-%04d", i)
		}
		return repoARNs(names...)
	}
	tests := []struct {
		name        string
		arns        []string
		limits      PackLimits
		wantManaged int
		wantErr     string
	}{
		{name: "two repositories stay inline", arns: repoARNs("app", "web"), limits: defaults},
		{name: "duplicates count once", arns: repoARNs("app", "app", "web"), limits: defaults},
		{name: "150 still fit inline", arns: many(150), limits: defaults},
		{name: "300 need one managed policy", arns: many(300), limits: defaults, wantManaged: 2},
		{name: "1000 need several", arns: many(1000), limits: defaults, wantManaged: 10},
		{name: "no managed room", arns: many(300), limits: PackLimits{Inline: 10240, Managed: 6144}, wantErr: "of 300 repository ARNs fit"},
		{name: "beyond 10 managed policies", arns: many(1200), limits: defaults, wantErr: "of 1200 repository ARNs fit"},
		{name: "20 managed policies hold 1200", arns: many(1200), limits: PackLimits{Inline: 10240, Managed: 6144, ManagedCount: 20}, wantManaged: 12},
		{name: "inline too small for the token grant", arns: repoARNs("app"), limits: PackLimits{Inline: tokenOnly - 1, Managed: 6144, ManagedCount: 10}, wantErr: "0 of 1"},
		{name: "inline holds only the token grant", arns: repoARNs("app"), limits: PackLimits{Inline: tokenOnly + 40, Managed: 6144, ManagedCount: 1}, wantManaged: 1},
		{name: "wildcard refused", arns: []string{"*"}, limits: defaults, wantErr: "not a repository ARN"},
		{name: "none", arns: nil, limits: defaults, wantErr: "no repositories"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PackPermissions(AccessPull, tt.arns, tt.limits)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("PackPermissions error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Managed) != tt.wantManaged {
				t.Errorf("%d managed policies, want %d", len(got.Managed), tt.wantManaged)
			}
			checkPacking(t, got, tt.arns, tt.limits, AccessPull)
		})
	}
}

// checkPacking asserts the packing's invariants: each document is within
// its limit, the groups together are exactly the distinct ARNs, each
// document grants its group with the level's actions and nothing else, the
// token grant is in the inline policy only, and every document but the
// last is full (one more ARN would not fit).
func checkPacking(t *testing.T, got Packed, arns []string, lim PackLimits, access Access) {
	t.Helper()
	want := sortedUnique(arns)
	if len(got.Groups) != 1+len(got.Managed) {
		t.Fatalf("%d groups for %d managed policies", len(got.Groups), len(got.Managed))
	}
	if len(got.Managed) > lim.ManagedCount {
		t.Fatalf("%d managed policies, over the limit of %d", len(got.Managed), lim.ManagedCount)
	}
	var all []string
	for i, g := range got.Groups {
		all = append(all, g...)
		doc, limit := got.Inline, lim.Inline
		if i > 0 {
			doc, limit = got.Managed[i-1], lim.Managed
			if len(g) == 0 {
				t.Fatalf("managed policy %d is empty", i)
			}
		}
		size, err := doc.Size()
		if err != nil {
			t.Fatal(err)
		}
		if size > limit {
			t.Fatalf("document %d is %d characters, over its limit of %d", i, size, limit)
		}
		var granted []string
		tokens := 0
		for _, st := range doc.Statement {
			if st.Effect != "Allow" {
				t.Fatalf("document %d has a %s statement", i, st.Effect)
			}
			if slices.Equal(st.Action, Values{ActionGetAuthorizationToken}) {
				tokens++
				if !slices.Equal(st.Resource, Values{"*"}) {
					t.Fatalf("token grant on %v", st.Resource)
				}
				continue
			}
			if !slices.Equal(st.Action, RoleActions(access)) {
				t.Fatalf("document %d grants %v, want %v", i, st.Action, RoleActions(access))
			}
			granted = append(granted, st.Resource...)
		}
		if wantTokens := map[bool]int{true: 1, false: 0}[i == 0]; tokens != wantTokens {
			t.Fatalf("document %d has %d token grants, want %d", i, tokens, wantTokens)
		}
		if !slices.Equal(granted, g) {
			t.Fatalf("document %d grants %d ARNs, its group has %d", i, len(granted), len(g))
		}
		// Greedy fill: a document followed by another could not take the
		// next ARN.
		if i < len(got.Groups)-1 {
			next := got.Groups[i+1][0]
			bigger := permissionsDocument(access, doc.Statement[0].Sid, append(slices.Clone(g), next), i == 0)
			if n, _ := bigger.Size(); n <= limit {
				t.Fatalf("document %d (%d ARNs) could also hold %s: %d <= %d", i, len(g), next, n, limit)
			}
		}
	}
	if !slices.Equal(all, want) {
		t.Fatalf("the documents grant %d ARNs, want exactly the %d distinct ones requested", len(all), len(want))
	}
}

// TestPackPermissionsProperty packs random sets of up to 2,000 ARNs of
// random lengths under random limits. A packing that succeeds must satisfy
// checkPacking; one that fails must say exactly how many fit: the first Fit
// sorted ARNs pack, Fit+1 do not.
func TestPackPermissionsProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 144))
	packed, refused := 0, 0
	for round := range 60 {
		n := 1 + rng.IntN(2000)
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("%s/%s-%d", strings.Repeat("t", 1+rng.IntN(12)), strings.Repeat("s", 1+rng.IntN(40)), rng.IntN(100000))
		}
		arns := repoARNs(names...)
		if rng.IntN(4) == 0 {
			arns[0] = "arn:aws-us-gov:ecr:us-gov-west-1:210987654321:repository/" + strings.Repeat("x", 1+rng.IntN(200)) + "/*"
		}
		lim := PackLimits{Inline: 10240, Managed: 6144, ManagedCount: []int{0, 1, 10, 20, 25}[rng.IntN(5)]}
		access := []Access{AccessPull, AccessPush}[rng.IntN(2)]
		got, err := PackPermissions(access, arns, lim)
		var perr *PackError
		switch {
		case err == nil:
			packed++
			checkPacking(t, got, arns, lim, access)
		case errors.As(err, &perr):
			refused++
			sorted := sortedUnique(arns)
			if perr.Total != len(sorted) || perr.Fit >= perr.Total {
				t.Fatalf("round %d: PackError %+v for %d distinct ARNs", round, perr, len(sorted))
			}
			if _, err := PackPermissions(access, sorted[:perr.Fit+1], lim); err == nil {
				t.Fatalf("round %d: %d ARNs pack, but the error said only %d fit", round, perr.Fit+1, perr.Fit)
			}
			if perr.Fit > 0 {
				sub, err := PackPermissions(access, sorted[:perr.Fit], lim)
				if err != nil {
					t.Fatalf("round %d: the %d ARNs the error said fit do not pack: %v", round, perr.Fit, err)
				}
				checkPacking(t, sub, sorted[:perr.Fit], lim, access)
			}
		default:
			t.Fatalf("round %d: %v", round, err)
		}
	}
	if packed == 0 || refused == 0 {
		t.Fatalf("the rounds should both pack and refuse: %d packed, %d refused", packed, refused)
	}
	t.Logf("%d packed, %d refused", packed, refused)
}
