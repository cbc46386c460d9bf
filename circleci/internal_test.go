package circleci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/circlecitest"
)

func TestListV2Pagination(t *testing.T) {
	const token = "CCIPAT_internal_test"
	s := circlecitest.Start(t, token)
	var items []any
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("ctx-%d", i)
		items = append(items, map[string]string{"id": id, "name": "n"})
		want = append(want, id)
	}
	s.SetV2List("/api/v2/context", items)
	s.SetPageSizes(3, 20)
	creds, err := NewCredentials(token, "CIRCLE_TOKEN", s.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := New(creds)
	type item struct {
		ID string `json:"id"`
	}
	got, err := listV2[item](context.Background(), c, "/api/v2/context", map[string][]string{"owner-id": {"o"}}, "contexts of", "o")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range got {
		ids = append(ids, g.ID)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("listV2 = %q, want %q", ids, want)
	}
	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("made %d requests, want 3 pages", len(reqs))
	}
	for i, r := range reqs {
		if r.Query.Get("owner-id") != "o" || r.Auth != "Circle-Token" || (i == 0) != (r.Query.Get("page-token") == "") {
			t.Errorf("request %d = %+v", i, r)
		}
	}

	// A 404 becomes a *NotFoundError naming what was listed.
	_, err = listV2[item](context.Background(), c, "/api/v2/nothing", nil, "contexts of", "o")
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Kind != "contexts of" {
		t.Errorf("error = %v, want *NotFoundError", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":            0,
		"3":           3 * time.Second,
		" 7 ":         7 * time.Second,
		"-1":          0,
		"99999999999": 24 * time.Hour,
		"soon":        0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	}
	for in, want := range tests {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	c := New(Credentials{}, WithRetryPolicy(RetryPolicy{MaxAttempts: 9, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxElapsed: time.Minute}))
	var got []time.Duration
	for a := 1; a <= 6; a++ {
		got = append(got, c.backoff(a))
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("backoff = %v, want %v", got, want)
	}
	if d := c.backoff(80); d != time.Second {
		t.Errorf("backoff(80) = %s, want the cap despite overflow", d)
	}
}
