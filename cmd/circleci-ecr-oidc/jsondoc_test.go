package main

import (
	"encoding"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/fleet"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/internal/buildinfo"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// jsonDocPath is the page that documents the --output json contract.
var jsonDocPath = filepath.Join("..", "..", "docs", "json-output.md")

// readJSONDoc returns docs/json-output.md.
func readJSONDoc(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile(jsonDocPath)
	if err != nil {
		t.Fatalf("read %s: %v", jsonDocPath, err)
	}
	return string(doc)
}

// TestJSONOutputDocumented walks the JSON field names of the --output json
// results of setup, plan (both also with --shard), verify, destroy and
// --version, and fails for every name docs/json-output.md does not mention
// as `name`, so that a new field cannot reach scripts undocumented.
func TestJSONOutputDocumented(t *testing.T) {
	doc := readJSONDoc(t)
	roots := []struct {
		name string
		typ  reflect.Type
	}{
		{"setup/plan", reflect.TypeFor[provision.SetupReport]()},
		{"setup/plan --shard", reflect.TypeFor[provision.ShardedReport]()},
		{"verify", reflect.TypeFor[provision.VerifyReport]()},
		{"destroy", reflect.TypeFor[provision.DestroyReport]()},
		{"--version", reflect.TypeFor[buildinfo.Info]()},
	}
	// Where each field name was first met, for the failure message.
	where := map[string]string{}
	var order []string
	for _, r := range roots {
		w := &jsonWalker{module: modulePath(), seen: map[reflect.Type]bool{}}
		w.walk(r.typ, r.name, func(name, path string) {
			if _, ok := where[name]; !ok {
				where[name] = path
				order = append(order, name)
			}
		})
	}
	if len(order) < 50 {
		t.Fatalf("found only %d JSON field names; the walk is broken: %v", len(order), order)
	}
	var missing []string
	for _, name := range order {
		if !strings.Contains(doc, "`"+name+"`") {
			missing = append(missing, name)
			t.Errorf("JSON field `%s` (%s) is not documented in %s", name, where[name], jsonDocPath)
		}
	}
	if len(missing) > 0 {
		t.Logf("add each of %s to %s as `name`, with its type and meaning", strings.Join(missing, ", "), jsonDocPath)
	}
}

// TestJSONValuesDocumented checks that the page lists every value of the
// enumerated string fields: a change's action and resource, a repository's
// state, a verify check's item and a token step's name and status.
func TestJSONValuesDocumented(t *testing.T) {
	doc := readJSONDoc(t)
	values := map[string][]string{
		"change action": {
			string(provision.ActionCreate), string(provision.ActionAddAudience), string(provision.ActionUpdate),
			string(provision.ActionTag), string(provision.ActionAttach), string(provision.ActionDelete),
			string(provision.ActionDetach), string(provision.ActionRemoveStatement),
		},
		"change resource": {
			string(provision.ResourceProvider), string(provision.ResourceRole), string(provision.ResourceTrustPolicy),
			string(provision.ResourceRolePolicy), string(provision.ResourceRepositoryPolicy),
			string(provision.ResourceManagedPolicy), string(provision.ResourceAttachedPolicy),
		},
		"repository state": {
			string(provision.RepoFound), string(provision.RepoMissing), string(provision.RepoPattern), string(provision.RepoOtherAccount),
		},
		"check item": {
			provision.CheckProvider, provision.CheckProviderAudience, provision.CheckRole, provision.CheckOwnership,
			provision.CheckTrustPolicy, provision.CheckPermissionsPolicy, provision.CheckManagedPolicy,
			provision.CheckTags, provision.CheckRepositories,
		},
		"step name": {
			provision.StepIssuer, provision.StepExpiry, provision.StepAudience, provision.StepTrustPolicy,
			provision.StepAssume, provision.StepECRLogin,
		},
		"step status": {string(provision.StepPass), string(provision.StepFail), string(provision.StepSkip)},
	}
	for _, kind := range slices.Sorted(maps.Keys(values)) {
		for _, v := range values[kind] {
			if !strings.Contains(doc, "`"+v+"`") {
				t.Errorf("%s value `%s` is not documented in %s", kind, v, jsonDocPath)
			}
		}
	}
}

// modulePath is this module's import path, derived from a package in it.
func modulePath() string {
	return strings.TrimSuffix(reflect.TypeFor[provision.Change]().PkgPath(), "/provision")
}

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// jsonWalker visits the JSON object keys encoding/json writes for a type:
// json tags (or Go names), fields of embedded structs promoted, and the
// struct types of this module reached through pointers, slices, arrays and
// map values. Types with their own MarshalJSON are not entered.
type jsonWalker struct {
	module string
	seen   map[reflect.Type]bool
}

func (w *jsonWalker) walk(t reflect.Type, path string, visit func(name, path string)) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			path += "[]"
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || !w.ours(t) || w.seen[t] || customJSON(t) {
		return
	}
	w.seen[t] = true
	w.fields(t, path, visit)
}

// fields visits t's fields, descending into embedded structs without a
// name of their own as encoding/json promotes them.
func (w *jsonWalker) fields(t reflect.Type, path string, visit func(name, path string)) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			if !customJSON(ft) {
				w.fields(ft, path, visit)
				continue
			}
		} else if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		visit(name, path+"."+name)
		w.walk(f.Type, path+"."+name, visit)
	}
}

// ours reports whether t is declared in this module (package main included).
func (w *jsonWalker) ours(t reflect.Type) bool {
	p := t.PkgPath()
	return p == "main" || p == w.module || strings.HasPrefix(p, w.module+"/")
}

// customJSON reports whether t writes its own JSON.
func customJSON(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(jsonMarshalerType) || pt.Implements(jsonMarshalerType) ||
		t.Implements(textMarshalerType) || pt.Implements(textMarshalerType)
}

// TestMultiAccountJSONDocumented checks that the members a multi-account run
// adds around each account's object, which fleet.Entry writes itself and
// the walk above cannot see, are named on the page.
func TestMultiAccountJSONDocumented(t *testing.T) {
	doc := readJSONDoc(t)
	entry := fleet.Entry{Account: "111111111111", Name: "prod", Profile: "prod", AssumedRole: "arn:aws:iam::111111111111:role/r", Error: "failed", Result: &provision.SetupReport{}}
	b, err := json.Marshal(fleet.Report{Accounts: []fleet.Entry{entry}})
	if err != nil {
		t.Fatal(err)
	}
	var report map[string][]map[string]json.RawMessage
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatal(err)
	}
	names := append(slices.Collect(maps.Keys(report)), slices.Collect(maps.Keys(report["accounts"][0]))...)
	for _, name := range []string{"accounts", "account", "name", "profile", "assumed_role", "error"} {
		if !slices.Contains(names, name) {
			t.Errorf("the multi-account JSON has no %q: %s", name, b)
		}
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("JSON field `%s` of the multi-account output is not documented in %s", name, jsonDocPath)
		}
	}
}
