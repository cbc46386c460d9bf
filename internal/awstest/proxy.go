package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net"
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

// Fault kinds, the keys of Proxy.Faults and the values of Request.Fault.
const (
	FaultThrottle    = "throttle"     // ThrottleEvery
	FaultServerError = "server-error" // ServerErrorEvery
	FaultReset       = "reset"        // ResetEvery
	FaultOperation   = "operation"    // FailOperation
)

// UnknownOperation is the operation recorded for requests that are neither
// AWS query protocol nor JSON 1.1 requests.
const UnknownOperation = "Unknown"

// Services as recorded in Request.Service: the signing name of the SigV4
// credential scope.
const (
	ServiceIAM = "iam"
	ServiceSTS = "sts"
	ServiceECR = "ecr"
)

const (
	ecrTargetPrefix = "AmazonEC2ContainerRegistry_V20150921"
	amzJSON11       = "application/x-amz-json-1.1"
)

// Request is one request (attempt) received by a Proxy.
type Request struct {
	Seq       int    // 1-based arrival order since the proxy started or was Reset
	Service   string // "iam", "sts", "ecr", or "" if unknown
	Operation string // e.g. "CreateRole", or UnknownOperation
	Fault     string // fault kind injected instead of forwarding, or ""
	// AccessKeyID is the access key that signed the request, or "". With
	// several accounts behind one proxy it tells whose request it was:
	// moto maps every key to one account.
	AccessKeyID string
}

// Proxy is an HTTP reverse proxy between the AWS SDK and moto that records
// every request by operation and can inject faults. Point the code under
// test at URL() instead of at moto. All methods are safe for concurrent use
// and fault rules can be changed at any time, also while requests are in
// flight.
//
// For every request the proxy, in this order:
//
//  1. identifies service and operation, assigns the next sequence number,
//     records the request (Counts, Writes, Requests) and decides its fault;
//  2. sleeps for the Latency, if any;
//  3. holds the request if its operation has a HoldOperation rule;
//  4. injects the decided fault, or forwards the request to moto unchanged.
//
// Latency and holds end early when the client goes away (request context
// cancelled); the request is then not forwarded.
//
// Fault precedence. The "every nth" rules (ResetEvery, ServerErrorEvery,
// ThrottleEvery) share one counter, the request sequence number Seq, which
// counts every request since the proxy started or was Reset, faulted ones
// included. When several of them match the same request the most severe
// wins: reset, then server error, then throttle. Only if none matches is a
// pending FailOperation for the request's operation consumed. Call Reset
// before configuring rules if a test relies on their phase.
type Proxy struct {
	srv  *httptest.Server
	rp   *httputil.ReverseProxy
	done chan struct{} // closed at cleanup, ends all sleeps

	mu       sync.Mutex
	inflight int
	seq      int
	requests []Request
	counts   map[string]int
	writes   map[string]int
	faults   map[string]int

	throttleEvery     int
	serverErrorEvery  int
	serverErrorStatus int
	resetEvery        int
	latency           time.Duration
	failOps           map[failRule]*opFailure
	holds             map[string]*hold
}

// failRule is what a FailOperation rule matches: an operation, and the
// access key of the requests, or any key.
type failRule struct {
	op, accessKeyID string
}

// opFailure is a FailOperation rule.
type opFailure struct {
	remaining int
	status    int
	code      string
	message   string
}

// hold is a HoldOperation rule.
type hold struct {
	d        time.Duration
	started  chan struct{} // closed when the first request starts being held
	fired    bool
	released chan struct{} // closed when the rule is replaced or removed
}

// decision is what the proxy decided to do with one request.
type decision struct {
	req     Request
	proto   protocol
	latency time.Duration
	hold    *hold
	status  int    // for error faults
	code    string // for error faults
	message string // for error faults
}

// NewProxy starts a proxy on 127.0.0.1 forwarding to target (usually
// Moto.URL()). It is closed when tb finishes; holds and latency sleeps in
// progress are ended first.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		tb.Fatalf("awstest: invalid proxy target %q: %v", target, err)
	}
	p := &Proxy{
		done:    make(chan struct{}),
		counts:  map[string]int{},
		writes:  map[string]int{},
		faults:  map[string]int{},
		failOps: map[failRule]*opFailure{},
		holds:   map[string]*hold{},
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client is gone; nobody to answer
			}
			http.Error(w, "awstest proxy: upstream error: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serveHTTP))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("awstest: proxy listen: %v", err)
	}
	_ = p.srv.Listener.Close()
	p.srv.Listener = l
	p.srv.Start()
	tb.Cleanup(func() {
		close(p.done)
		p.srv.Close()
	})
	return p
}

// URL returns the proxy's base URL, http://127.0.0.1:PORT.
func (p *Proxy) URL() string { return p.srv.URL }

// Counts returns the number of requests received per operation, including
// retries and requests that got an injected fault.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.counts)
}

// Writes is like Counts but only includes operations for which IsWrite is
// true.
func (p *Proxy) Writes() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.writes)
}

// WritesBy returns the number of writes per operation signed with
// accessKeyID: one account's writes, when several are behind the proxy.
func (p *Proxy) WritesBy(accessKeyID string) map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	writes := map[string]int{}
	for _, r := range p.requests {
		if r.AccessKeyID == accessKeyID && IsWrite(r.Service, r.Operation) {
			writes[r.Operation]++
		}
	}
	return writes
}

// Total returns the number of requests received.
func (p *Proxy) Total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.requests)
}

// Faults returns the number of injected faults per kind (FaultThrottle,
// FaultServerError, FaultReset, FaultOperation).
func (p *Proxy) Faults() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.faults)
}

// Requests returns all requests received, in arrival order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.requests)
}

// Reset clears all counters and the request log and restarts the sequence
// number that the "every nth" rules use. Fault rules stay in place; see
// ClearFaults.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq = 0
	p.requests = nil
	clear(p.counts)
	clear(p.writes)
	clear(p.faults)
}

// ClearFaults removes all fault rules, latency and holds (releasing held
// requests). Counters are kept.
func (p *Proxy) ClearFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttleEvery, p.serverErrorEvery, p.resetEvery = 0, 0, 0
	p.latency = 0
	clear(p.failOps)
	for op, h := range p.holds {
		close(h.released)
		delete(p.holds, op)
	}
}

// ThrottleEvery makes every nth request (by sequence number) fail with a
// throttling error: Throttling (HTTP 400) for IAM and STS,
// ThrottlingException (HTTP 400) for ECR, message "Rate exceeded". The SDK's
// standard retryer retries these. n <= 0 disables the rule.
func (p *Proxy) ThrottleEvery(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttleEvery = max(n, 0)
}

// ServerErrorEvery makes every nth request (by sequence number) fail with
// HTTP status, which must be 5xx: error code ServiceUnavailable for 503 and
// InternalFailure otherwise. The SDK retries 500, 502, 503 and 504. n <= 0
// disables the rule.
func (p *Proxy) ServerErrorEvery(n, status int) {
	if n > 0 && (status < 500 || status > 599) {
		panic(fmt.Sprintf("awstest: ServerErrorEvery: status %d is not a 5xx status", status))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serverErrorEvery = max(n, 0)
	p.serverErrorStatus = status
}

// ResetEvery makes every nth request (by sequence number) end without a
// response: the proxy reads the request, then resets the TCP connection, so
// the SDK sees "connection reset by peer" (a retryable connection error).
// n <= 0 disables the rule.
func (p *Proxy) ResetEvery(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resetEvery = max(n, 0)
}

// Latency delays every request by d before it is answered or forwarded.
// d <= 0 disables the delay.
func (p *Proxy) Latency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = max(d, 0)
}

// FailOperation makes the next times requests for operation op (e.g.
// "CreateRole") fail with the given HTTP status, error code and message,
// encoded in the wire shape of the request's protocol. times <= 0 removes the
// rule. A new call replaces the previous rule for op.
func (p *Proxy) FailOperation(op string, times, status int, code, message string) {
	p.FailOperationFor("", op, times, status, code, message)
}

// FailOperationFor is FailOperation for the requests signed with
// accessKeyID only (one account's, when several are behind the proxy); ""
// matches any key. A request matching both a rule for its key and one for
// any key consumes the former.
func (p *Proxy) FailOperationFor(accessKeyID, op string, times, status int, code, message string) {
	if times > 0 && (status < 400 || status > 599) {
		panic(fmt.Sprintf("awstest: FailOperation(%s): status %d is not an error status", op, status))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rule := failRule{op: op, accessKeyID: accessKeyID}
	if times <= 0 {
		delete(p.failOps, rule)
		return
	}
	p.failOps[rule] = &opFailure{remaining: times, status: status, code: code, message: message}
}

// HoldOperation delays every request for operation op by d before it is
// answered or forwarded, and makes Held(op) fire as soon as the first such
// request starts being held. This gives a test a window in which the request
// is in flight, e.g. to interrupt the process that sent it. A new call for
// the same op releases requests held under the previous call; d <= 0 only
// removes the rule.
func (p *Proxy) HoldOperation(op string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h, ok := p.holds[op]; ok {
		close(h.released)
		delete(p.holds, op)
	}
	if d > 0 {
		p.holds[op] = &hold{d: d, started: make(chan struct{}), released: make(chan struct{})}
	}
}

// Held returns a channel that is closed when the first request for op starts
// being held under the current HoldOperation rule for op. It returns nil
// (which blocks forever in a select) if no hold is configured for op.
func (p *Proxy) Held(op string) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h, ok := p.holds[op]; ok {
		return h.started
	}
	return nil
}

// IsWrite reports whether operation op of service changes state, i.e.
// whether the Proxy counts it in Writes. Reads are:
//   - all STS operations (GetCallerIdentity, AssumeRoleWithWebIdentity, ...:
//     they issue credentials but change no resources);
//   - operations named Get*, List*, Describe* or BatchGet* (this includes
//     ECR's GetAuthorizationToken);
//   - ECR BatchCheckLayerAvailability and IAM SimulatePrincipalPolicy and
//     SimulateCustomPolicy;
//   - requests whose operation could not be identified.
//
// Everything else (Create*, Put*, Update*, Tag*, Delete*, Set*, Attach*, ...)
// is a write.
func IsWrite(service, op string) bool {
	if service == ServiceSTS || op == UnknownOperation || op == "" {
		return false
	}
	for _, prefix := range []string{"Get", "List", "Describe", "BatchGet"} {
		if strings.HasPrefix(op, prefix) {
			return false
		}
	}
	switch op {
	case "BatchCheckLayerAvailability", "SimulatePrincipalPolicy", "SimulateCustomPolicy":
		return false
	}
	return true
}

// InFlight returns the number of requests the proxy is currently handling
// (delayed, held or being forwarded).
func (p *Proxy) InFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inflight
}

// WaitIdle waits until no request is in flight, e.g. to make sure a request
// whose client was interrupted while it was held has been dropped before the
// test inspects moto's state. It returns ctx's error if ctx ends first.
func (p *Proxy) WaitIdle(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for p.InFlight() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.inflight++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inflight--
		p.mu.Unlock()
	}()

	proto, service, op, err := identify(r)
	if err != nil {
		http.Error(w, "awstest proxy: "+err.Error(), http.StatusBadRequest)
		return
	}
	d := p.decide(proto, Request{Service: service, Operation: op, AccessKeyID: credentialKey(r.Header.Get("Authorization"))})

	if !p.sleep(r.Context(), d.latency, nil) {
		return
	}
	if h := d.hold; h != nil {
		p.mu.Lock()
		if !h.fired {
			h.fired = true
			close(h.started)
		}
		p.mu.Unlock()
		if !p.sleep(r.Context(), h.d, h.released) {
			return
		}
	}

	switch d.req.Fault {
	case "":
		p.rp.ServeHTTP(w, r)
	case FaultReset:
		resetConnection(w)
	default:
		writeError(w, d.proto, d.req.Service, d.status, d.code, d.message, d.req.Seq)
	}
}

// decide records the request (req without its Seq and Fault) and decides
// what happens to it.
func (p *Proxy) decide(proto protocol, req Request) decision {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.seq++
	req.Seq = p.seq
	service, op := req.Service, req.Operation
	d := decision{
		req:     req,
		proto:   proto,
		latency: p.latency,
		hold:    p.holds[op],
	}
	nth := func(n int) bool { return n > 0 && p.seq%n == 0 }
	switch {
	case nth(p.resetEvery):
		d.req.Fault = FaultReset
	case nth(p.serverErrorEvery):
		d.req.Fault = FaultServerError
		d.status = p.serverErrorStatus
		d.code, d.message = "InternalFailure", "We encountered an internal error. Please try again."
		if d.status == http.StatusServiceUnavailable {
			d.code, d.message = "ServiceUnavailable", "Service is unavailable. Please try again later."
		}
	case nth(p.throttleEvery):
		d.req.Fault = FaultThrottle
		d.status, d.code, d.message = http.StatusBadRequest, "Throttling", "Rate exceeded"
		if proto == protoJSON {
			d.code = "ThrottlingException"
		}
	default:
		rule := failRule{op: op, accessKeyID: req.AccessKeyID}
		if _, ok := p.failOps[rule]; !ok {
			rule.accessKeyID = ""
		}
		if f, ok := p.failOps[rule]; ok {
			d.req.Fault = FaultOperation
			d.status, d.code, d.message = f.status, f.code, f.message
			if f.remaining--; f.remaining <= 0 {
				delete(p.failOps, rule)
			}
		}
	}

	p.requests = append(p.requests, d.req)
	p.counts[op]++
	if IsWrite(service, op) {
		p.writes[op]++
	}
	if d.req.Fault != "" {
		p.faults[d.req.Fault]++
	}
	return d
}

// sleep waits for d and reports whether the request should go on: false if
// the client went away or the proxy is shutting down. release, if not nil,
// ends the sleep early (returning true).
func (p *Proxy) sleep(ctx context.Context, d time.Duration, release <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-release:
		return true
	case <-ctx.Done():
		return false
	case <-p.done:
		return false
	}
}

// protocol is the wire protocol of a request.
type protocol int

const (
	protoUnknown protocol = iota
	protoQuery            // AWS query: form-encoded POST, XML responses (IAM, STS)
	protoJSON             // AWS JSON 1.1: X-Amz-Target header (ECR)
)

// identify determines protocol, service and operation of r. It reads the body
// and replaces it with an identical one.
//
// The body is always read up front: besides being needed for the query
// protocol, consuming it lets net/http notice a client that disconnects while
// the request is delayed, which cancels the request context.
func identify(r *http.Request) (proto protocol, service, op string, err error) {
	service = scopeService(r.Header.Get("Authorization"))

	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return protoUnknown, service, "", fmt.Errorf("read request body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))

	if target := r.Header.Get("X-Amz-Target"); target != "" {
		prefix, name, ok := strings.Cut(target, ".")
		if !ok || name == "" {
			return protoJSON, service, UnknownOperation, nil
		}
		if service == "" && prefix == ecrTargetPrefix {
			service = ServiceECR
		}
		return protoJSON, service, name, nil
	}

	ct := r.Header.Get("Content-Type")
	if r.Method != http.MethodPost || !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return protoUnknown, service, UnknownOperation, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("Action") == "" {
		return protoUnknown, service, UnknownOperation, nil
	}
	if service == "" {
		switch form.Get("Version") {
		case "2010-05-08":
			service = ServiceIAM
		case "2011-06-15":
			service = ServiceSTS
		}
	}
	return protoQuery, service, form.Get("Action"), nil
}

// scopeService extracts the service from a SigV4 Authorization header:
// "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/iam/aws4_request, ...".
func scopeService(auth string) string {
	if parts := credentialScope(auth); parts != nil {
		return parts[3]
	}
	return ""
}

// credentialKey extracts the access key ID from a SigV4 Authorization
// header, AKID in the example of scopeService.
func credentialKey(auth string) string {
	if parts := credentialScope(auth); parts != nil {
		return parts[0]
	}
	return ""
}

// credentialScope splits the Credential of a SigV4 Authorization header
// into key, date, region, service and "aws4_request"; nil if it has none.
func credentialScope(auth string) []string {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return nil
	}
	scope, _, _ := strings.Cut(rest, ",")
	parts := strings.Split(strings.TrimSpace(scope), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return nil
	}
	return parts
}

// queryNamespaces are the XML namespaces of query protocol error responses.
var queryNamespaces = map[string]string{
	ServiceIAM: "https://iam.amazonaws.com/doc/2010-05-08/",
	ServiceSTS: "https://sts.amazonaws.com/doc/2011-06-15/",
}

// writeError writes an AWS error response in the shape of proto.
func writeError(w http.ResponseWriter, proto protocol, service string, status int, code, message string, seq int) {
	requestID := fmt.Sprintf("awstest-%08d-0000-0000-0000-000000000000", seq)
	h := w.Header()
	h.Set("X-Amzn-Requestid", requestID)
	switch proto {
	case protoQuery:
		errType := "Sender"
		if status >= 500 {
			errType = "Receiver"
		}
		ns := queryNamespaces[service]
		if ns == "" {
			ns = queryNamespaces[ServiceIAM]
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>`, ns, errType)
		_ = xml.EscapeText(&b, []byte(code))
		b.WriteString(`</Code><Message>`)
		_ = xml.EscapeText(&b, []byte(message))
		fmt.Fprintf(&b, `</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, requestID)
		h.Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		_, _ = w.Write(b.Bytes())
	default:
		body, _ := json.Marshal(map[string]string{"__type": code, "message": message})
		h.Set("Content-Type", amzJSON11)
		h.Set("X-Amzn-Errortype", code)
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// resetConnection aborts the connection behind w without writing a response.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Cannot hijack (should not happen with HTTP/1.1): abort the
		// response instead, which also closes the connection.
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0) // close with RST instead of FIN
	}
	_ = conn.Close()
}
