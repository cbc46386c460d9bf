package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/circleci"
)

// TestPermissionsCircleCI: --command circleci prints the CircleCI API calls
// (circleci.Calls, whose renderings have golden files) as text or JSON,
// and only alone.
func TestPermissionsCircleCI(t *testing.T) {
	var text, js bytes.Buffer
	if err := circleci.WriteCallsText(&text); err != nil {
		t.Fatal(err)
	}
	if err := circleci.WriteCallsJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"permissions", "--command", "circleci"}, text.String()},
		{[]string{"permissions", "--command", "circleci", "--output", "json"}, js.String()},
	} {
		r := runCmd(t, hermeticEnv(), tt.args...)
		if r.code != 0 || r.stdout != tt.want {
			t.Errorf("%v: exit %d, stdout\n%s\nwant\n%s\nstderr %s", tt.args, r.code, r.stdout, tt.want, r.stderr)
		}
	}
	r := runCmd(t, hermeticEnv(), "permissions", "--command", "circleci,setup")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--command") || !strings.Contains(r.stderr, "give it alone") {
		t.Errorf("circleci with setup: exit %d, stderr %s; want exit %d naming --command", r.code, r.stderr, exitUsage)
	}
}
