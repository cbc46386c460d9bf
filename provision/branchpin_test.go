package provision

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/iamref"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/token"
)

// pinUser is the user segment of the tokens below; users are UUIDs.
const pinUser = "5f1e2d3c-4b5a-4697-8877-665544332211"

// pinToken is what a CircleCI V2 (or, without origin and ref, V1) token
// carries for the trust policy: sub and the project-id claim.
type pinToken struct {
	project, origin, ref string
	v1                   bool
}

func (tk pinToken) sub() string {
	s := token.Subject{OrgID: testOrg, ProjectID: tk.project, UserID: pinUser}
	if !tk.v1 {
		s.VCSOrigin, s.VCSRef = tk.origin, tk.ref
	}
	return s.String()
}

func (tk pinToken) keys() map[string][]string {
	return token.RequestKeys(token.Claims{
		Audience: []string{testOrg}, Subject: tk.sub(),
		CircleCI: token.CircleCIClaims{ProjectID: tk.project},
	}, policy.ProviderPath(testOrg))
}

// refMatches is the reference meaning of a pin: the whole ref matches it
// as IAM documents StringLike's wildcards (iamref, written apart from the
// evaluator).
func refMatches(pin, ref string) bool { return iamref.StringLike(pin, ref) }

// occurrences counts where sep starts in s, overlapping ones included.
func occurrences(s, sep string) int {
	n := 0
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			n++
		}
	}
	return n
}

// wantAdmitted is the property: a token is admitted if and only if its
// project is allowed, it is a V2 token, its ref matches a pin as a whole,
// and its sub has exactly one /vcs-origin/ and one /vcs-ref/ segment (the
// guard's price: refs and origins that contain such a segment are never
// admitted, since the pin could not be told to stand at the real ref).
func wantAdmitted(tk pinToken, pins []string, projectAllowed bool) bool {
	if !projectAllowed || tk.v1 {
		return false
	}
	sub := tk.sub()
	if occurrences(sub, "/vcs-ref/") != 1 || occurrences(sub, "/vcs-origin/") != 1 {
		return false
	}
	for _, p := range pins {
		if refMatches(p, tk.ref) {
			return true
		}
	}
	return false
}

// refAlphabet is what random refs are made of: the characters git allows
// and the ones it does not, the wildcards, the segment names the guard
// looks for, and non-ASCII.
var refAlphabet = []string{
	"a", "b", "z", "0", "9", "-", "_", ".", "/", "/", "*", "?", "é", "日", "🙂", "ß",
	"vcs-ref", "vcs-origin", "/vcs-ref/", "/vcs-origin/", "refs/heads/", "main", "$", "{", "}", "@",
}

func randomPiece(rng *rand.Rand, maxLen int) string {
	var b strings.Builder
	for n := rng.IntN(maxLen + 1); n > 0; n-- {
		b.WriteString(refAlphabet[rng.IntN(len(refAlphabet))])
	}
	return b.String()
}

// randomPin returns a pin --branch accepts: a ref of a few components,
// with some characters turned into wildcards.
func randomPin(rng *rand.Rand) string {
	for {
		parts := []string{"refs", []string{"heads", "tags", "pull"}[rng.IntN(3)]}
		for n := 1 + rng.IntN(3); n > 0; n-- {
			parts = append(parts, randomPiece(rng, 4))
		}
		pin := strings.Join(parts, "/")
		if rng.IntN(4) == 0 {
			pin = strings.TrimSuffix(pin, parts[len(parts)-1]) + "*"
		}
		if ValidateBranch(FieldBranch, pin) == nil {
			return pin
		}
	}
}

// instantiate fills a pin's wildcards with random text, so the ref matches
// the pin; the filling may hold "/" and the guarded segments.
func instantiate(rng *rand.Rand, pin string) string {
	var b strings.Builder
	for _, r := range pin {
		switch r {
		case '*':
			b.WriteString(randomPiece(rng, 3))
		case '?':
			s := randomPiece(rng, 1)
			if s == "" {
				s = "x"
			}
			r, _ := utf8.DecodeRuneInString(s)
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// randomToken draws a token that aims at the pins in one of several ways.
func randomToken(rng *rand.Rand, pins []string) (pinToken, string) {
	tk := pinToken{project: testProject, origin: "github.com/acme/app"}
	if rng.IntN(5) == 0 {
		tk.project = otherProj
	}
	pin := pins[rng.IntN(len(pins))]
	kind := rng.IntN(9)
	switch kind {
	case 0: // the pinned ref, wildcards filled
		tk.ref = instantiate(rng, pin)
	case 1: // the attack: a branch whose name ends with the pinned ref
		tk.ref = "refs/heads/" + randomPiece(rng, 3) + "/vcs-ref/" + instantiate(rng, pin)
	case 2: // the same through vcs-origin
		tk.ref = "refs/heads/x/vcs-origin/github.com/acme/app/vcs-ref/" + instantiate(rng, pin)
	case 3: // an origin (a GitLab subgroup) that carries a vcs-ref segment
		tk.origin = "gitlab.com/acme/vcs-ref/" + instantiate(rng, pin)
		tk.ref = "refs/heads/" + randomPiece(rng, 3)
	case 4: // the pinned ref with more after it
		tk.ref = instantiate(rng, pin) + randomPiece(rng, 3)
	case 5: // a random ref
		tk.ref = "refs/heads/" + randomPiece(rng, 8)
	case 6: // a long ref, up to 250 characters
		tk.ref = "refs/heads/" + strings.Repeat("a/", rng.IntN(100)) + instantiate(rng, pin)
		if utf8.RuneCountInString(tk.ref) > 250 {
			tk.ref = string([]rune(tk.ref)[:250])
		}
	case 7: // a V1 token: no ref at all
		tk.v1 = true
	case 8: // the pinned ref overlapping the real segment: .../vcs-ref/vcs-ref/...
		tk.ref = "vcs-ref/" + instantiate(rng, pin)
	}
	return tk, fmt.Sprint(kind)
}

func TestBranchPinAdmitsExactlyPinnedRefs(t *testing.T) {
	type form struct {
		name  string
		trust func(pins []string) policy.Trust
	}
	forms := []form{
		{"claim", func(pins []string) policy.Trust {
			return policy.Trust{Partition: "aws", Account: "123456789012", OrgID: testOrg, ProjectIDs: []string{testProject}, Condition: policy.ClaimKey, Branches: pins}
		}},
		{"sub", func(pins []string) policy.Trust {
			return policy.Trust{Partition: "aws", Account: "123456789012", OrgID: testOrg, ProjectIDs: []string{testProject}, Condition: policy.Sub, Branches: pins}
		}},
		{"all-projects", func(pins []string) policy.Trust {
			return policy.Trust{Partition: "aws", Account: "123456789012", OrgID: testOrg, AllProjects: true, Branches: pins}
		}},
	}
	const rounds, tokensPerRound = 150, 60
	admitted, denied := map[string]int{}, map[string]int{}
	for round := range rounds {
		rng := rand.New(rand.NewPCG(uint64(round), 0x5eed))
		pins := make([]string, 1+rng.IntN(3))
		for i := range pins {
			pins[i] = randomPin(rng)
		}
		for _, f := range forms {
			doc, err := policy.TrustPolicy(f.trust(pins))
			if err != nil {
				t.Fatal(err)
			}
			provider := policy.ProviderARN("aws", "123456789012", testOrg)
			for range tokensPerRound {
				tk, kind := randomToken(rng, pins)
				allowed := f.name == "all-projects" || tk.project == testProject
				want := wantAdmitted(tk, pins, allowed)
				d := policy.Evaluate(doc, policy.Request{ProviderARN: provider, Keys: tk.keys()})
				if d.Uncertain {
					t.Fatalf("round %d %s: uncertain verdict for sub %q", round, f.name, tk.sub())
				}
				if d.Allowed != want {
					t.Fatalf("round %d %s, pins %q, token kind %s: sub %q admitted=%v, want %v\nreasons: %q",
						round, f.name, pins, kind, tk.sub(), d.Allowed, want, d.Reasons)
				}
				if want {
					admitted[kind]++
				} else {
					denied[kind]++
				}
			}
		}
	}
	t.Logf("admitted by kind %v, denied by kind %v", admitted, denied)
	// The property must have been tried both ways where it matters: the
	// pinned refs admitted, the attacks denied.
	if admitted["0"] == 0 || denied["1"] == 0 || denied["2"] == 0 || denied["3"] == 0 || denied["7"] == 0 || denied["8"] == 0 {
		t.Errorf("the generator missed a case: admitted %v, denied %v", admitted, denied)
	}
	if admitted["1"] != 0 || admitted["2"] != 0 || admitted["3"] != 0 || admitted["8"] != 0 {
		t.Errorf("an imitating token was admitted: %v", admitted)
	}
}

// TestBranchPinGuardStopsTheImitatingBranch is the reported attack: a
// branch named evil/vcs-ref/refs/heads/main against --branch
// refs/heads/main, in every form. Without the guard the same policy admits
// it, which is what makes the token an attack.
func TestBranchPinGuardStopsTheImitatingBranch(t *testing.T) {
	evil := pinToken{project: testProject, origin: "github.com/acme/app", ref: "refs/heads/evil/vcs-ref/refs/heads/main"}
	main := pinToken{project: testProject, origin: "github.com/acme/app", ref: "refs/heads/main"}
	provider := policy.ProviderARN("aws", "123456789012", testOrg)
	for _, cond := range []policy.ProjectCondition{policy.ClaimKey, policy.Sub} {
		doc, err := policy.TrustPolicy(policy.Trust{Partition: "aws", Account: "123456789012", OrgID: testOrg,
			ProjectIDs: []string{testProject}, Condition: cond, Branches: []string{"refs/heads/main"}})
		if err != nil {
			t.Fatal(err)
		}
		if d := policy.Evaluate(doc, policy.Request{ProviderARN: provider, Keys: main.keys()}); !d.Allowed {
			t.Errorf("%s: refs/heads/main denied: %q", cond, d.Reasons)
		}
		d := policy.Evaluate(doc, policy.Request{ProviderARN: provider, Keys: evil.keys()})
		if d.Allowed || d.Failed == nil || d.Failed.Operator != "StringNotLike" || !policy.IsBranchPinGuard(d.Failed.Patterns) {
			t.Errorf("%s: imitating branch: allowed=%v, failed %+v", cond, d.Allowed, d.Failed)
		}
		unguarded := doc
		unguarded.Statement = append([]policy.Statement(nil), doc.Statement...)
		unguarded.Statement[0].Condition = map[string]policy.Conditions{}
		for op, c := range doc.Statement[0].Condition {
			if op != "StringNotLike" {
				unguarded.Statement[0].Condition[op] = c
			}
		}
		if d := policy.Evaluate(unguarded, policy.Request{ProviderARN: provider, Keys: evil.keys()}); !d.Allowed {
			t.Errorf("%s: without the guard the imitating branch should be admitted (else this test proves nothing): %q", cond, d.Reasons)
		}
	}
}

func TestValidateBranchRules(t *testing.T) {
	accept := []string{
		"refs/heads/main", "refs/tags/v1.2.3", "refs/heads/release-*", "refs/tags/v?.*", "refs/*",
		"refs/heads/feature/ünïcödé", "refs/heads/日本", "refs/heads/a.b", "refs/heads/a@b", "refs/heads/$x",
		"refs/heads/vcs-ref", "refs/heads/x.lockx", "refs/pull/12/head", "refs/heads/" + strings.Repeat("a", 240),
	}
	for _, ref := range accept {
		if err := ValidateBranch(FieldBranch, ref); err != nil {
			t.Errorf("%q rejected: %v", ref, err)
		}
	}
	reject := map[string]string{
		"main":                               "starting with refs/",
		"heads/main":                         "starting with refs/",
		"refs/heads/a..b":                    `".."`,
		"refs/heads/a@{1}":                   `"@{"`,
		"refs/heads/a.lock":                  ".lock",
		"refs/heads/.hidden":                 `start with "."`,
		"refs/heads/a/.b":                    `start with "."`,
		"refs/heads/a.":                      `ending in "."`,
		"refs/heads/a//b":                    "empty components",
		"refs/heads/":                        "empty components",
		"refs/heads/a b":                     "spaces",
		"refs/heads/a~1":                     "~",
		"refs/heads/a^":                      "~",
		"refs/heads/a:b":                     "~",
		"refs/heads/a[b]":                    "~",
		"refs/heads/a\\b":                    "~",
		"refs/heads/a\tb":                    "control characters",
		"refs/heads/a\nb":                    "control characters",
		"refs/heads/a\x7fb":                  "control characters",
		"refs/heads/\xff":                    "UTF-8",
		"refs/heads/${aws-userid}":           "policy variable",
		"refs/heads/${*}":                    "policy variable",
		"refs/heads/x/vcs-ref/y":             "/vcs-ref/",
		"refs/heads/x/vcs-origin/y":          "/vcs-origin/",
		"refs/heads/evil/vcs-ref/refs/heads": "/vcs-ref/",
	}
	for ref, rule := range reject {
		err := ValidateBranch(FieldBranch, ref)
		if err == nil {
			t.Errorf("%q accepted", ref)
			continue
		}
		if msg := flagText(err); !strings.Contains(msg, rule) || !strings.Contains(msg, "--branch") || strings.Contains(msg, "\n") {
			t.Errorf("%q: error %q does not name --branch and %q on one line", ref, err, rule)
		}
	}
}

// TestValidateBranchAgreesWithGit checks ValidateBranch against git itself
// (`git check-ref-format`) on refs without wildcards: what git accepts,
// --branch accepts, and the reverse, but for the rules this tool adds
// (refs/ first, valid UTF-8, no ${, no guarded segment).
func TestValidateBranchAgreesWithGit(t *testing.T) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("git is required in CI: %v", err)
		}
		t.Skip("git not installed")
	}
	rng := rand.New(rand.NewPCG(7, 11))
	alphabet := []string{"a", "b", "0", "-", "_", ".", "/", "@", "{", "}", "~", "^", ":", "[", "\\", " ", "\t", "\x7f", "é", "日", ".lock", "..", "$", "vcs-ref"}
	seen := map[bool]int{}
	for range 400 {
		var b strings.Builder
		b.WriteString("refs/")
		for n := 1 + rng.IntN(6); n > 0; n-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		ref := b.String()
		if strings.Contains(ref, "${") || strings.Contains(ref, "/vcs-ref/") {
			continue
		}
		gitOK := exec.Command(gitPath, "check-ref-format", ref).Run() == nil
		ours := ValidateBranch(FieldBranch, ref) == nil
		if gitOK != ours {
			t.Errorf("%q: git check-ref-format accepts=%v, --branch accepts=%v", ref, gitOK, ours)
		}
		seen[gitOK]++
	}
	if seen[true] < 20 || seen[false] < 20 {
		t.Errorf("too few cases on one side: %v", seen)
	}
	t.Logf("git accepted %d refs and rejected %d; --branch agreed on each", seen[true], seen[false])
}

// FuzzValidateBranch: every pin --branch accepts builds a trust policy that
// admits a V2 token on exactly that ref (wildcards taken literally, which
// they match) and denies the branch that imitates it.
func FuzzValidateBranch(f *testing.F) {
	for _, s := range []string{"refs/heads/main", "refs/tags/v*", "refs/heads/evil/vcs-ref/refs/heads/main", "refs/heads/${aws:username}",
		"refs/heads/a..b", "refs/heads/日本", "refs/heads/a.lock", "refs/heads/vcs-ref", "refs/heads/x/vcs-origin/y", "refs/*", "main"} {
		f.Add(s)
	}
	provider := policy.ProviderARN("aws", "123456789012", testOrg)
	f.Fuzz(func(t *testing.T, pin string) {
		if err := ValidateBranch(FieldBranch, pin); err != nil {
			inputError(t, err, "--branch")
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q spans lines", err)
			}
			return
		}
		if !utf8.ValidString(pin) || !strings.HasPrefix(pin, "refs/") || strings.Contains(pin, "${") {
			t.Fatalf("accepted %q", pin)
		}
		doc, err := policy.TrustPolicy(policy.Trust{Partition: "aws", Account: "123456789012", OrgID: testOrg,
			ProjectIDs: []string{testProject}, Condition: policy.Sub, Branches: []string{pin}})
		if err != nil {
			t.Fatal(err)
		}
		exact := pinToken{project: testProject, origin: "github.com/acme/app", ref: pin}
		if d := policy.Evaluate(doc, policy.Request{ProviderARN: provider, Keys: exact.keys()}); !d.Allowed {
			t.Fatalf("pin %q denies its own ref: %q", pin, d.Reasons)
		}
		evil := pinToken{project: testProject, origin: "github.com/acme/app", ref: "refs/heads/evil/vcs-ref/" + pin}
		if d := policy.Evaluate(doc, policy.Request{ProviderARN: provider, Keys: evil.keys()}); d.Allowed {
			t.Fatalf("pin %q admits the imitating ref %q", pin, evil.ref)
		}
	})
}
