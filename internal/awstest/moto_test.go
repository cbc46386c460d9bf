package awstest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// helperEnv makes the test binary act as an "exec'd AWS CLI tool" for
// TestEnvironForExecdBinary.
const helperEnv = "AWSTEST_HELPER_PROCESS"

func TestStartMoto(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := StartMoto(t)
	t.Logf("moto_server ready after %v at %s", m.StartupTime(), m.URL())
	if !strings.HasPrefix(m.URL(), "http://127.0.0.1:") {
		t.Errorf("URL() = %q, want http://127.0.0.1:PORT", m.URL())
	}
	if m.StartupTime() <= 0 || m.StartupTime() > readyTimeout {
		t.Errorf("StartupTime() = %v, want within (0, %v]", m.StartupTime(), readyTimeout)
	}

	cfg := Config(ctx, t, m.URL())
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if got := aws.ToString(out.Account); got != AccountID {
		t.Errorf("account = %q, want %q", got, AccountID)
	}

	// Reset wipes moto's state.
	client := iam.NewFromConfig(cfg)
	createRole(ctx, t, client, "reset-me")
	m.Reset(t)
	_, err = client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("reset-me")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("GetRole after Reset: err = %v, want NoSuchEntityException", err)
	}
	if !strings.Contains(m.Output(), "POST / HTTP/1.1") {
		t.Errorf("Output() does not contain moto's request log:\n%s", m.Output())
	}
}

func TestStartMotoExtraEnv(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const account = "210987654321"
	m := StartMoto(t, "MOTO_ACCOUNT_ID="+account)
	out, err := sts.NewFromConfig(Config(ctx, t, m.URL())).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if got := aws.ToString(out.Account); got != account {
		t.Errorf("account = %q, want %q (MOTO_ACCOUNT_ID not passed to moto?)", got, account)
	}
}

// TestConfigIsHermetic checks that a developer's AWS environment cannot
// redirect or break Config.
func TestConfigIsHermetic(t *testing.T) {
	ctx := t.Context()
	m := StartMoto(t)
	t.Setenv("AWS_PROFILE", "profile-that-does-not-exist")
	t.Setenv("AWS_REGION", "eu-west-3")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKING")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "real-looking")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")

	cfg := Config(ctx, t, m.URL())
	if cfg.Region != Region {
		t.Errorf("Region = %q, want %q", cfg.Region, Region)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("retrieve credentials: %v", err)
	}
	if creds.AccessKeyID != AccessKeyID || creds.SecretAccessKey != SecretAccessKey || creds.SessionToken != "" {
		t.Errorf("credentials = %q/%q/%q, want %s/%s and no session token",
			creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, AccessKeyID, SecretAccessKey)
	}
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("GetCallerIdentity through BaseEndpoint: %v", err)
	}
	// Callers can still override settings.
	if got := cfg.Retryer().MaxAttempts(); got != MaxAttempts {
		t.Errorf("retryer MaxAttempts() = %d, want %d", got, MaxAttempts)
	}
	cfg = Config(ctx, t, m.URL(), config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }))
	if _, ok := cfg.Retryer().(aws.NopRetryer); !ok {
		t.Errorf("retryer = %T, want the aws.NopRetryer passed in optFns", cfg.Retryer())
	}
}

func TestEnv(t *testing.T) {
	m := &Moto{configDir: t.TempDir()}
	env := m.Env("http://127.0.0.1:4242")
	want := map[string]string{
		"AWS_ENDPOINT_URL":          "http://127.0.0.1:4242",
		"AWS_ACCESS_KEY_ID":         "testing",
		"AWS_SECRET_ACCESS_KEY":     "testing",
		"AWS_SESSION_TOKEN":         "",
		"AWS_REGION":                "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	for k, v := range want {
		if gv, ok := got[k]; !ok || gv != v {
			t.Errorf("Env()[%s] = %q (present %v), want %q", k, gv, ok, v)
		}
	}
	for _, k := range []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		if !strings.HasPrefix(got[k], m.configDir) {
			t.Errorf("%s = %q, want a file in the test's temp dir %s", k, got[k], m.configDir)
		}
	}

	t.Setenv("AWS_PROFILE", "leaky")
	t.Setenv("AWS_ENDPOINT_URL_IAM", "http://leaky")
	t.Setenv("AWSTEST_KEEP", "kept")
	environ := m.Environ("http://127.0.0.1:4242")
	for _, kv := range environ {
		if strings.HasPrefix(kv, "AWS_PROFILE=") || strings.HasPrefix(kv, "AWS_ENDPOINT_URL_IAM=") {
			t.Errorf("Environ() leaks %q", kv)
		}
	}
	if !slices.Contains(environ, "AWSTEST_KEEP=kept") {
		t.Errorf("Environ() dropped a non-AWS variable")
	}
	if !slices.Contains(environ, "AWS_ENDPOINT_URL=http://127.0.0.1:4242") {
		t.Errorf("Environ() lacks AWS_ENDPOINT_URL")
	}
}

// TestEnvironForExecdBinary runs a child process that loads its AWS config
// the way a production binary does (config.LoadDefaultConfig with no
// options) and checks that Environ routes it to the emulator, through a
// proxy.
func TestEnvironForExecdBinary(t *testing.T) {
	m := StartMoto(t)
	p := NewProxy(t, m.URL())

	// A developer's profile must not leak into the child.
	t.Setenv("AWS_PROFILE", "profile-that-does-not-exist")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(m.Environ(p.URL()), helperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "account="+AccountID+" region="+Region) {
		t.Errorf("helper output = %q, want account=%s region=%s", out, AccountID, Region)
	}
	if got := p.Counts(); got["GetCallerIdentity"] != 1 || p.Total() != 1 {
		t.Errorf("proxy saw %v (total %d), want exactly one GetCallerIdentity", got, p.Total())
	}
}

// TestHelperProcess is not a real test: it is the child process of
// TestEnvironForExecdBinary.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load config:", err)
		os.Exit(2)
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "GetCallerIdentity:", err)
		os.Exit(3)
	}
	fmt.Printf("account=%s region=%s\n", aws.ToString(out.Account), cfg.Region)
	os.Exit(0)
}

// fakeTB records Skip and Fatal instead of acting on them, apart from ending
// the goroutine like the real ones do.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartMotoMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no moto_server here
	for _, tc := range []struct {
		ci       string
		wantFail bool
	}{
		{"", false},
		{"false", false},
		{"0", false},
		{"true", true},
		{"1", true},
		{"yes", true},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			f := &fakeTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				StartMoto(f)
				t.Error("StartMoto returned without moto_server on PATH")
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("StartMoto hung")
			}
			if f.failed != tc.wantFail || f.skipped == tc.wantFail {
				t.Errorf("failed=%v skipped=%v, want failed=%v skipped=%v", f.failed, f.skipped, tc.wantFail, !tc.wantFail)
			}
			for _, want := range []string{"moto_server", "pip install --user 'moto[server]'", "make test"} {
				if !strings.Contains(f.msg, want) {
					t.Errorf("message %q does not mention %q", f.msg, want)
				}
			}
			if tc.wantFail && !strings.Contains(f.msg, "required in CI") {
				t.Errorf("message %q does not say moto_server is required in CI", f.msg)
			}
		})
	}
}

func createRole(ctx context.Context, t *testing.T, client *iam.Client, name string) {
	t.Helper()
	_, err := client.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
	})
	if err != nil {
		t.Fatalf("CreateRole(%s): %v", name, err)
	}
}
