package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/awstest"
)

// Inputs shared by every peer, so that all of them provision the same three
// resources with the same documents.
const (
	org      = "2ce1a0c6-3b4e-4f1a-9a55-3d2f0e6c1b7d"
	project  = "8e7c4b1e-5a0d-4c3b-9f2e-1d6a7b8c9d0e"
	repo     = "app"
	roleName = "circleci-ecr-pull"
	// policyName is the inline policy name the tool uses; the CLI script and
	// Terraform use it too so the accounts end up identical.
	policyName = "circleci-ecr-oidc-pull"

	// latency models one IAM round trip from a CI runner or a laptop. It
	// is added to every request, so wall time / latency approximates the
	// number of sequential round trips, and local overhead is what remains.
	latency = 100 * time.Millisecond
)

// binaryEnv names a prebuilt tool to benchmark (make bench passes the one
// `make build` made); without it the benchmark builds the tool itself.
const binaryEnv = "CIRCLECI_ECR_OIDC_BINARY"

// world is the emulated AWS account behind the latency proxy, shared by all
// runs of one benchmark and reset between them.
type world struct {
	moto  *awstest.Moto
	proxy *awstest.Proxy
	rec   *recorder
	// backend records the requests the proxy forwards to moto, after the
	// latency: how long they waited for moto (queueWaits).
	backend *recorder
	// direct talks to moto without latency, for seeding repositories.
	direct *ecr.Client
	// env is the environment of every child process: dummy credentials,
	// empty shared config files and AWS_ENDPOINT_URL at the recorder.
	env []string
}

func newWorld(b *testing.B) *world {
	b.Helper()
	moto := awstest.StartMoto(b)
	backend := newRecorder(b, moto.URL(), maxMotoConns)
	proxy := awstest.NewProxy(b, backend.URL())
	proxy.Latency(latency)
	rec := newRecorder(b, proxy.URL(), 0)
	cfg := awstest.Config(context.Background(), b, moto.URL())
	return &world{
		moto:    moto,
		proxy:   proxy,
		rec:     rec,
		backend: backend,
		direct:  ecr.NewFromConfig(cfg),
		env:     moto.Environ(rec.URL()),
	}
}

// endpoint is where peers send their requests.
func (w *world) endpoint() string { return w.rec.URL() }

// fresh empties the account, creates repos (without latency, they are not
// part of what is measured) and clears the request log.
func (w *world) fresh(b *testing.B, repos ...string) {
	b.Helper()
	w.moto.Reset(b)
	if err := w.createRepos(repos); err != nil {
		b.Fatal(err)
	}
	w.proxy.Reset()
	w.rec.take()
	w.backend.take()
}

// createRepos creates repositories directly in moto, sixteen at a time: a
// thousand one after the other would take longer than the runs measured.
func (w *world) createRepos(names []string) error {
	ctx := context.Background()
	sem := make(chan struct{}, 16)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := w.direct.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(n)}); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("create repository %s: %w", n, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// run is one measured execution of a peer.
type run struct {
	wall   time.Duration
	total  int            // requests received by the proxy
	counts map[string]int // per operation
	writes map[string]int // per state-changing operation
	rounds int            // sequential round trips, from the recorder's timestamps
	waves  string         // which operations made up each round trip
	calls  []call         // every request, with its timing and access key
	// unqueued is the wall time less what the requests on the critical
	// path waited in moto's queue (withoutQueue).
	unqueued time.Duration
	stdout   string
	stderr   string
	exitCode int
}

// measure runs fn, which performs one peer's work against the world, and
// collects its wall time and the requests it made.
func (w *world) measure(fn func() (stdout, stderr string, code int, err error)) (run, error) {
	w.proxy.Reset()
	w.rec.take()
	w.backend.take()
	start := time.Now()
	out, errOut, code, err := fn()
	wall := time.Since(start)
	calls := w.rec.take()
	ws := waves(calls)
	r := run{
		wall: wall, total: w.proxy.Total(), counts: w.proxy.Counts(), writes: w.proxy.Writes(),
		rounds: len(ws), waves: describeWaves(ws), calls: calls, unqueued: withoutQueue(wall, calls, w.backend.take()),
		stdout: out, stderr: errOut, exitCode: code,
	}
	return r, err
}

// execIn runs name with args in dir (the current directory if "") with env
// and reports its output and exit code; a non-zero exit is not an error here,
// callers decide.
func execIn(dir string, env []string, name string, args ...string) (stdout, stderr string, code int, err error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return o.String(), e.String(), exitErr.ExitCode(), nil
	}
	return o.String(), e.String(), 0, err
}

// toolBinary returns the tool to benchmark: $CIRCLECI_ECR_OIDC_BINARY, or a
// build of ../cmd/circleci-ecr-oidc with the flags `make build` uses (a
// stripped binary starts a little faster than a debug build).
func toolBinary(b *testing.B) string {
	b.Helper()
	if p := os.Getenv(binaryEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := os.Stat(abs); err != nil {
			b.Fatalf("%s=%s: %v", binaryEnv, p, err)
		}
		return abs
	}
	bin := filepath.Join(b.TempDir(), "circleci-ecr-oidc")
	_, errOut, code, err := execIn("..", nil, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/circleci-ecr-oidc")
	if err != nil || code != 0 {
		b.Fatalf("build the tool: %v %s", err, errOut)
	}
	return bin
}

// firstLine shortens a command's stderr for messages and the report.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// lastLine returns the last non-empty line, where the tool prints its error.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
