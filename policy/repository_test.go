package policy

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

const roleARN = "arn:aws:iam::123456789012:role/circleci-ecr-pull"

// othersStatement is a statement someone else wrote, with its own spacing
// and key order, which a merge must keep byte for byte.
const othersStatement = `{ "Sid" : "AllowTeamPull", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
    "Effect":"Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"] }`

func TestRepositorySid(t *testing.T) {
	a := RepositorySid(roleARN)
	if !strings.HasPrefix(a, "CircleCIOIDCcirclecierpull"[:12]) || strings.ContainsAny(a, "-/:") {
		t.Errorf("Sid %q is not letters and digits starting with CircleCIOIDC", a)
	}
	for _, other := range []string{
		"arn:aws:iam::123456789012:role/circleciecrpull",   // same letters
		"arn:aws:iam::999999999999:role/circleci-ecr-pull", // other account
	} {
		if RepositorySid(other) == a {
			t.Errorf("RepositorySid(%s) = RepositorySid(%s) = %s", other, roleARN, a)
		}
	}
	if RepositorySid(roleARN) != a {
		t.Error("RepositorySid is not deterministic")
	}
}

func TestMergeStatementIntoNothing(t *testing.T) {
	st := RepositoryStatement(roleARN, AccessPull)
	merged, changed, err := MergeStatement("", st)
	if err != nil || !changed {
		t.Fatalf("merge into no policy: changed %v, err %v", changed, err)
	}
	doc, err := Parse(merged)
	if err != nil || len(doc.Statement) != 1 || doc.Statement[0].Principal["AWS"][0] != roleARN {
		t.Fatalf("merged %s (err %v)", merged, err)
	}
	want := "ecr:BatchCheckLayerAvailability,ecr:BatchGetImage,ecr:GetDownloadUrlForLayer"
	got := append([]string(nil), doc.Statement[0].Action...)
	if strings.Join(sortedUnique(got), ",") != want {
		t.Errorf("pull statement actions %v, want %s", got, want)
	}
	// A second merge of the same statement changes nothing.
	again, changed, err := MergeStatement(merged, st)
	if err != nil || changed || again != merged {
		t.Errorf("second merge: changed %v, err %v, %s", changed, err, again)
	}
}

func TestMergeStatementKeepsOthers(t *testing.T) {
	existing := `{"Version":"2008-10-17","Id":"shared-base","Statement":[` + othersStatement + `]}`
	st := RepositoryStatement(roleARN, AccessPull)
	merged, changed, err := MergeStatement(existing, st)
	if err != nil || !changed {
		t.Fatalf("changed %v, err %v", changed, err)
	}
	if !strings.Contains(merged, othersStatement) {
		t.Errorf("the other statement was not kept byte for byte:\n%s", merged)
	}
	if !strings.HasPrefix(merged, `{"Version":"2008-10-17","Id":"shared-base","Statement":[`) {
		t.Errorf("top-level members changed: %s", merged)
	}
	var check struct{ Statement []json.RawMessage }
	if err := json.Unmarshal([]byte(merged), &check); err != nil || len(check.Statement) != 2 {
		t.Fatalf("merged is not a two-statement policy: %v\n%s", err, merged)
	}
	ours, _ := marshal(st)
	if !Equal(`{"Statement":[`+string(check.Statement[1])+`]}`, `{"Statement":[`+string(ours)+`]}`) {
		t.Errorf("our statement = %s", check.Statement[1])
	}

	// Idempotent, also when the registry hands the document back
	// reformatted and URL-encoded.
	var pretty map[string]any
	_ = json.Unmarshal([]byte(merged), &pretty)
	reformatted, _ := json.MarshalIndent(pretty, "", "    ")
	for _, back := range []string{merged, string(reformatted), url.QueryEscape(merged)} {
		if _, changed, err := MergeStatement(back, st); err != nil || changed {
			t.Errorf("second merge of %q: changed %v, err %v", back[:40], changed, err)
		}
	}
}

func TestMergeStatementUpdatesDriftedStatement(t *testing.T) {
	pull := RepositoryStatement(roleARN, AccessPull)
	drifted := pull
	drifted.Action = Values{"ecr:*"}
	d, _ := marshal(drifted)
	existing := `{"Version":"2012-10-17","Statement":[` + othersStatement + `,` + string(d) + `]}`

	for _, access := range []Access{AccessPull, AccessPush} {
		st := RepositoryStatement(roleARN, access)
		merged, changed, err := MergeStatement(existing, st)
		if err != nil || !changed {
			t.Fatalf("%s: changed %v, err %v", access, changed, err)
		}
		if !strings.Contains(merged, othersStatement) || strings.Contains(merged, `"ecr:*"`) {
			t.Errorf("%s: merged %s", access, merged)
		}
		doc, err := Parse(merged)
		if err != nil || len(doc.Statement) != 2 {
			t.Fatalf("%s: merged has %d statements (err %v): %s", access, len(doc.Statement), err, merged)
		}
		if got := len(doc.Statement[1].Action); got != len(RepositoryActions(access)) {
			t.Errorf("%s: our statement has %d actions, want %d", access, got, len(RepositoryActions(access)))
		}
	}
}

func TestMergeStatementSingleStatementObject(t *testing.T) {
	existing := `{"Version":"2012-10-17","Statement":` + othersStatement + `}`
	merged, changed, err := MergeStatement(existing, RepositoryStatement(roleARN, AccessPush))
	if err != nil || !changed || !strings.Contains(merged, `"Statement":[`+othersStatement+`,{`) {
		t.Errorf("changed %v, err %v, merged %s", changed, err, merged)
	}
	if _, _, err := MergeStatement(`["not", "an", "object"]`, RepositoryStatement(roleARN, AccessPull)); err == nil {
		t.Error("merge into a JSON array succeeded")
	}
}

func TestRemoveStatement(t *testing.T) {
	sid := RepositorySid(roleARN)
	withOurs, _, err := MergeStatement(`{"Version":"2008-10-17","Id":"shared-base","Statement":[`+othersStatement+`]}`, RepositoryStatement(roleARN, AccessPull))
	if err != nil {
		t.Fatal(err)
	}
	onlyOurs, _, err := MergeStatement("", RepositoryStatement(roleARN, AccessPush))
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := marshal(RepositoryStatement(roleARN, AccessPull))
	tests := []struct {
		name          string
		existing      string
		want          string // "" means existing unchanged
		wantRemoved   bool
		wantRemaining int
	}{
		{name: "ours among others", existing: withOurs, want: `{"Version":"2008-10-17","Id":"shared-base","Statement":[` + othersStatement + `]}`, wantRemoved: true, wantRemaining: 1},
		{name: "ours alone", existing: onlyOurs, want: `{"Version":"2012-10-17","Statement":[]}`, wantRemoved: true},
		{name: "ours twice", existing: `{"Statement":[` + string(ours) + `,` + othersStatement + `,` + string(ours) + `]}`, want: `{"Statement":[` + othersStatement + `]}`, wantRemoved: true, wantRemaining: 1},
		{name: "a single statement object", existing: `{"Version":"2012-10-17","Statement":` + string(ours) + `}`, want: `{"Version":"2012-10-17","Statement":[]}`, wantRemoved: true},
		{name: "URL-encoded", existing: url.QueryEscape(withOurs), want: `{"Version":"2008-10-17","Id":"shared-base","Statement":[` + othersStatement + `]}`, wantRemoved: true, wantRemaining: 1},
		{name: "not there", existing: `{"Version":"2008-10-17","Statement":[` + othersStatement + `]}`, wantRemaining: 1},
		{name: "no policy", existing: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, removed, remaining, err := RemoveStatement(tt.existing, sid)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = tt.existing
			}
			if got != want || removed != tt.wantRemoved || remaining != tt.wantRemaining {
				t.Errorf("RemoveStatement = %s, %v, %d; want %s, %v, %d", got, removed, remaining, want, tt.wantRemoved, tt.wantRemaining)
			}
		})
	}
	if _, _, _, err := RemoveStatement(`{"Statement":[{"Sid":1}]}`, sid); err == nil {
		t.Error("a statement with a numeric Sid parsed")
	}
}

// TestMergeStatementKeepsTheOwnersCondition: a statement of ours that the
// registry's owner narrowed with a Condition is kept as the owner left it,
// not replaced on every run; any other difference is still corrected.
func TestMergeStatementKeepsTheOwnersCondition(t *testing.T) {
	pull := RepositoryStatement(roleARN, AccessPull)
	narrowedSt := pull
	narrowedSt.Condition = map[string]Conditions{"StringEquals": {"aws:PrincipalOrgID": {"o-abc123"}}}
	n, _ := marshal(narrowedSt)
	existing := `{"Version":"2012-10-17","Statement":[` + othersStatement + `,` + string(n) + `]}`
	merged, changed, err := MergeStatement(existing, pull)
	if err != nil || changed || merged != existing {
		t.Fatalf("narrowed statement: changed %v, err %v, merged %s", changed, err, merged)
	}
	if ok, err := Narrowed(existing, pull); !ok || err != nil {
		t.Errorf("Narrowed = %v, %v", ok, err)
	}
	// The same condition on a statement that also lost an action is drift.
	drifted := narrowedSt
	drifted.Action = Values{ActionBatchGetImage}
	d, _ := marshal(drifted)
	existing = `{"Version":"2012-10-17","Statement":[` + string(d) + `]}`
	if _, changed, err := MergeStatement(existing, pull); err != nil || !changed {
		t.Errorf("a narrowed statement with fewer actions: changed %v, err %v", changed, err)
	}
	if ok, _ := Narrowed(existing, pull); ok {
		t.Error("Narrowed is true for a statement that also lost an action")
	}
	// A switch to push access replaces the narrowed pull statement.
	if _, changed, _ := MergeStatement(`{"Version":"2012-10-17","Statement":[`+string(n)+`]}`, RepositoryStatement(roleARN, AccessPush)); !changed {
		t.Error("switching to push leaves the narrowed pull statement")
	}
}
