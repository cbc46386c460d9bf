package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/golden"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

func planWith(account string, changes, warnings int) *provision.Plan {
	p := &provision.Plan{Account: account, Changes: []provision.Change{}, Warnings: []string{}}
	for i := range changes {
		p.Changes = append(p.Changes, provision.Change{Action: provision.ActionCreate, Resource: provision.ResourceRole, Name: fmt.Sprint("role-", i)})
	}
	for i := range warnings {
		p.Warnings = append(p.Warnings, fmt.Sprint("warning ", i))
	}
	return p
}

// summaryOutcomes are the outcomes of a run over every kind of target and
// ending: planned with and without changes, failed on a multi-line error,
// a profile that did not load, a profile whose account only the plan
// knows, interrupted, and never started.
func summaryOutcomes() []Outcome[*provision.Plan] {
	interrupted := fmt.Errorf("stop before all changes were applied: %w", context.Canceled)
	return []Outcome[*provision.Plan]{
		{Target: Target{AccountID: "111111111111", Name: "production", AssumedRole: "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"}, Value: planWith("111111111111", 3, 1), Finished: true},
		{Target: Target{AccountID: "222222222222", Name: "management", Caller: true}, Value: planWith("222222222222", 0, 0), Finished: true},
		{Target: Target{AccountID: "333333333333", Name: "sandbox"}, Err: errors.New("role circleci-ecr-pull exists and was not created by circleci-ecr-oidc:\nits trust policy admits others"), Finished: true},
		{Target: Target{Name: "broken", Profile: "broken", Err: errors.New("x")}, Err: errors.New("load profile broken: failed to get shared config profile, broken"), Finished: true},
		{Target: Target{Name: "dev", Profile: "dev"}, Value: planWith("444444444444", 2, 0), Finished: true},
		{Target: Target{AccountID: "555555555555", Name: "staging"}, Value: planWith("555555555555", 4, 0), Err: interrupted},
		{Target: Target{AccountID: "666666666666", Name: "a-much-longer-account-name"}, Err: fmt.Errorf("%w: %w", ErrNotStarted, context.Canceled)},
	}
}

func TestWriteSummary(t *testing.T) {
	rows := RowsOf(summaryOutcomes(), func(p *provision.Plan) *provision.Plan { return p })
	// After applying, a front end names what happened.
	rows[0].Status = "applied 3 change(s)"
	var b bytes.Buffer
	if err := WriteSummary(&b, rows); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "summary.txt"), b.Bytes())
}

func TestRowsOf(t *testing.T) {
	rows := RowsOf(summaryOutcomes(), func(p *provision.Plan) *provision.Plan { return p })
	for i, want := range []Row{
		{Account: "111111111111", Name: "production", Changes: 3, Warnings: 1, Finished: true},
		{Account: "222222222222", Name: "management", Changes: 0, Warnings: 0, Finished: true},
		{Account: "333333333333", Name: "sandbox", Changes: -1, Warnings: -1, Finished: true},
		{Account: "", Name: "broken", Changes: -1, Warnings: -1, Finished: true},
		{Account: "444444444444", Name: "dev", Changes: 2, Warnings: 0, Finished: true},
		{Account: "555555555555", Name: "staging", Changes: 4, Warnings: 0},
		{Account: "666666666666", Name: "a-much-longer-account-name", Changes: -1, Warnings: -1},
	} {
		got := rows[i]
		got.Err = nil
		if got != want {
			t.Errorf("row %d = %+v, want %+v", i, got, want)
		}
	}
}

// result stands for a command's single-account JSON object (a plan and
// what happened), with a few of its members in their order.
type result struct {
	Account string             `json:"account"`
	Region  string             `json:"region"`
	RoleARN string             `json:"role_arn"`
	Changes []provision.Change `json:"changes"`
	Applied bool               `json:"applied"`
	Snippet string             `json:"snippet"`
	Error   string             `json:"error,omitempty"`
}

// TestEntryJSON writes the entries of a run as a front end does (indented,
// HTML left alone) and compares them with the golden file: identity first,
// then the single-account object's members in their order.
func TestEntryJSON(t *testing.T) {
	outcomes := summaryOutcomes()
	snippet := "steps:\n  - aws-ecr/ecr_login: # <role> & region\n"
	entries := []Entry{
		NewEntry(outcomes[0], &result{
			Account: "111111111111", Region: "us-east-1", RoleARN: "arn:aws:iam::111111111111:role/circleci-ecr-pull",
			Changes: planWith("111111111111", 1, 0).Changes, Applied: true, Snippet: snippet,
		}),
		// A profile's account comes from the result.
		NewEntry(outcomes[4], &result{Account: "444444444444", Region: "eu-west-1", Changes: []provision.Change{}, Error: "create role: AccessDenied"}),
		// No result: the profile did not load.
		NewEntry(outcomes[3], nil),
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string][]Entry{"accounts": entries}); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "entries.json"), b.Bytes())
}

// TestEntryMerge checks the merge rules one by one: set fields replace the
// result's, unset ones let the result's through, "account" is always there.
func TestEntryMerge(t *testing.T) {
	type inner struct {
		Account string `json:"account,omitempty"`
		Error   string `json:"error,omitempty"`
		Name    string `json:"name,omitempty"`
		Other   int    `json:"other"`
	}
	for _, c := range []struct {
		name  string
		entry Entry
		want  string
	}{
		{"set fields win", Entry{Account: "111111111111", Name: "prod", Error: "boom", Result: inner{Account: "999999999999", Error: "inner", Name: "x", Other: 1}},
			`{"account":"111111111111","name":"prod","error":"boom","other":1}`},
		{"unset fields let the result's through", Entry{Profile: "dev", Result: inner{Account: "999999999999", Error: "inner", Other: 2}},
			`{"account":"999999999999","profile":"dev","error":"inner","other":2}`},
		{"account always there", Entry{AssumedRole: "arn:aws:iam::1:role/r", Result: inner{Other: 3}},
			`{"account":"","assumed_role":"arn:aws:iam::1:role/r","other":3}`},
		{"no result", Entry{Account: "111111111111", Error: "load profile p: gone"}, `{"account":"111111111111","error":"load profile p: gone"}`},
		{"nil pointer result", Entry{Account: "111111111111", Result: (*result)(nil)}, `{"account":"111111111111"}`},
		{"HTML left alone", Entry{Error: "<a & b>", Result: map[string]string{"snippet": "<x>"}}, `{"account":"","error":"<a & b>","snippet":"<x>"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := json.Marshal(c.entry)
			if err != nil {
				t.Fatal(err)
			}
			// json.Marshal escapes HTML in what a Marshaler returns.
			want := strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`).Replace(c.want)
			if string(got) != want {
				t.Errorf("JSON = %s\nwant   %s", got, want)
			}
		})
	}
	for _, bad := range []any{[]string{"a"}, "text", 42} {
		if _, err := json.Marshal(Entry{Account: "111111111111", Result: bad}); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
			t.Errorf("Entry with result %v: error %v, want one saying it is not an object", bad, err)
		}
	}
}
