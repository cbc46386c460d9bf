package awstest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// harness holds SDK clients that reach a shared moto through a fresh Proxy.
type harness struct {
	ctx    context.Context
	proxy  *Proxy
	iam    *iam.Client
	sts    *sts.Client
	ecr    *ecr.Client
	direct *iam.Client // talks to moto directly, bypassing the proxy
}

// TestProxy runs the proxy tests as subtests sharing one moto_server (reset
// between subtests) to keep the package's test time low.
func TestProxy(t *testing.T) {
	t.Parallel()
	m := StartMoto(t)
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *harness)
	}{
		{"CountsOperationsPerProtocol", testCountsOperations},
		{"FailOperationIAM", testFailOperationIAM},
		{"FailOperationSTS", testFailOperationSTS},
		{"FailOperationECR", testFailOperationECR},
		{"FailOperationForOneKey", testFailOperationFor},
		{"ThrottleEveryIsRetried", testThrottleEvery},
		{"ServerErrorEveryIsRetried", testServerErrorEvery},
		{"ResetEveryIsRetried", testResetEvery},
		{"ComposedRulesPrecedence", testComposedRules},
		{"Latency", testLatency},
		{"LatencyRespectsClientCancellation", testLatencyCancel},
		{"HoldOperation", testHoldOperation},
		{"ResetAndClearFaults", testResetAndClearFaults},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.Reset(t)
			ctx := t.Context()
			p := NewProxy(t, m.URL())
			cfg := Config(ctx, t, p.URL())
			tc.fn(t, &harness{
				ctx:    ctx,
				proxy:  p,
				iam:    iam.NewFromConfig(cfg),
				sts:    sts.NewFromConfig(cfg),
				ecr:    ecr.NewFromConfig(cfg),
				direct: iam.NewFromConfig(Config(ctx, t, m.URL())),
			})
		})
	}
}

func testCountsOperations(t *testing.T, h *harness) {
	if _, err := h.sts.GetCallerIdentity(h.ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	createRole(h.ctx, t, h.iam, "counted")
	if _, err := h.iam.GetRole(h.ctx, &iam.GetRoleInput{RoleName: aws.String("counted")}); err != nil {
		t.Fatalf("GetRole: %v", err)
	}
	createRepo(t, h, "counted")
	if _, err := h.ecr.DescribeRepositories(h.ctx, &ecr.DescribeRepositoriesInput{}); err != nil {
		t.Fatalf("DescribeRepositories: %v", err)
	}
	if _, err := h.ecr.GetAuthorizationToken(h.ctx, &ecr.GetAuthorizationTokenInput{}); err != nil {
		t.Fatalf("GetAuthorizationToken: %v", err)
	}
	// moto accepts any token; the call only matters for classification.
	_, _ = h.sts.AssumeRoleWithWebIdentity(h.ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String("arn:aws:iam::" + AccountID + ":role/counted"),
		RoleSessionName:  aws.String("test"),
		WebIdentityToken: aws.String("header.payload.signature"),
	})

	wantCounts := map[string]int{
		"GetCallerIdentity":         1,
		"CreateRole":                1,
		"GetRole":                   1,
		"CreateRepository":          1,
		"DescribeRepositories":      1,
		"GetAuthorizationToken":     1,
		"AssumeRoleWithWebIdentity": 1,
	}
	assertMap(t, "Counts()", h.proxy.Counts(), wantCounts)
	assertMap(t, "Writes()", h.proxy.Writes(), map[string]int{"CreateRole": 1, "CreateRepository": 1})
	assertMap(t, "Faults()", h.proxy.Faults(), map[string]int{})
	if got := h.proxy.Total(); got != 7 {
		t.Errorf("Total() = %d, want 7", got)
	}
	wantServices := []string{"sts", "iam", "iam", "ecr", "ecr", "ecr", "sts"}
	reqs := h.proxy.Requests()
	for i, r := range reqs {
		if r.Seq != i+1 || r.Service != wantServices[i] || r.Fault != "" {
			t.Errorf("Requests()[%d] = %+v, want Seq %d, Service %q, no fault", i, r, i+1, wantServices[i])
		}
	}
}

func testFailOperationIAM(t *testing.T, h *harness) {
	h.proxy.FailOperation("CreateRole", 1, http.StatusForbidden, "AccessDenied", "not allowed <here> & there")
	_, err := h.iam.CreateRole(h.ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("denied"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
	})
	assertAPIError(t, err, "AccessDenied", "not allowed <here> & there", http.StatusForbidden)
	// Not retried, and the request never reached moto.
	assertMap(t, "Counts()", h.proxy.Counts(), map[string]int{"CreateRole": 1})
	assertMap(t, "Faults()", h.proxy.Faults(), map[string]int{FaultOperation: 1})
	if _, err := h.direct.GetRole(h.ctx, &iam.GetRoleInput{RoleName: aws.String("denied")}); err == nil {
		t.Errorf("role was created although CreateRole was failed by the proxy")
	}

	// The rule was used up: the next call goes through.
	createRole(h.ctx, t, h.iam, "denied")

	// A modeled error code deserializes to the SDK's modeled type.
	h.proxy.FailOperation("GetRole", 2, http.StatusNotFound, "NoSuchEntity", "gone")
	for i := range 2 {
		_, err = h.iam.GetRole(h.ctx, &iam.GetRoleInput{RoleName: aws.String("denied")})
		var nse *iamtypes.NoSuchEntityException
		if !errors.As(err, &nse) {
			t.Fatalf("GetRole #%d: err = %v (%T), want *types.NoSuchEntityException", i+1, err, err)
		}
	}
	if _, err := h.iam.GetRole(h.ctx, &iam.GetRoleInput{RoleName: aws.String("denied")}); err != nil {
		t.Fatalf("GetRole after the rule was used up: %v", err)
	}
	assertMap(t, "Counts()", h.proxy.Counts(), map[string]int{"CreateRole": 2, "GetRole": 3})
	assertMap(t, "Faults()", h.proxy.Faults(), map[string]int{FaultOperation: 3})
}

// testFailOperationFor fails one access key's requests, as a test with
// several accounts behind one proxy fails one account's, and counts each
// key's writes apart.
func testFailOperationFor(t *testing.T, h *harness) {
	other := iam.NewFromConfig(Config(h.ctx, t, h.proxy.URL(), config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDOTHER", "secret", ""))))
	h.proxy.FailOperationFor("AKIDOTHER", "CreateRole", 1, http.StatusForbidden, "AccessDenied", "not for you")
	h.proxy.FailOperation("GetRole", 1, http.StatusNotFound, "NoSuchEntity", "gone")
	createRole(h.ctx, t, h.iam, "mine")
	_, err := other.CreateRole(h.ctx, &iam.CreateRoleInput{RoleName: aws.String("theirs"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
	if code := errorCodeOf(err); code != "AccessDenied" {
		t.Errorf("the other key's CreateRole: err = %v, want AccessDenied", err)
	}
	createRole(h.ctx, t, other, "theirs")
	// A rule for any key applies to every key.
	if _, err := other.GetRole(h.ctx, &iam.GetRoleInput{RoleName: aws.String("theirs")}); errorCodeOf(err) != "NoSuchEntity" {
		t.Errorf("GetRole with a rule for any key: err = %v, want NoSuchEntity", err)
	}
	assertMap(t, "WritesBy(testing)", h.proxy.WritesBy(AccessKeyID), map[string]int{"CreateRole": 1})
	assertMap(t, "WritesBy(AKIDOTHER)", h.proxy.WritesBy("AKIDOTHER"), map[string]int{"CreateRole": 2})
	var keys []string
	for _, r := range h.proxy.Requests() {
		keys = append(keys, r.AccessKeyID)
	}
	if want := []string{AccessKeyID, "AKIDOTHER", "AKIDOTHER", "AKIDOTHER"}; !slices.Equal(keys, want) {
		t.Errorf("Requests() access keys %v, want %v", keys, want)
	}
}

func errorCodeOf(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func testFailOperationSTS(t *testing.T, h *harness) {
	h.proxy.FailOperation("GetCallerIdentity", 1, http.StatusForbidden, "ExpiredToken", "The security token included in the request is expired")
	_, err := h.sts.GetCallerIdentity(h.ctx, &sts.GetCallerIdentityInput{})
	assertAPIError(t, err, "ExpiredToken", "The security token included in the request is expired", http.StatusForbidden)
	assertMap(t, "Counts()", h.proxy.Counts(), map[string]int{"GetCallerIdentity": 1})
}

func testFailOperationECR(t *testing.T, h *harness) {
	createRepo(t, h, "present")
	h.proxy.FailOperation("DescribeRepositories", 1, http.StatusBadRequest, "RepositoryNotFoundException", "no such repository")
	_, err := h.ecr.DescribeRepositories(h.ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"present"}})
	assertAPIError(t, err, "RepositoryNotFoundException", "no such repository", http.StatusBadRequest)
	var rnf *ecrtypes.RepositoryNotFoundException
	if !errors.As(err, &rnf) {
		t.Errorf("err = %T, want *types.RepositoryNotFoundException", err)
	}
	if _, err := h.ecr.DescribeRepositories(h.ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"present"}}); err != nil {
		t.Fatalf("DescribeRepositories after the rule was used up: %v", err)
	}
	assertMap(t, "Counts()", h.proxy.Counts(), map[string]int{"CreateRepository": 1, "DescribeRepositories": 2})
	assertMap(t, "Faults()", h.proxy.Faults(), map[string]int{FaultOperation: 1})
}

func testThrottleEvery(t *testing.T, h *harness) {
	createRole(h.ctx, t, h.iam, "throttled")
	createRepo(t, h, "throttled")
	h.proxy.Reset()
	h.proxy.ThrottleEvery(2)

	// Request 1 passes, 2 is throttled, 3 passes, 4 is throttled, ... so
	// every call after the first needs exactly two attempts.
	calls := []struct {
		op       string
		wantCode string // code the SDK saw on the throttled attempt
		call     func() (middleware.Metadata, error)
	}{
		{"GetRole", "", h.getRole("throttled")},
		{"GetRole", "Throttling", h.getRole("throttled")},
		{"DescribeRepositories", "ThrottlingException", h.describeRepos()},
		{"GetCallerIdentity", "Throttling", h.getCallerIdentity()},
	}
	for i, c := range calls {
		md, err := c.call()
		if err != nil {
			t.Fatalf("call %d (%s): %v", i+1, c.op, err)
		}
		want := []string{""}
		if c.wantCode != "" {
			want = []string{c.wantCode, ""}
		}
		assertAttempts(t, fmt.Sprintf("call %d (%s)", i+1, c.op), md, want)
	}
	if got := h.proxy.Total(); got != 7 {
		t.Errorf("Total() = %d, want 7 attempts for 4 calls", got)
	}
	assertMap(t, "Counts()", h.proxy.Counts(), map[string]int{"GetRole": 3, "DescribeRepositories": 2, "GetCallerIdentity": 2})
	assertMap(t, "Faults()", h.proxy.Faults(), map[string]int{FaultThrottle: 3})
	assertMap(t, "Writes()", h.proxy.Writes(), map[string]int{})
}

func testServerErrorEvery(t *testing.T, h *harness) {
	for _, tc := range []struct {
		status   int
		wantCode string
	}{
		{http.StatusInternalServerError, "InternalFailure"},
		{http.StatusServiceUnavailable, "ServiceUnavailable"},
	} {
		h.proxy.Reset()
		h.proxy.ServerErrorEvery(1, tc.status) // every attempt fails
		_, err := h.sts.GetCallerIdentity(h.ctx, &sts.GetCallerIdentityInput{})
		assertAPIError(t, err, tc.wantCode, "", tc.status)
		var maxErr *retry.MaxAttemptsError
		if !errors.As(err, &maxErr) || maxErr.Attempt != MaxAttempts {
			t.Errorf("status %d: err = %v, want the SDK to give up after %d attempts", tc.status, err, MaxAttempts)
		}
		assertMap(t, "Faults()", h.proxy.Faults(), map[string]int{FaultServerError: MaxAttempts})

		h.proxy.Reset()
		h.proxy.ServerErrorEvery(2, tc.status)
		for i, call := range []func() (middleware.Metadata, error){h.describeRepos(), h.getCallerIdentity(), h.describeRepos()} {
			md, err := call()
			if err != nil {
				t.Fatalf("status %d: call %d: %v", tc.status, i+1, err)
			}
			want := []string{""}
			if i > 0 {
				want = []string{tc.wantCode, ""}
			}
			assertAttempts(t, fmt.Sprintf("status %d: call %d", tc.status, i+1), md, want)
		}
		if got := h.proxy.Total(); got != 5 {
			t.Errorf("status %d: Total() = %d, want 5", tc.status, got)
		}
		assertMap(t, "Faults()", h.proxy.Faults(), map[string]int{FaultServerError: 2})
	}
}

func testResetEvery(t *testing.T, h *harness) {
	createRole(h.ctx, t, h.iam, "reset")
	h.proxy.Reset()
	h.proxy.ResetEvery(2)
	for i, call := range []func() (middleware.Metadata, error){h.getRole("reset"), h.getRole("reset"), h.describeRepos()} {
		md, err := call()
		if err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		want := []string{""}
		if i > 0 {
			want = []string{"<connection>", ""}
		}
		assertAttempts(t, fmt.Sprintf("call %d", i+1), md, want)
	}
	if got := h.proxy.Total(); got != 5 {
		t.Errorf("Total() = %d, want 5", got)
	}
	assertMap(t, "Counts()", h.proxy.Counts(), map[string]int{"GetRole": 3, "DescribeRepositories": 2})
	assertMap(t, "Faults()", h.proxy.Faults(), map[string]int{FaultReset: 2})

	// A write whose connection is reset is retried too, and reaches moto once.
	h.proxy.Reset()
	h.proxy.ResetEvery(1)
	_, err := h.iam.CreateRole(h.ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("never"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
	})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("CreateRole with every connection reset: err = %v, want a connection reset error", err)
	}
	assertMap(t, "Writes()", h.proxy.Writes(), map[string]int{"CreateRole": MaxAttempts})
}

func testComposedRules(t *testing.T, h *harness) {
	createRole(h.ctx, t, h.iam, "composed")
	createRepo(t, h, "composed")
	h.proxy.Reset()
	h.proxy.ThrottleEvery(3)
	h.proxy.ServerErrorEvery(5, http.StatusServiceUnavailable)
	h.proxy.ResetEvery(7)

	// Documented precedence: reset, then server error, then throttle.
	expect := func(seq int) string {
		switch {
		case seq%7 == 0:
			return FaultReset
		case seq%5 == 0:
			return FaultServerError
		case seq%3 == 0:
			return FaultThrottle
		}
		return ""
	}
	calls := []func() (middleware.Metadata, error){h.getRole("composed"), h.describeRepos(), h.getCallerIdentity()}
	seq := 0
	for i := range 18 {
		// Predict the call's outcome: attempts until one is not faulted, at
		// most MaxAttempts.
		wantOK := false
		for attempt := 1; attempt <= MaxAttempts; attempt++ {
			seq++
			if expect(seq) == "" {
				wantOK = true
				break
			}
		}
		_, err := calls[i%len(calls)]()
		if gotOK := err == nil; gotOK != wantOK {
			t.Fatalf("call %d: err = %v, want success %v", i+1, err, wantOK)
		}
	}
	if seq < 35 {
		t.Fatalf("test covers only %d requests, want at least 35 to exercise all overlaps", seq)
	}
	reqs := h.proxy.Requests()
	if len(reqs) != seq {
		t.Fatalf("proxy saw %d requests, want %d", len(reqs), seq)
	}
	wantFaults := map[string]int{}
	for i, r := range reqs {
		if want := expect(i + 1); r.Fault != want || r.Seq != i+1 {
			t.Errorf("request %d: %+v, want fault %q", i+1, r, want)
		}
		if f := expect(i + 1); f != "" {
			wantFaults[f]++
		}
	}
	assertMap(t, "Faults()", h.proxy.Faults(), wantFaults)
	// Spot-check the overlaps the precedence rule decides.
	for seq, want := range map[int]string{15: FaultServerError, 21: FaultReset, 30: FaultServerError, 35: FaultReset} {
		if got := reqs[seq-1].Fault; got != want {
			t.Errorf("request %d: fault %q, want %q", seq, got, want)
		}
	}
}

func testLatency(t *testing.T, h *harness) {
	const d = 150 * time.Millisecond
	start := time.Now()
	if _, err := h.sts.GetCallerIdentity(h.ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	baseline := time.Since(start)

	h.proxy.Latency(d)
	start = time.Now()
	if _, err := h.sts.GetCallerIdentity(h.ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got < d {
		t.Errorf("call with Latency(%v) took %v (baseline %v)", d, got, baseline)
	}
	h.proxy.Latency(0)
	start = time.Now()
	if _, err := h.sts.GetCallerIdentity(h.ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got >= d {
		t.Errorf("call after Latency(0) took %v, want < %v", got, d)
	}
}

func testLatencyCancel(t *testing.T, h *harness) {
	h.proxy.Latency(time.Minute)
	ctx, cancel := context.WithTimeout(h.ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.iam.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("too-slow"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if got := time.Since(start); got > 5*time.Second {
		t.Errorf("cancelled call took %v", got)
	}
	// The proxy notices the client went away and drops the request.
	waitIdle(t, h.proxy)
	if _, err := h.direct.GetRole(h.ctx, &iam.GetRoleInput{RoleName: aws.String("too-slow")}); err == nil {
		t.Errorf("CreateRole reached moto although its client gave up during the latency")
	}
	assertMap(t, "Counts()", h.proxy.Counts(), map[string]int{"CreateRole": 1})
}

func testHoldOperation(t *testing.T, h *harness) {
	if h.proxy.Held("CreateRole") != nil {
		t.Fatal("Held() without a hold rule should be nil")
	}

	// A held request completes after the hold.
	const d = 200 * time.Millisecond
	h.proxy.HoldOperation("CreateRepository", d)
	held := h.proxy.Held("CreateRepository")
	start := time.Now()
	createRepo(t, h, "held")
	if got := time.Since(start); got < d {
		t.Errorf("held CreateRepository took %v, want >= %v", got, d)
	}
	select {
	case <-held:
	default:
		t.Error("Held channel did not fire")
	}
	// Other operations are not held.
	start = time.Now()
	if _, err := h.ecr.DescribeRepositories(h.ctx, &ecr.DescribeRepositoriesInput{}); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got >= d {
		t.Errorf("DescribeRepositories took %v although only CreateRepository is held", got)
	}

	// Interrupting the client while its request is held: the request never
	// reaches moto.
	h.proxy.HoldOperation("CreateRole", time.Minute)
	held = h.proxy.Held("CreateRole")
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := h.iam.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName:                 aws.String("interrupted"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
		})
		errc <- err
	}()
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("Held(CreateRole) did not fire")
	}
	if got := h.proxy.InFlight(); got != 1 {
		t.Errorf("InFlight() = %d while holding, want 1", got)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted CreateRole: err = %v, want context.Canceled", err)
	}
	waitIdle(t, h.proxy)
	if _, err := h.direct.GetRole(h.ctx, &iam.GetRoleInput{RoleName: aws.String("interrupted")}); err == nil {
		t.Errorf("interrupted CreateRole reached moto")
	}

	// Removing the hold releases requests currently held.
	h.proxy.HoldOperation("CreateRole", time.Minute)
	held = h.proxy.Held("CreateRole")
	go func() {
		_, err := h.iam.CreateRole(h.ctx, &iam.CreateRoleInput{
			RoleName:                 aws.String("released"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
		})
		errc <- err
	}()
	<-held
	h.proxy.HoldOperation("CreateRole", 0)
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("released CreateRole: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("HoldOperation(op, 0) did not release the held request")
	}
	assertMap(t, "Writes()", h.proxy.Writes(), map[string]int{"CreateRepository": 1, "CreateRole": 2})
}

func testResetAndClearFaults(t *testing.T, h *harness) {
	for range 3 {
		if _, err := h.sts.GetCallerIdentity(h.ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatal(err)
		}
	}
	h.proxy.Reset()
	if h.proxy.Total() != 0 || len(h.proxy.Counts()) != 0 || len(h.proxy.Requests()) != 0 {
		t.Fatalf("after Reset: Total %d, Counts %v", h.proxy.Total(), h.proxy.Counts())
	}
	// The sequence restarts, so the 2nd request after Reset is throttled.
	h.proxy.ThrottleEvery(2)
	h.proxy.FailOperation("GetRole", 5, http.StatusForbidden, "AccessDenied", "no")
	h.proxy.HoldOperation("GetRole", time.Minute)
	h.proxy.Latency(time.Minute)
	h.proxy.Latency(0)
	h.proxy.ThrottleEvery(2)
	if _, err := h.sts.GetCallerIdentity(h.ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sts.GetCallerIdentity(h.ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	assertMap(t, "Faults()", h.proxy.Faults(), map[string]int{FaultThrottle: 1})

	h.proxy.ClearFaults()
	if h.proxy.Held("GetRole") != nil {
		t.Error("ClearFaults kept the hold")
	}
	createRole(h.ctx, t, h.iam, "cleared")
	if _, err := h.iam.GetRole(h.ctx, &iam.GetRoleInput{RoleName: aws.String("cleared")}); err != nil {
		t.Fatalf("GetRole after ClearFaults: %v", err)
	}
	assertMap(t, "Counts()", h.proxy.Counts(), map[string]int{"GetCallerIdentity": 3, "CreateRole": 1, "GetRole": 1})
}

// TestProxyWithoutMoto covers the proxy's error shapes and classification
// against a stub upstream, so it runs even without moto_server.
func TestProxyWithoutMoto(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream", "yes")
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(upstream.Close)
	p := NewProxy(t, upstream.URL)

	post := func(header map[string]string, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.URL()+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}
	readBody := func(resp *http.Response) string {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				return b.String()
			}
		}
	}
	query := map[string]string{
		"Content-Type":  "application/x-www-form-urlencoded; charset=utf-8",
		"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x",
	}
	jsonHdr := map[string]string{
		"Content-Type": amzJSON11,
		"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
	}

	// Forwarded unchanged.
	resp := post(query, "Action=CreateRole&Version=2010-05-08")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Upstream") != "yes" || readBody(resp) != "ok" {
		t.Errorf("forwarded response: %d %v", resp.StatusCode, resp.Header)
	}

	p.ThrottleEvery(1)
	resp = post(query, "Action=ListRoles&Version=2010-05-08")
	wantXML := `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>`
	if body := readBody(resp); resp.StatusCode != 400 || !strings.HasPrefix(body, wantXML) || resp.Header.Get("Content-Type") != "text/xml" {
		t.Errorf("query throttle: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp = post(jsonHdr, `{}`)
	if body := readBody(resp); resp.StatusCode != 400 || body != `{"__type":"ThrottlingException","message":"Rate exceeded"}` ||
		resp.Header.Get("Content-Type") != amzJSON11 || resp.Header.Get("X-Amzn-Errortype") != "ThrottlingException" {
		t.Errorf("json throttle: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	p.ThrottleEvery(0)
	p.ServerErrorEvery(1, 503)
	resp = post(query, "Action=GetRole&Version=2010-05-08")
	if body := readBody(resp); resp.StatusCode != 503 || !strings.Contains(body, "<Type>Receiver</Type><Code>ServiceUnavailable</Code>") {
		t.Errorf("query 503: %d %q", resp.StatusCode, body)
	}

	assertMap(t, "Counts()", p.Counts(), map[string]int{"CreateRole": 1, "ListRoles": 1, "DescribeRepositories": 1, "GetRole": 1})
	assertMap(t, "Writes()", p.Writes(), map[string]int{"CreateRole": 1})
	assertMap(t, "Faults()", p.Faults(), map[string]int{FaultThrottle: 2, FaultServerError: 1})
}

func TestIdentify(t *testing.T) {
	for _, tc := range []struct {
		name                string
		header              map[string]string
		body                string
		wantService, wantOp string
	}{
		{
			name: "iam query",
			header: map[string]string{
				"Content-Type":  "application/x-www-form-urlencoded; charset=utf-8",
				"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x",
			},
			body:        "Action=CreateRole&RoleName=x&Version=2010-05-08",
			wantService: "iam", wantOp: "CreateRole",
		},
		{
			name:        "sts query without signature falls back to Version",
			header:      map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body:        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15",
			wantService: "sts", wantOp: "AssumeRoleWithWebIdentity",
		},
		{
			name:        "ecr json without signature",
			header:      map[string]string{"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken", "Content-Type": amzJSON11},
			body:        "{}",
			wantService: "ecr", wantOp: "GetAuthorizationToken",
		},
		{
			name:        "unknown",
			header:      map[string]string{"Content-Type": "text/plain"},
			body:        "hello",
			wantService: "", wantOp: UnknownOperation,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			_, service, op, err := identify(r)
			if err != nil || service != tc.wantService || op != tc.wantOp {
				t.Errorf("identify = %q, %q, %v; want %q, %q", service, op, err, tc.wantService, tc.wantOp)
			}
			var b strings.Builder
			buf := make([]byte, 1024)
			for {
				n, err := r.Body.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					break
				}
			}
			if b.String() != tc.body || r.ContentLength != int64(len(tc.body)) {
				t.Errorf("body after identify = %q (ContentLength %d), want it restored", b.String(), r.ContentLength)
			}
		})
	}
}

func TestIsWrite(t *testing.T) {
	for _, tc := range []struct {
		service, op string
		want        bool
	}{
		{"iam", "CreateRole", true},
		{"iam", "PutRolePolicy", true},
		{"iam", "UpdateAssumeRolePolicy", true},
		{"iam", "TagRole", true},
		{"iam", "DeleteRole", true},
		{"iam", "CreateOpenIDConnectProvider", true},
		{"iam", "GetRole", false},
		{"iam", "ListOpenIDConnectProviders", false},
		{"iam", "SimulatePrincipalPolicy", false},
		{"ecr", "CreateRepository", true},
		{"ecr", "SetRepositoryPolicy", true},
		{"ecr", "PutLifecyclePolicy", true},
		{"ecr", "DescribeRepositories", false},
		{"ecr", "GetAuthorizationToken", false},
		{"ecr", "BatchGetImage", false},
		{"ecr", "BatchCheckLayerAvailability", false},
		{"sts", "AssumeRoleWithWebIdentity", false},
		{"sts", "GetCallerIdentity", false},
		{"", UnknownOperation, false},
	} {
		if got := IsWrite(tc.service, tc.op); got != tc.want {
			t.Errorf("IsWrite(%q, %q) = %v, want %v", tc.service, tc.op, got, tc.want)
		}
	}
}

func TestCredentialKey(t *testing.T) {
	for auth, want := range map[string]string{
		"AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc": "ASIAEXAMPLE",
		"": "",
		"AWS4-HMAC-SHA256 Credential=garbage, Signature=abc": "",
	} {
		if got := credentialKey(auth); got != want {
			t.Errorf("credentialKey(%q) = %q, want %q", auth, got, want)
		}
	}
}

func TestScopeService(t *testing.T) {
	for auth, want := range map[string]string{
		"AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc": "iam",
		"AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ecr/aws4_request,SignedHeaders=host,Signature=abc":              "ecr",
		"": "",
		"AWS4-HMAC-SHA256 Credential=garbage, Signature=abc": "",
	} {
		if got := scopeService(auth); got != want {
			t.Errorf("scopeService(%q) = %q, want %q", auth, got, want)
		}
	}
}

// Helpers.

func (h *harness) getRole(name string) func() (middleware.Metadata, error) {
	return func() (middleware.Metadata, error) {
		out, err := h.iam.GetRole(h.ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			return middleware.Metadata{}, err
		}
		return out.ResultMetadata, nil
	}
}

func (h *harness) describeRepos() func() (middleware.Metadata, error) {
	return func() (middleware.Metadata, error) {
		out, err := h.ecr.DescribeRepositories(h.ctx, &ecr.DescribeRepositoriesInput{})
		if err != nil {
			return middleware.Metadata{}, err
		}
		return out.ResultMetadata, nil
	}
}

func (h *harness) getCallerIdentity() func() (middleware.Metadata, error) {
	return func() (middleware.Metadata, error) {
		out, err := h.sts.GetCallerIdentity(h.ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return middleware.Metadata{}, err
		}
		return out.ResultMetadata, nil
	}
}

func createRepo(t *testing.T, h *harness, name string) {
	t.Helper()
	if _, err := h.ecr.CreateRepository(h.ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
		t.Fatalf("CreateRepository(%s): %v", name, err)
	}
}

// assertAttempts checks the SDK's record of the attempts of one successful
// call. want has one entry per attempt: "" for success, an API error code,
// or "<connection>" for a transport error.
func assertAttempts(t *testing.T, what string, md middleware.Metadata, want []string) {
	t.Helper()
	results, ok := retry.GetAttemptResults(md)
	if !ok {
		t.Errorf("%s: no attempt results in metadata", what)
		return
	}
	var got []string
	for _, r := range results.Results {
		var apiErr smithy.APIError
		switch {
		case r.Err == nil:
			got = append(got, "")
		case errors.As(r.Err, &apiErr):
			got = append(got, apiErr.ErrorCode())
		default:
			got = append(got, "<connection>")
		}
		if r.Err != nil && !r.Retryable {
			t.Errorf("%s: SDK considered %v not retryable", what, r.Err)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s: attempts = %q, want %q", what, got, want)
	}
}

// assertAPIError checks that err carries the API error code (and message, if
// not empty) and HTTP status.
func assertAPIError(t *testing.T, err error, code, message string, status int) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v (%T), want a smithy.APIError with code %s", err, err, code)
	}
	if apiErr.ErrorCode() != code {
		t.Errorf("ErrorCode() = %q, want %q (err: %v)", apiErr.ErrorCode(), code, err)
	}
	if message != "" && apiErr.ErrorMessage() != message {
		t.Errorf("ErrorMessage() = %q, want %q", apiErr.ErrorMessage(), message)
	}
	var respErr *awshttp.ResponseError
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != status {
		t.Errorf("HTTP status of %v: want %d", err, status)
	}
}

func assertMap(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func waitIdle(t *testing.T, p *Proxy) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := p.WaitIdle(ctx); err != nil {
		t.Fatalf("proxy still has %d requests in flight: %v", p.InFlight(), err)
	}
}
