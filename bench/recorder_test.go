package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// call is one request seen by the recorder: its operation and when it
// entered and left the recorder, so the response time includes the latency
// the awstest proxy behind it adds.
type call struct {
	op         string
	start, end time.Time
}

// recorder is a timestamping reverse proxy placed in front of the awstest
// proxy. awstest.Proxy counts operations but keeps no timings, and the
// sequential round trips of a run can only be derived from when each
// request started and ended.
type recorder struct {
	srv *httptest.Server

	mu    sync.Mutex
	calls []call
}

func newRecorder(tb testing.TB, target string) *recorder {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatalf("recorder target %q: %v", target, err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) },
		// The default transport keeps only two idle connections per host;
		// the large case and Terraform run more requests concurrently, and
		// reconnecting for each would add local noise to the timings.
		Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute},
	}
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := operation(r)
		start := time.Now()
		rp.ServeHTTP(w, r)
		end := time.Now()
		rec.mu.Lock()
		rec.calls = append(rec.calls, call{op: op, start: start, end: end})
		rec.mu.Unlock()
	}))
	tb.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) URL() string { return r.srv.URL }

// take returns the calls recorded since the last take and forgets them.
func (r *recorder) take() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// operation names the AWS operation of r: the X-Amz-Target suffix for the
// JSON protocol (ECR), the Action form field for the query protocol (IAM,
// STS). The body is read and put back for forwarding.
func operation(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t[strings.LastIndexByte(t, '.')+1:]
	}
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close() // the server owns the body; closing only frees it early
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return "?"
	}
	if v, err := url.ParseQuery(string(body)); err == nil && v.Get("Action") != "" {
		return v.Get("Action")
	}
	return "?"
}

// waves assigns every call to a sequential round trip: a call is in wave
// 1 + the highest wave of the calls that had ended before it started. The
// number of waves is the length of the longest chain of requests of which
// each waited for the previous one, which is what latency multiplies;
// requests in the same wave overlapped in time.
func waves(calls []call) [][]call {
	sorted := slices.Clone(calls)
	slices.SortFunc(sorted, func(a, b call) int { return a.start.Compare(b.start) })
	depth := make([]int, len(sorted))
	var out [][]call
	for i, c := range sorted {
		d := 1
		for j := range i {
			if !sorted[j].end.After(c.start) {
				d = max(d, depth[j]+1)
			}
		}
		depth[i] = d
		for len(out) < d {
			out = append(out, nil)
		}
		out[d-1] = append(out[d-1], c)
	}
	return out
}

// describeWaves renders waves compactly, e.g.
// "GetCallerIdentity+GetRole → CreateOpenIDConnectProvider+CreateRole → PutRolePolicy"
// (no "|", which would split a Markdown table cell).
func describeWaves(ws [][]call) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		n := map[string]int{}
		var order []string
		for _, c := range w {
			if n[c.op] == 0 {
				order = append(order, c.op)
			}
			n[c.op]++
		}
		slices.Sort(order)
		names := make([]string, len(order))
		for k, op := range order {
			names[k] = op
			if n[op] > 1 {
				names[k] = fmt.Sprintf("%s×%d", op, n[op])
			}
		}
		parts[i] = strings.Join(names, "+")
	}
	return strings.Join(parts, " → ")
}

// TestWaves checks the round-trip derivation on hand-made timings; it is a
// pure function test and takes microseconds, so it is the only Test here.
func TestWaves(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }
	calls := []call{
		{"GetCallerIdentity", at(0), at(100)},
		{"GetRole", at(2), at(103)},
		{"CreateRole", at(104), at(205)},
		{"CreateOpenIDConnectProvider", at(101), at(201)},
		{"PutRolePolicy", at(206), at(307)},
	}
	ws := waves(calls)
	if got, want := describeWaves(ws), "GetCallerIdentity+GetRole → CreateOpenIDConnectProvider+CreateRole → PutRolePolicy"; got != want {
		t.Errorf("waves = %q, want %q", got, want)
	}
	if len(waves(nil)) != 0 {
		t.Error("no calls should give no waves")
	}
}
