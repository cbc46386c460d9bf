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
	"sort"
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
	// key is the access key that signed the request: with several
	// accounts behind the proxy it tells whose request it was.
	key string
	// sig is the request's Authorization header, whose SigV4 signature
	// makes it unique: the same request seen by two recorders has the same.
	sig string
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

// maxMotoConns bounds the connections to moto. moto_server (werkzeug)
// listens with a backlog of 128: a burst of more new connections than
// that, such as a multi-account run's reads of 20 accounts at once,
// overflows it, and the kernel drops the extra SYNs, which the client
// resends only after a second. AWS has no such limit, so the recorder in
// front of moto keeps fewer connections than that and reuses them; a
// request beyond them waits its turn inside the recorded call, as a queue
// wait (queueWaits).
const maxMotoConns = 96

// newRecorder starts a recorder forwarding to target over at most
// maxConns connections (0: no limit).
func newRecorder(tb testing.TB, target string, maxConns int) *recorder {
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
		Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, MaxConnsPerHost: maxConns, IdleConnTimeout: time.Minute},
	}
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, key, sig := operation(r), accessKey(r), r.Header.Get("Authorization")
		start := time.Now()
		rp.ServeHTTP(w, r)
		end := time.Now()
		rec.mu.Lock()
		rec.calls = append(rec.calls, call{op: op, start: start, end: end, key: key, sig: sig})
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

// accessKey is the access key in r's SigV4 Authorization header
// ("... Credential=KEY/date/region/service/aws4_request, ..."), or "".
func accessKey(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(cred, "/")
	return key
}

// queueWaits reconstructs, from the calls moto served (recorded between
// the latency proxy and moto), how long each waited for moto to finish
// others, by signature. moto serves one request at a time (one Python
// process), so in the order they end each call's own service time is from
// when it arrived or the previous one ended, whichever is later; the rest
// of its time at moto is waiting. IAM serves concurrent requests
// concurrently, so that wait is the emulator's, not the tool's.
func queueWaits(backend []call) map[string]time.Duration {
	sorted := slices.Clone(backend)
	slices.SortFunc(sorted, func(a, b call) int { return a.end.Compare(b.end) })
	waits := map[string]time.Duration{}
	var prevEnd time.Time
	for _, c := range sorted {
		began := c.start
		if prevEnd.After(began) {
			began = prevEnd
		}
		waits[c.sig] += began.Sub(c.start)
		prevEnd = c.end
	}
	return waits
}

// withoutQueue estimates a run's wall time had the server served every
// request as soon as it arrived: wall less the queue waits (queueWaits)
// of the calls on the run's critical path, the chain that ends with the
// last call to end and in which each call is the one that ended last
// before the next started, which the tool waited for. Latency, service
// time and the tool's own time stay.
func withoutQueue(wall time.Duration, front, backend []call) time.Duration {
	if len(front) == 0 {
		return wall
	}
	waits := queueWaits(backend)
	byEnd := slices.Clone(front)
	slices.SortFunc(byEnd, func(a, b call) int { return a.end.Compare(b.end) })
	i := len(byEnd) - 1
	for {
		c := byEnd[i]
		wall -= waits[c.sig]
		// The call that ended last at or before c started.
		j := sort.Search(i, func(k int) bool { return byEnd[k].end.After(c.start) }) - 1
		if j < 0 {
			return wall
		}
		i = j
	}
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

// TestWaves checks the round-trip derivation on hand-made timings; it and
// the other pure function tests take microseconds, so they are the only
// Tests here.
func TestWaves(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }
	calls := []call{
		{"GetCallerIdentity", at(0), at(100), "A", ""},
		{"GetRole", at(2), at(103), "A", ""},
		{"CreateRole", at(104), at(205), "A", ""},
		{"CreateOpenIDConnectProvider", at(101), at(201), "A", ""},
		{"PutRolePolicy", at(206), at(307), "A", ""},
	}
	ws := waves(calls)
	if got, want := describeWaves(ws), "GetCallerIdentity+GetRole → CreateOpenIDConnectProvider+CreateRole → PutRolePolicy"; got != want {
		t.Errorf("waves = %q, want %q", got, want)
	}
	if len(waves(nil)) != 0 {
		t.Error("no calls should give no waves")
	}
}

// TestWithoutQueue checks the queue reconstruction and the critical path
// on hand-made timings: three requests reach moto at once and take 10 ms
// each, one after the other; the tool waits for the last, then sends one
// more that waits for nothing. The last and the one before it on the
// path waited 20 ms in all.
func TestWithoutQueue(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }
	front := []call{
		{op: "A", start: at(0), end: at(110), sig: "a"},
		{op: "B", start: at(0), end: at(120), sig: "b"},
		{op: "C", start: at(0), end: at(130), sig: "c"},
		{op: "D", start: at(131), end: at(241), sig: "d"},
	}
	backend := []call{
		{start: at(100), end: at(110), sig: "a"},
		{start: at(100), end: at(120), sig: "b"},
		{start: at(100), end: at(130), sig: "c"},
		{start: at(231), end: at(241), sig: "d"},
	}
	waits := queueWaits(backend)
	for sig, want := range map[string]time.Duration{"a": 0, "b": 10 * time.Millisecond, "c": 20 * time.Millisecond, "d": 0} {
		if waits[sig] != want {
			t.Errorf("queue wait of %s = %s, want %s", sig, waits[sig], want)
		}
	}
	if got, want := withoutQueue(250*time.Millisecond, front, backend), 230*time.Millisecond; got != want {
		t.Errorf("withoutQueue = %s, want %s (D, then C, which waited 20 ms)", got, want)
	}
	if got := withoutQueue(time.Second, nil, nil); got != time.Second {
		t.Errorf("withoutQueue without calls = %s, want the wall time", got)
	}
}
