package main

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// TestSDKLogsOnlyWithDebug runs plan with no credentials anywhere, on a
// host whose instance metadata endpoint refuses IMDSv2 tokens (403) and has
// no role (404), which is where the SDK's credential chain ends and where
// it logs "WARN falling back to IMDSv1". Without --debug stderr holds only
// the tool's own lines: the progress line, the error and the hint. With
// --debug the SDK's log lines appear too.
func TestSDKLogsOnlyWithDebug(t *testing.T) {
	var tokenRequests atomic.Int32
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
			tokenRequests.Add(1)
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	defer imds.Close()
	var awsRequests atomic.Int32
	aws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		awsRequests.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer aws.Close()
	// Nothing inherited: no credentials in the environment, none in an
	// empty home directory.
	env := []string{
		"HOME=" + t.TempDir(),
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds.URL,
		"AWS_ENDPOINT_URL=" + aws.URL,
	}
	args := slices.Concat([]string{"plan"}, setupArgs[1:])

	quiet := runCmd(t, env, args...)
	if tokenRequests.Load() == 0 {
		t.Fatalf("the credential chain never reached the metadata endpoint; stderr:\n%s", quiet.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(quiet.stderr, "\n"), "\n")
	if quiet.code != exitError || len(lines) != 3 || !strings.HasPrefix(lines[0], "Reading account state") ||
		!strings.HasPrefix(lines[1], "Error: ") || !strings.HasPrefix(lines[2], "Hint: no usable AWS credentials") {
		t.Errorf("without --debug: exit %d, stderr %d lines, want exit 1 and the progress line, the error and the hint:\n%s", quiet.code, len(lines), quiet.stderr)
	}
	if strings.Contains(quiet.stderr, "SDK ") || strings.Contains(quiet.stderr, "IMDSv1") {
		t.Errorf("without --debug the SDK logged to stderr:\n%s", quiet.stderr)
	}

	debug := runCmd(t, env, append(args, "--debug")...)
	if debug.code != exitError || !strings.Contains(debug.stderr, "WARN falling back to IMDSv1") || !strings.Contains(debug.stderr, "\nHint: no usable AWS credentials") {
		t.Errorf("with --debug: exit %d, want 1, the SDK's IMDSv1 warning, and the tool's error and hint:\n%s", debug.code, debug.stderr)
	}
	if n := awsRequests.Load(); n != 0 {
		t.Errorf("%d requests reached AWS without credentials", n)
	}
	t.Logf("no credentials: without --debug stderr is %d lines (%q ...); with --debug %d lines", len(lines), lines[0], strings.Count(debug.stderr, "\n"))
}

// TestOutputEndsWithTheCommand writes to stderr as the SDK's shared
// credential retrieval does, from a goroutine that outlives the command:
// once run has returned, nothing more reaches the caller's writer (and,
// under -race, nothing races with reading it).
func TestOutputEndsWithTheCommand(t *testing.T) {
	var buf strings.Builder
	w := &lockedWriter{w: &buf}
	if _, err := w.Write([]byte("during\n")); err != nil {
		t.Fatal(err)
	}
	w.close()
	n, err := w.Write([]byte("after\n"))
	if n != len("after\n") || err != nil {
		t.Errorf("a write after close returned (%d, %v), want it dropped without an error", n, err)
	}
	if got := buf.String(); got != "during\n" {
		t.Errorf("the writer holds %q, want only the line written before close", got)
	}
}
