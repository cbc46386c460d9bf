package circleciconfig

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/golden"
)

const testRole = "arn:aws:iam::123456789012:role/circleci-ecr-pull"

var testTarget = Target{
	RoleARN: testRole,
	Repositories: []string{
		"arn:aws:ecr:us-east-1:123456789012:repository/app",
		"arn:aws:ecr:us-east-1:123456789012:repository/tools/*",
	},
}

// TestGolden patches every testdata/NAME.in.yml and compares the output,
// the unified diff and the report with NAME.out.yml, NAME.diff and
// NAME.report.txt. go test -update rewrites them.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.in.yml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yml")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			out, rep, err := Patch(src, testTarget)
			if err != nil {
				t.Fatal(err)
			}
			diff, err := Diff(".circleci/config.yml", src, out)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "testdata/"+name+".out.yml", out)
			golden.Check(t, "testdata/"+name+".diff", []byte(diff))
			golden.Check(t, "testdata/"+name+".report.txt", []byte(reportText(rep)))

			// The output is valid YAML, and patching it again changes
			// nothing: the diff of a second run is empty.
			var n yaml.Node
			if err := yaml.Unmarshal(out, &n); err != nil {
				t.Errorf("output does not parse: %v", err)
			}
			again, rep2, err := Patch(out, testTarget)
			if err != nil {
				t.Fatalf("second patch: %v", err)
			}
			if d, _ := Diff("config.yml", out, again); d != "" || len(rep2.Changes) != 0 {
				t.Errorf("second patch is not a no-op: %v\n%s", rep2.Changes, d)
			}
			// Lines the diff does not touch are byte for byte the same,
			// line endings included.
			if bytes.Contains(src, []byte("\r\n")) && bytes.Count(out, []byte("\n")) != bytes.Count(out, []byte("\r\n")) {
				t.Errorf("output mixes line endings:\n%q", out)
			}
		})
	}
}

func reportText(r Report) string {
	var b strings.Builder
	for _, c := range r.Changes {
		fmt.Fprintf(&b, "change: %s\n", c)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}

// The golden files are checked by eye once; these assertions pin down
// what matters in them so that a careless -update cannot bless a
// regression.
func TestPatchProperties(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Run("unrelated images are untouched", func(t *testing.T) {
		src := read("unrelated.in.yml")
		out, rep, err := Patch(src, testTarget)
		if err != nil || !bytes.Equal(out, src) || len(rep.Changes) != 0 {
			t.Errorf("err %v, changes %v, equal %v", err, rep.Changes, bytes.Equal(out, src))
		}
	})
	t.Run("already patched is a no-op", func(t *testing.T) {
		src := read("already.in.yml")
		out, rep, err := Patch(src, testTarget)
		if err != nil || !bytes.Equal(out, src) || len(rep.Changes) != 0 || len(rep.Notes) != 0 {
			t.Errorf("err %v, report %+v", err, rep)
		}
	})
	t.Run("every matching entry pulls with the role and has no keys", func(t *testing.T) {
		for _, name := range []string{"add", "static-keys", "other-role", "realistic", "executors", "crlf"} {
			out, _, err := Patch(read(name+".in.yml"), testTarget)
			if err != nil {
				t.Fatal(err)
			}
			var cfg struct {
				Jobs, Executors map[string]struct {
					Docker []struct {
						Image   string
						AWSAuth map[string]string `yaml:"aws_auth"`
					}
				}
			}
			if err := yaml.Unmarshal(out, &cfg); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for section, m := range map[string]map[string]struct {
				Docker []struct {
					Image   string
					AWSAuth map[string]string `yaml:"aws_auth"`
				}
			}{"jobs": cfg.Jobs, "executors": cfg.Executors} {
				for job, body := range m {
					for i, d := range body.Docker {
						ours := strings.HasPrefix(d.Image, "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:") && !strings.Contains(d.Image, "<<") ||
							strings.HasPrefix(d.Image, "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@") ||
							strings.HasPrefix(d.Image, "123456789012.dkr.ecr.us-east-1.amazonaws.com/tools/")
						if ours && (len(d.AWSAuth) != 1 || d.AWSAuth["oidc_role_arn"] != testRole) {
							t.Errorf("%s: %s.%s docker[%d] %s has aws_auth %v", name, section, job, i, d.Image, d.AWSAuth)
						}
					}
				}
			}
		}
	})
	// CircleCI issues OIDC tokens without a context, so the report never
	// asks for one, whether or not a workflow gives the job a context.
	t.Run("asks for no context", func(t *testing.T) {
		_, rep, err := Patch(read("realistic.in.yml"), testTarget)
		if err != nil {
			t.Fatal(err)
		}
		// Every field of the report, whatever it holds.
		if all := fmt.Sprintf("%+v", rep); strings.Contains(all, "context") {
			t.Errorf("the report mentions a context:\n%s", all)
		}
		if !strings.Contains(strings.Join(rep.Notes, "\n"), "pipeline.parameters.tag") {
			t.Errorf("no note about the parameterised image: %v", rep.Notes)
		}
	})
	t.Run("executor users are named", func(t *testing.T) {
		_, rep, err := Patch(read("executors.in.yml"), testTarget)
		if err != nil {
			t.Fatal(err)
		}
		if notes := strings.Join(rep.Notes, "\n"); !strings.Contains(notes, "compile, package") {
			t.Errorf("notes:\n%s", notes)
		}
		if all := fmt.Sprintf("%+v", rep); strings.Contains(all, "context") {
			t.Errorf("the report mentions a context:\n%s", all)
		}
	})
}

func TestPatchEdgeCases(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{
			name: "no newline at the end of the file",
			in:   "jobs:\n  a:\n    docker:\n      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
			want: "jobs:\n  a:\n    docker:\n      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n        aws_auth:\n          oidc_role_arn: " + testRole + "\n",
		},
		{
			name: "four-space indentation is kept",
			in:   "jobs:\n    a:\n        docker:\n            -   image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n                user: ci\n",
			want: "jobs:\n    a:\n        docker:\n            -   image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n                aws_auth:\n                    oidc_role_arn: " + testRole + "\n                user: ci\n",
		},
		{
			name: "aws_auth from an alias is replaced in place",
			in:   "keys: &keys\n  aws_access_key_id: a\n  aws_secret_access_key: b\njobs:\n  a:\n    docker:\n      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n        aws_auth: *keys\n",
			want: "keys: &keys\n  aws_access_key_id: a\n  aws_secret_access_key: b\njobs:\n  a:\n    docker:\n      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n        aws_auth:\n          oidc_role_arn: " + testRole + "\n",
		},
		{
			name: "aws_auth before the image",
			in:   "jobs:\n  a:\n    docker:\n      - aws_auth:\n          oidc_role_arn: arn:aws:iam::123456789012:role/old\n        image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n",
			want: "jobs:\n  a:\n    docker:\n      - aws_auth:\n          oidc_role_arn: " + testRole + "\n        image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n",
		},
		{
			name: "quoted braces in a flow entry",
			in:   "jobs:\n  a:\n    docker: [{image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/app', name: 'x}y' } ] # c\n",
			want: "jobs:\n  a:\n    docker: [{image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/app', name: 'x}y', aws_auth: {oidc_role_arn: " + testRole + "} } ] # c\n",
		},
		{
			name: "flow entry over two lines with a trailing comma",
			in:   "jobs:\n  a:\n    docker:\n      - { image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/tools/x,\n          user: ci, }\n",
			want: "jobs:\n  a:\n    docker:\n      - { image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/tools/x,\n          user: ci, aws_auth: {oidc_role_arn: " + testRole + "} }\n",
		},
		{
			name: "aws_auth merged into the entry is overridden by an explicit key",
			in:   "auth: &auth\n  aws_auth: {aws_access_key_id: a, aws_secret_access_key: b}\njobs:\n  a:\n    docker:\n      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n        <<: *auth\n",
			want: "auth: &auth\n  aws_auth: {aws_access_key_id: a, aws_secret_access_key: b}\njobs:\n  a:\n    docker:\n      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n        aws_auth:\n          oidc_role_arn: " + testRole + "\n        <<: *auth\n",
		},
		{
			name: "empty document",
			in:   "",
			want: "",
		},
		{
			// Found by FuzzPatch: looking a key up through the merge
			// key recursed without end.
			name: "a job that merges itself",
			in:   "jobs:\n  j: &x\n    <<: *x\n    docker:\n      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n",
			want: "jobs:\n  j: &x\n    <<: *x\n    docker:\n      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n        aws_auth:\n          oidc_role_arn: " + testRole + "\n",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := Patch([]byte(c.in), testTarget)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != c.want {
				d, _ := Diff("want", []byte(c.want), out)
				t.Errorf("got:\n%s\ndiff from want:\n%s", out, d)
			}
		})
	}
}

func TestPatchErrors(t *testing.T) {
	if _, _, err := Patch([]byte("jobs: [unclosed"), testTarget); err == nil || !strings.HasPrefix(err.Error(), "parse config: ") {
		t.Errorf("invalid YAML: err = %v", err)
	}
	// An anchored aws_auth is left alone with a note: replacing it would
	// break the aliases to it.
	anchored := "jobs:\n  a:\n    docker:\n      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n        aws_auth: &keys\n          aws_access_key_id: a\n          aws_secret_access_key: b\n  b:\n    docker:\n      - image: cimg/base:current\n        aws_auth: *keys\n"
	out, rep, err := Patch([]byte(anchored), testTarget)
	if err != nil || string(out) != anchored || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "&keys") {
		t.Errorf("anchored aws_auth: err %v, notes %v\n%s", err, rep.Notes, out)
	}
	if _, _, err := Patch([]byte("- a\n- b\n"), testTarget); err == nil {
		t.Error("a sequence document was accepted")
	}
	if _, _, err := Patch([]byte("jobs: {}\n"), Target{RoleARN: testRole, Repositories: []string{"app"}}); err == nil {
		t.Error("a repository name instead of an ARN was accepted")
	}
}

func TestDiffEqualIsEmpty(t *testing.T) {
	if d, err := Diff("x", []byte("a\n"), []byte("a\n")); d != "" || err != nil {
		t.Errorf("Diff = %q, %v", d, err)
	}
}

// TestPatchAWSAuthShapes gives the matching entry an aws_auth of every
// shape YAML allows: each is replaced by exactly {oidc_role_arn: role},
// with every other value of the file as it was, or refused with a note
// that names its line, the file unchanged. None may end as "a bug".
func TestPatchAWSAuthShapes(t *testing.T) {
	const head = "jobs:\n  j:\n    docker:\n      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n"
	tests := []struct {
		name, tail string
		refused    bool
	}{
		{"sequence at the key's indentation", "        aws_auth:\n        - a\n        - b\n        x: 1\n", false},
		{"empty item at the key's indentation, last in the file", "        aws_auth:\n        -", false},
		{"nested sequences at the key's indentation", "        aws_auth:\n        - - a\n          - b\n        x: 1\n", false},
		{"mappings at the key's indentation", "        aws_auth:\n        - a: 1\n          b: 2\n        x: 1\n", false},
		{"comment before a sequence", "        aws_auth:\n        # keys\n        - a\n        x: 1\n", false},
		{"tagged sequence", "        aws_auth: !!seq\n        - a\n", false},
		{"indented sequence", "        aws_auth:\n          - a\n        x: 1\n", false},
		{"flow sequence over lines", "        aws_auth: [a,\n        b]\n        x: 1\n", false},
		{"flow sequence continued left of its key", "        aws_auth: [a,\n      b]\n", false},
		{"flow mapping over lines", "        aws_auth: {a: 1,\n        b: 2}\n        x: 1\n", false},
		{"double-quoted over lines", "        aws_auth: \"a\n  b\"\n        x: 1\n", false},
		{"single-quoted over lines", "        aws_auth: 'a\n        b'\n", false},
		{"plain over lines", "        aws_auth: a\n         b\n        x: 1\n", false},
		{"literal block", "        aws_auth: |\n          #!/bin/sh\n        x: 1\n", false},
		{"folded block with blank lines", "        aws_auth: >-\n\n          text\n\n        x: 1\n", false},
		{"null", "        aws_auth:\n        x: 1\n", false},
		{"alias", "        aws_auth: *keys\n", false},
		{"static keys", "        aws_auth:\n          aws_access_key_id: a\n          aws_secret_access_key: b\n", false},
		{"before the image", "        x: 1\n      - aws_auth:\n        - a\n        image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n", false},
		{"before the next entry", "        aws_auth:\n        - a\n      - image: alpine\n", false},
		{"before a document end", "        aws_auth:\n        - a\n...\n", false},
		{"before a second document", "        aws_auth:\n        - a\n---\nx: 1\n", false},
		{"explicit key", "        ? aws_auth\n        : a\n", true},
		{"explicit key and sequence", "        ? aws_auth\n        : - a\n", true},
		{"anchored sequence", "        aws_auth: &a\n        - a\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []byte("keys: &keys [k]\n" + head + tt.tail)
			var before map[string]any
			if err := yaml.Unmarshal(src, &before); err != nil {
				t.Fatalf("the input is not YAML: %v", err)
			}
			out, rep, err := Patch(src, testTarget)
			if err != nil {
				t.Fatalf("Patch: %v", err)
			}
			if tt.refused {
				if !bytes.Equal(out, src) || len(rep.Changes) != 0 {
					t.Errorf("changed the file:\n%s", out)
				}
				if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "(line 6)") || !strings.Contains(rep.Notes[0], "set aws_auth by hand") {
					t.Errorf("notes %q, want one naming line 6", rep.Notes)
				}
				return
			}
			if len(rep.Changes) == 0 || len(rep.Notes) != 0 {
				t.Fatalf("report %+v, want changes and no notes\n%s", rep, out)
			}
			var after map[string]any
			if err := yaml.Unmarshal(out, &after); err != nil {
				t.Fatalf("output is not YAML: %v\n%s", err, out)
			}
			entry := before["jobs"].(map[string]any)["j"].(map[string]any)["docker"].([]any)
			for _, e := range entry {
				if m := e.(map[string]any); m["image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/app" {
					m["aws_auth"] = map[string]any{"oidc_role_arn": testRole}
				}
			}
			if !reflect.DeepEqual(after, before) {
				t.Errorf("output\n%s\nreads as\n%v\nwant\n%v", out, after, before)
			}
		})
	}
}

// TestPatchFlowEntryQuotesRole patches flow-style entries for a role whose
// name holds a comma, which ends a plain scalar in a flow mapping.
func TestPatchFlowEntryQuotesRole(t *testing.T) {
	role := "arn:aws:iam::123456789012:role/ci{x}/ci,pull"
	target := Target{RoleARN: role, Repositories: testTarget.Repositories}
	src := []byte("jobs:\n  j:\n    docker:\n      - {image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app}\n" +
		"      - {image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1, aws_auth: {oidc_role_arn: old}}\n")
	out, rep, err := Patch(src, target)
	if err != nil || len(rep.Changes) != 2 {
		t.Fatalf("Patch: %v, %+v", err, rep)
	}
	var cfg struct {
		Jobs map[string]struct {
			Docker []map[string]any
		}
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("output is not YAML: %v\n%s", err, out)
	}
	for i, d := range cfg.Jobs["j"].Docker {
		if auth, ok := d["aws_auth"].(map[string]any); !ok || len(d) != 2 || len(auth) != 1 || auth["oidc_role_arn"] != role {
			t.Errorf("docker[%d] = %v, want aws_auth {oidc_role_arn: %s}\n%s", i, d, role, out)
		}
	}
}

// TestPatchMergeKeys gives merge keys that YAML parsers accept but that
// loop or branch: a mapping that merges itself, directly or through
// another, and a chain of mappings that each merge the previous one twice,
// which a search that follows every merge would take 2^40 steps over.
// Each must be patched (or left alone) in well under a second.
func TestPatchMergeKeys(t *testing.T) {
	var chain strings.Builder
	chain.WriteString("m0: &m0 {k: 1}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&chain, "m%d: &m%d\n  <<: [*m%d, *m%d]\n", i, i, i-1, i-1)
	}
	chain.WriteString("jobs:\n  j: *m40\nexecutors:\n  e: *m40\nworkflows:\n  w: *m40\n")
	inputs := map[string]string{
		"self":             "jobs:\n  j: &x\n    <<: *x\n    docker:\n      - image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n",
		"mutual":           "executors:\n  a: &a\n    x: &b\n      <<: *a\n    <<: *b\njobs:\n  j:\n    executor: a\n",
		"self at the root": "&r\n<<: *r\njobs:\n  j:\n    <<: *r\n",
		"chain":            chain.String(),
	}
	for name, src := range inputs {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			start := time.Now()
			go func() {
				_, _, err := Patch([]byte(src), testTarget)
				done <- err
			}()
			select {
			case err := <-done:
				if err != nil && strings.Contains(err.Error(), "a bug") {
					t.Fatal(err)
				}
				t.Logf("%v (%v)", err, time.Since(start))
			case <-time.After(10 * time.Second):
				t.Fatal("Patch still runs after 10s")
			}
		})
	}
}

// FuzzPatch checks that Patch never panics, and that whatever it returns
// without an error parses and is a fixed point.
func FuzzPatch(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/*.in.yml")
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, _, err := Patch(src, testTarget)
		if err != nil {
			if strings.Contains(err.Error(), "a bug") {
				t.Fatalf("%v\n%s", err, src)
			}
			return
		}
		var n yaml.Node
		if err := yaml.Unmarshal(out, &n); err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
		again, rep, err := Patch(out, testTarget)
		if err != nil || len(rep.Changes) > 0 || !bytes.Equal(again, out) {
			t.Fatalf("not a fixed point: %v %v", err, rep.Changes)
		}
	})
}
