package circleci

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

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
