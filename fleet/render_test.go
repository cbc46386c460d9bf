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

// TestWriteSummary renders rows of every kind: with and without changes,
// a status given by the front end and none, failed on a multi-line error,
// a profile that did not load (no account known), interrupted, and never
// started.
func TestWriteSummary(t *testing.T) {
	interrupted := fmt.Errorf("stop before all changes were applied: %w", context.Canceled)
	rows := []Row{
		{Account: "111111111111", Name: "production", Changes: 3, Warnings: 1, Status: "applied 3 change(s)", Finished: true},
		{Account: "222222222222", Name: "management", Changes: 0, Warnings: 0, Finished: true},
		{Account: "333333333333", Name: "sandbox", Changes: -1, Warnings: -1, Err: errors.New("role circleci-ecr-pull exists and was not created by circleci-ecr-oidc:\nits trust policy admits others"), Finished: true},
		{Name: "broken", Changes: -1, Warnings: -1, Err: errors.New("load profile broken: failed to get shared config profile, broken"), Finished: true},
		{Account: "444444444444", Name: "dev", Changes: 2, Warnings: 0, Finished: true},
		{Account: "555555555555", Name: "staging", Changes: 4, Warnings: 0, Err: interrupted},
		{Account: "666666666666", Name: "a-much-longer-account-name", Changes: -1, Warnings: -1, Err: fmt.Errorf("%w: %w", ErrNotStarted, context.Canceled)},
	}
	var b bytes.Buffer
	if err := WriteSummary(&b, rows); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "summary.txt"), b.Bytes())
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

// resultPlan is an account's plan whose outcome is a result, as a
// command's single-account operation gives it: what was applied, and the
// error.
type resultPlan struct {
	*fakePlan
	region, roleARN, snippet string
}

func (p resultPlan) Outcome(res *provision.Result, err error) any {
	r := &result{Account: p.account, Region: p.region, RoleARN: p.roleARN, Changes: []provision.Change{}, Applied: res != nil && err == nil, Snippet: p.snippet}
	if res != nil {
		r.Changes = res.Applied
	}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// TestEntryJSON writes the report of a run as a front end does (indented,
// HTML left alone) and compares it with the golden file: each account's
// identity and error first, then its single-account object's members in
// their order.
func TestEntryJSON(t *testing.T) {
	ctx := t.Context()
	plans := map[string]AccountPlan{
		"production": resultPlan{fakePlan: &fakePlan{account: "111111111111", changes: 1}, region: "us-east-1",
			roleARN: "arn:aws:iam::111111111111:role/circleci-ecr-pull", snippet: "steps:\n  - aws-ecr/ecr_login: # <role> & region\n"},
		"dev": resultPlan{fakePlan: &fakePlan{account: "444444444444", changes: 2, fail: errors.New("create role: AccessDenied")}, region: "eu-west-1"},
	}
	targets := []Target{
		{AccountID: "111111111111", Name: "production", AssumedRole: "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"},
		// A profile's account comes from the result.
		{Name: "dev", Profile: "dev"},
		// No result: the profile did not load.
		{Name: "broken", Profile: "broken", Err: errors.New("load profile broken: failed to get shared config profile, broken")},
	}
	op := PlanEvery(ctx, targets, 1, func(_ context.Context, t Target) (AccountPlan, error) { return plans[t.Name], nil })
	if _, err := op.Execute(ctx, func(provision.Event) {}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(op.Report(nil)); err != nil {
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
