package awstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// Values the emulated environment uses.
const (
	// AccountID is the account moto uses unless MOTO_ACCOUNT_ID is passed
	// to StartMoto.
	AccountID = "123456789012"
	// Region is the region configured by Env and Config.
	Region = "us-east-1"
	// AccessKeyID and SecretAccessKey are the dummy static credentials
	// configured by Env and Config. moto does not verify signatures.
	AccessKeyID     = "testing"
	SecretAccessKey = "testing"
	// MaxAttempts is the number of attempts (first try included) the
	// retryer built by Config makes per operation. It is the SDK default.
	MaxAttempts = retry.DefaultMaxAttempts
	// MaxBackoff caps the retry delay of the retryer built by Config, so that
	// retried calls cost milliseconds instead of seconds.
	MaxBackoff = 20 * time.Millisecond
)

const (
	motoBinary = "moto_server"
	// installHint is shown whenever moto_server is missing.
	installHint = "install it with: python3 -m pip install --user 'moto[server]' (or run `make test`, which installs it)"

	startAttempts = 3                     // fresh ports tried when startup fails
	readyTimeout  = 20 * time.Second      // per start attempt
	readyPoll     = 50 * time.Millisecond // readiness polling interval
	stopTimeout   = 5 * time.Second       // WaitDelay after killing moto
	logTailBytes  = 4 << 10               // moto output shown on test failure
	readyPath     = "/moto-api/"          // moto's dashboard, served once the app is up
	resetPath     = "/moto-api/reset"     // wipes all emulated state
	httpTimeout   = 5 * time.Second       // for requests to moto's own API
)

// Moto is a running moto_server child process. It is stopped automatically
// when the test that started it finishes.
type Moto struct {
	url       string
	startup   time.Duration
	out       *lockedBuffer
	configDir string // holds the empty shared config and credentials files
}

// StartMoto starts moto_server on a free loopback port and waits until it
// answers HTTP. extraEnv entries ("KEY=value", e.g.
// "MOTO_ACCOUNT_ID=210987654321") are appended to the environment of the
// moto_server process. The process group is killed when tb finishes; if tb
// failed, the tail of moto's output is logged.
//
// If moto_server is not on PATH, the test is skipped, or fails when the CI
// environment variable is set to anything other than "", "false" or "0".
func StartMoto(tb testing.TB, extraEnv ...string) *Moto {
	tb.Helper()

	bin, err := exec.LookPath(motoBinary)
	if err != nil {
		if inCI() {
			tb.Fatalf("awstest: %s is required in CI but was not found on PATH: %v; %s", motoBinary, err, installHint)
		}
		tb.Skipf("awstest: %s not found on PATH, skipping test that needs the AWS emulator; %s", motoBinary, installHint)
	}

	m := &Moto{out: &lockedBuffer{}, configDir: tb.TempDir()}
	for _, name := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(m.configDir, name), nil, 0o600); err != nil {
			tb.Fatalf("awstest: create empty shared %s file: %v", name, err)
		}
	}

	var lastErr error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("awstest: pick a free port for %s: %v", motoBinary, err)
		}
		m.out.Reset()
		start := time.Now()
		proc, err := startProcess(bin, port, extraEnv, m.out)
		if err != nil {
			tb.Fatalf("awstest: start %s: %v", motoBinary, err)
		}
		m.url = "http://127.0.0.1:" + strconv.Itoa(port)
		err = waitReady(m.url+readyPath, proc.exited)
		if err == nil {
			m.startup = time.Since(start)
			tb.Cleanup(func() {
				proc.stop()
				if tb.Failed() {
					tb.Logf("awstest: %s output (tail):\n%s", motoBinary, m.out.Tail(logTailBytes))
				}
			})
			return m
		}
		proc.stop()
		lastErr = err
		// Another process can grab the port between freePort closing its
		// listener and moto binding it; only that case is worth a retry.
		if !strings.Contains(m.out.String(), "Address already in use") {
			break
		}
	}
	tb.Fatalf("awstest: %s did not become ready: %v\noutput:\n%s", motoBinary, lastErr, m.out.Tail(logTailBytes))
	return nil // unreachable
}

// URL returns moto's base URL, http://127.0.0.1:PORT.
func (m *Moto) URL() string { return m.url }

// StartupTime reports how long moto_server took from exec to answering HTTP.
func (m *Moto) StartupTime() time.Duration { return m.startup }

// Output returns everything moto_server has written to stdout and stderr so
// far (its request log and Python tracebacks for unimplemented operations).
func (m *Moto) Output() string { return m.out.String() }

// Reset wipes all state held by moto (roles, OIDC providers, repositories,
// ...), so one server can be reused by several subtests.
func (m *Moto) Reset(tb testing.TB) {
	tb.Helper()
	client := &http.Client{Timeout: httpTimeout}
	resp, err := client.Post(m.url+resetPath, "application/json", nil)
	if err != nil {
		tb.Fatalf("awstest: reset moto: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("awstest: reset moto: unexpected status %s", resp.Status)
	}
}

// Env returns the environment variables ("KEY=value") that point an exec'd
// binary using the AWS SDK at endpoint (moto's URL or a Proxy's URL) with
// dummy credentials: AWS_ENDPOINT_URL, static credentials with an empty
// AWS_SESSION_TOKEN, region us-east-1, IMDS disabled, and AWS_CONFIG_FILE /
// AWS_SHARED_CREDENTIALS_FILE pointing at empty files so the developer's
// ~/.aws is never read.
//
// Env does not remove other AWS_* variables inherited from the test process
// (AWS_PROFILE, AWS_ENDPOINT_URL_IAM, ...); use Environ for a complete,
// hermetic environment.
func (m *Moto) Env(endpoint string) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(m.configDir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(m.configDir, "credentials"),
	}
}

// Environ returns the test process's environment with every AWS_* variable
// removed and Env(endpoint) added; assign it to exec.Cmd.Env. Append further
// variables after it as needed (later entries win in exec.Cmd).
func (m *Moto) Environ(endpoint string) []string {
	return append(EnvironWithoutAWS(), m.Env(endpoint)...)
}

// EnvironWithoutAWS returns the test process's environment with every
// AWS_* variable removed, so that a command a test runs sees nothing of
// the developer's AWS settings.
func EnvironWithoutAWS() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

// EnvironWithSharedConfig is EnvironWithoutAWS with the shared config and
// credentials files set to configFile and credentialsFile and the instance
// metadata service off: the SDK finds no credentials but theirs.
func EnvironWithSharedConfig(configFile, credentialsFile string) []string {
	return append(EnvironWithoutAWS(), "AWS_CONFIG_FILE="+configFile, "AWS_SHARED_CREDENTIALS_FILE="+credentialsFile, "AWS_EC2_METADATA_DISABLED=true")
}

// Config returns an aws.Config for in-process SDK clients talking to endpoint
// (moto's URL or a Proxy's URL): static credentials testing/testing, region
// us-east-1, BaseEndpoint set to endpoint, empty shared config files (so
// neither ~/.aws nor AWS_PROFILE matter), and the SDK's standard retryer with
// MaxAttempts attempts, backoff capped at MaxBackoff and no client-side retry
// quota, so that retries triggered by injected faults are fast and never run
// out of retry tokens. optFns are applied last and can override any of this.
// Note that the SDK ignores config.WithRetryMaxAttempts when a retryer is
// configured: pass config.WithRetryer, or set RetryMaxAttempts in a service
// client's options, to change the number of attempts.
//
// Config fails the test if AWS_ENDPOINT_URL_IAM, _STS, _ECR or
// _ORGANIZATIONS is set in the environment, because the SDK lets those
// override BaseEndpoint.
func Config(ctx context.Context, tb testing.TB, endpoint string, optFns ...func(*config.LoadOptions) error) aws.Config {
	tb.Helper()

	for _, svc := range []string{"IAM", "STS", "ECR", "ORGANIZATIONS"} {
		if v := os.Getenv("AWS_ENDPOINT_URL_" + svc); v != "" {
			tb.Fatalf("awstest: AWS_ENDPOINT_URL_%s=%s is set and would override the test endpoint %s; unset it", svc, v, endpoint)
		}
	}

	dir := tb.TempDir()
	configFile := filepath.Join(dir, "config")
	credsFile := filepath.Join(dir, "credentials")
	// An explicit, existing but empty profile keeps AWS_PROFILE from the
	// developer's environment from being looked up (and failing).
	for _, f := range []string{configFile, credsFile} {
		if err := os.WriteFile(f, []byte("[default]\n"), 0o600); err != nil {
			tb.Fatalf("awstest: write %s: %v", f, err)
		}
	}

	opts := []func(*config.LoadOptions) error{
		config.WithSharedConfigFiles([]string{configFile}),
		config.WithSharedCredentialsFiles([]string{credsFile}),
		config.WithSharedConfigProfile("default"),
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")),
		config.WithBaseEndpoint(endpoint),
		config.WithUseFIPSEndpoint(aws.FIPSEndpointStateDisabled),
		config.WithUseDualStackEndpoint(aws.DualStackEndpointStateDisabled),
		config.WithEC2IMDSClientEnableState(imds.ClientDisabled),
		config.WithRetryer(fastRetryer),
	}
	cfg, err := config.LoadDefaultConfig(ctx, append(opts, optFns...)...)
	if err != nil {
		tb.Fatalf("awstest: load AWS config for %s: %v", endpoint, err)
	}
	return cfg
}

// fastRetryer is the SDK's standard retryer with MaxAttempts attempts,
// backoff capped at MaxBackoff and no client-side retry quota.
func fastRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = MaxBackoff
		o.RateLimiter = ratelimit.None
	})
}

// inCI reports whether the CI environment variable asks for strict mode.
func inCI() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("CI"))) {
	case "", "false", "0":
		return false
	}
	return true
}

// freePort asks the kernel for a free loopback port. The port is released
// before returning, so there is a small window in which someone else can take
// it; StartMoto retries on that.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// process is a started moto_server.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait returned
	err    error         // cmd.Wait's result, valid after exited is closed
	once   sync.Once
}

func startProcess(bin string, port int, extraEnv []string, out *lockedBuffer) (*process, error) {
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = stopTimeout
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop kills moto and everything it spawned, and waits for it to exit.
func (p *process) stop() {
	p.once.Do(func() {
		killProcessGroup(p.cmd)
		select {
		case <-p.exited:
		case <-time.After(2 * stopTimeout):
		}
	})
}

// waitReady polls url until it answers HTTP at all, the process exits, or
// readyTimeout passes.
func waitReady(url string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("moto_server exited before answering HTTP")
		case <-deadline.C:
			return fmt.Errorf("no HTTP answer from %s within %v (last error: %v)", url, readyTimeout, err)
		case <-tick.C:
		}
	}
}

// lockedBuffer is an io.Writer safe for concurrent use, collecting moto's
// output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Tail returns at most the last n bytes written.
func (b *lockedBuffer) Tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.Bytes()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return string(s)
}

func (b *lockedBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}
