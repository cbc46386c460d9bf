package policy

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/iamref"
)

// TestStringLikeAgainstTheWrittenRules checks the evaluator's StringLike
// and StringNotLike, as the branch-pin guard uses them, against the
// reference on random patterns and values: the values of one key are
// OR-ed for StringLike and NOR-ed for StringNotLike ("a key's values are
// evaluated with a logical OR"; the negated operators "return true if the
// key matches none of the values").
func TestStringLikeAgainstTheWrittenRules(t *testing.T) {
	alphabet := []string{"a", "b", "A", "/", "*", "?", "é", "日", "vcs-ref", "/vcs-ref/", "\n", "."}
	piece := func(rng *rand.Rand, n int) string {
		var b strings.Builder
		for n = rng.IntN(n + 1); n > 0; n-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	rng := rand.New(rand.NewPCG(3, 5))
	key := evalProvider + ":sub"
	counts := map[bool]int{}
	for range 4000 {
		patterns := make(Values, 1+rng.IntN(3))
		for i := range patterns {
			patterns[i] = piece(rng, 5)
		}
		value := piece(rng, 6)
		if rng.IntN(3) == 0 { // a value built to match the first pattern
			value = strings.NewReplacer("*", piece(rng, 2), "?", "x").Replace(patterns[0])
		}
		if strings.Contains(strings.Join(patterns, ""), "${") {
			continue
		}
		want := false
		for _, p := range patterns {
			want = want || iamref.StringLike(p, value)
		}
		for _, op := range []string{"StringLike", "StringNotLike"} {
			doc := Document{Version: Version, Statement: []Statement{{
				Effect: "Allow", Principal: Principals{"Federated": {evalARN}}, Action: Values{ActionAssumeRoleWithWebIdentity},
				Condition: map[string]Conditions{op: {key: patterns}},
			}}}
			d := Evaluate(doc, Request{ProviderARN: evalARN, Keys: map[string][]string{key: {value}}})
			expect := want
			if op == "StringNotLike" {
				expect = !want
			}
			if d.Allowed != expect || d.Uncertain {
				t.Fatalf("%s %q against %q: allowed=%v uncertain=%v, the written rules say %v", op, patterns, value, d.Allowed, d.Uncertain, expect)
			}
		}
		counts[want]++
	}
	if counts[true] < 500 || counts[false] < 500 {
		t.Errorf("too few cases on one side: %v", counts)
	}
}
