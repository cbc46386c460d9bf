package provision

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// interruptible wraps the fake so that one CreateRole call blocks until the
// test lets it go, and records whether the call's context had ended, as the
// SDK would notice.
type interruptible struct {
	*fakeAWS
	held    chan struct{} // closed when CreateRole is in flight
	release chan struct{} // closed by the test to let CreateRole finish
	// untilDone makes CreateRole wait for its context instead of release.
	untilDone bool

	mu     sync.Mutex
	ctxErr error
}

func newInterruptible(f *fakeAWS) *interruptible {
	return &interruptible{fakeAWS: f, held: make(chan struct{}), release: make(chan struct{})}
}

func (h *interruptible) CreateRole(ctx context.Context, in *iam.CreateRoleInput, opts ...func(*iam.Options)) (*iam.CreateRoleOutput, error) {
	close(h.held)
	if h.untilDone {
		<-ctx.Done()
	} else {
		<-h.release
	}
	h.mu.Lock()
	h.ctxErr = ctx.Err()
	h.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err // the SDK abandons a request whose context ended
	}
	return h.fakeAWS.CreateRole(ctx, in, opts...)
}

func changeNames(cs []Change) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, string(c.Action)+" "+string(c.Resource))
	}
	slices.Sort(out)
	return out
}

// An interruption while CreateRole is in flight lets that call finish and
// reports it as applied; the role policy, not yet started, is not applied.
func TestApplyInterruptWaitsForInFlightWrite(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	h := newInterruptible(f)
	ctx, interrupt := context.WithCancelCause(context.Background())
	type outcome struct {
		res Result
		err error
	}
	done := make(chan outcome, 1)
	// The provider's creation does not wait for the role: the interruption
	// comes once it has ended, so that it is the one write that landed
	// besides the role's.
	providerDone := make(chan struct{})
	progress := func(e Event) {
		if e.Done && e.Change.Resource == ResourceProvider {
			close(providerDone)
		}
	}
	go func() {
		res, err := Apply(ctx, h, p, Options{Progress: progress})
		done <- outcome{res, err}
	}()
	<-h.held
	<-providerDone
	interrupt(errors.New("interrupt signal received"))
	select {
	case o := <-done:
		t.Fatalf("Apply returned while CreateRole was in flight: %+v, %v", o.res, o.err)
	case <-time.After(50 * time.Millisecond):
	}
	close(h.release)
	o := <-done

	if h.ctxErr != nil {
		t.Errorf("the in-flight CreateRole saw its context end: %v", h.ctxErr)
	}
	var applyErr *ApplyError
	if !errors.As(o.err, &applyErr) || !strings.Contains(o.err.Error(), "interrupt signal received") {
		t.Fatalf("Apply error = %v, want an *ApplyError naming the interruption", o.err)
	}
	if got, want := changeNames(o.res.Applied), []string{"create iam-role", "create oidc-provider"}; !slices.Equal(got, want) {
		t.Errorf("applied = %v, want %v", got, want)
	}
	if got, want := changeNames(o.res.NotApplied), []string{"create role-policy"}; !slices.Equal(got, want) {
		t.Errorf("not applied = %v, want %v", got, want)
	}
	if _, ok := f.roles[DefaultRoleName]; !ok {
		t.Error("the role reported as applied does not exist")
	}
	if slices.Contains(f.writes(), "PutRolePolicy") {
		t.Error("PutRolePolicy started after the interruption")
	}

	// A rerun completes the rest.
	p2, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	if got := changeKeys(p2); !slices.Equal(got, []string{"create role-policy"}) {
		t.Errorf("rerun plans %v, want only the role policy", got)
	}
	if _, err := Apply(context.Background(), f, p2, Options{}); err != nil {
		t.Fatalf("rerun: %v", err)
	}
}

// A call that does not return within the grace period after an
// interruption is cut off and reported as not applied, with a message that
// says its outcome is unknown.
func TestApplyInterruptGraceBoundsInFlightWrite(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	h := newInterruptible(f)
	h.untilDone = true
	ctx, interrupt := context.WithCancel(context.Background())
	go func() {
		<-h.held
		interrupt()
	}()
	start := time.Now()
	res, err := Apply(ctx, h, p, Options{InterruptGrace: 30 * time.Millisecond})
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Apply took %s, want about the grace period", elapsed)
	}
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "may or may not have been applied") {
		t.Errorf("error = %v, want a cancellation saying the outcome is unknown", err)
	}
	if slices.Contains(changeNames(res.Applied), "create iam-role") {
		t.Errorf("applied = %v: a cut-off call must not be reported as applied", changeNames(res.Applied))
	}
}

// An interruption during a propagation wait ends the wait at once.
func TestApplyInterruptEndsPropagationWait(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	f.failures["PutRolePolicy"] = apiError("NoSuchEntity")
	ctx, interrupt := context.WithCancel(context.Background())
	start := time.Now()
	res, err := Apply(ctx, f, p, Options{
		PropagationWaits: []time.Duration{time.Hour},
		Progress: func(e Event) {
			if e.Message != "" {
				interrupt()
			}
		},
	})
	if time.Since(start) > 5*time.Second {
		t.Errorf("Apply kept waiting after the interruption")
	}
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "propagate") {
		t.Errorf("error = %v", err)
	}
	// The provider does not depend on the role, so whether its create
	// started before the interruption is up to scheduling; the role's
	// policy, which was waiting, must not be applied, and nothing else may
	// be left out.
	got := changeNames(res.NotApplied)
	if !slices.Contains(got, "create role-policy") {
		t.Errorf("not applied = %v, want create role-policy among them", got)
	}
	for _, c := range got {
		if c != "create role-policy" && c != "create oidc-provider" {
			t.Errorf("not applied = %v: %s was interrupted although nothing it depends on waited", got, c)
		}
	}
	if len(res.Applied)+len(res.NotApplied) != len(p.Changes) {
		t.Errorf("applied %d + not applied %d, want the plan's %d changes", len(res.Applied), len(res.NotApplied), len(p.Changes))
	}
}

// landedTwice makes CreateRole and CreateOpenIDConnectProvider land but
// answer EntityAlreadyExists, as a retry does when the first attempt's
// response was lost to a dropped connection.
type landedTwice struct{ *fakeAWS }

func (l landedTwice) CreateRole(ctx context.Context, in *iam.CreateRoleInput, opts ...func(*iam.Options)) (*iam.CreateRoleOutput, error) {
	if _, err := l.fakeAWS.CreateRole(ctx, in, opts...); err != nil {
		return nil, err
	}
	return l.fakeAWS.CreateRole(ctx, in, opts...)
}

func (l landedTwice) CreateOpenIDConnectProvider(ctx context.Context, in *iam.CreateOpenIDConnectProviderInput, opts ...func(*iam.Options)) (*iam.CreateOpenIDConnectProviderOutput, error) {
	if _, err := l.fakeAWS.CreateOpenIDConnectProvider(ctx, in, opts...); err != nil {
		return nil, err
	}
	return l.fakeAWS.CreateOpenIDConnectProvider(ctx, in, opts...)
}

// A retried create whose first attempt landed is recognised as our own and
// converges without a redundant write.
func TestApplyRetriedCreateThatLandedConverges(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(context.Background(), landedTwice{f}, p, Options{})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(res.NotApplied) != 0 {
		t.Errorf("not applied: %v", res.NotApplied)
	}
	want := []string{"CreateOpenIDConnectProvider", "CreateOpenIDConnectProvider", "CreateRole", "CreateRole", "PutRolePolicy"}
	if got := f.writes(); !slices.Equal(got, want) {
		t.Errorf("writes = %v, want %v (no update, tag or audience write)", got, want)
	}
}

// After losing the provider race to a provider without our audience, only
// the audience is added: the shared provider's tags stay as they are.
func TestApplyProviderRaceLostAddsOnlyAudience(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	theirTags := []iamtypes.Tag{{Key: aws.String("owner"), Value: aws.String("someone-else")}}
	f.providers[testProviderARN] = &fakeProvider{clientIDs: []string{"sts.amazonaws.com"}, tags: theirTags}
	if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	prov := f.providers[testProviderARN]
	if !slices.Equal(prov.clientIDs, []string{"sts.amazonaws.com", testOrg}) || !slices.Equal(prov.tags, theirTags) {
		t.Errorf("provider = %+v, want only our audience added", prov)
	}
}

// A role of another organization that appears between plan and apply is
// refused by the same rule the plan applies, and left untouched.
func TestApplyRaceLostToOtherOrganizationsRoleFails(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	theirs := ownedTags(otherProj)
	f.roles[DefaultRoleName] = &fakeRole{trust: `{"Statement":[]}`, tags: theirs, inline: map[string]string{}}
	_, err = Apply(context.Background(), f, p, Options{})
	if !errors.Is(err, ErrNotOwned) || !strings.Contains(err.Error(), otherProj) {
		t.Fatalf("Apply error = %v, want ErrNotOwned naming the other organization", err)
	}
	if r := f.roles[DefaultRoleName]; r.trust != `{"Statement":[]}` || len(r.inline) != 0 || !slices.Equal(r.tags, theirs) {
		t.Errorf("the other organization's role was changed: %+v", r)
	}
	if w := f.writes(); slices.ContainsFunc(w, func(op string) bool { return op != "CreateRole" && op != "CreateOpenIDConnectProvider" }) {
		t.Errorf("writes = %v, want no write to the role", w)
	}
}

// With --adopt, a role that appeared meanwhile is taken over completely:
// trust policy, policy and tags, as a plan for an existing role would.
func TestApplyRaceLostWithAdoptConverges(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	spec := validSpec()
	spec.Adopt = true
	spec.Tags = map[string]string{"team": "platform"}
	p, err := planFor(t, f, spec)
	if err != nil {
		t.Fatal(err)
	}
	f.roles[DefaultRoleName] = &fakeRole{trust: `{"Statement":[]}`, inline: map[string]string{}}
	if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	p2, err := planFor(t, f, spec)
	if err != nil {
		t.Fatal(err)
	}
	if p2.HasChanges() {
		t.Errorf("after adopting in the race, a rerun plans %v", changeKeys(p2))
	}
}

// notVisible makes GetRole miss the role a few times after CreateRole said
// it exists, as IAM's eventual consistency can.
type notVisible struct {
	*fakeAWS
	misses int
}

func (n *notVisible) GetRole(ctx context.Context, in *iam.GetRoleInput, opts ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	n.mu.Lock()
	miss := n.misses > 0
	n.misses--
	n.mu.Unlock()
	if miss {
		return nil, apiError("NoSuchEntity")
	}
	return n.fakeAWS.GetRole(ctx, in, opts...)
}

func TestApplyRaceLostReReadWaitsForPropagation(t *testing.T) {
	f := newFakeAWS()
	f.repos["app"] = true
	p, err := planFor(t, f, validSpec())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := planFor(t, f, validSpec())
	if _, err := Apply(context.Background(), f, other, Options{}); err != nil {
		t.Fatal(err)
	}
	var messages []string
	var mu sync.Mutex
	_, err = Apply(context.Background(), &notVisible{fakeAWS: f, misses: 2}, p, Options{
		PropagationWaits: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond},
		Progress: func(e Event) {
			mu.Lock()
			defer mu.Unlock()
			if e.Message != "" {
				messages = append(messages, e.Message)
			}
		},
	})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(messages) != 2 || !strings.Contains(messages[0], "role "+DefaultRoleName+" not visible yet") {
		t.Errorf("progress = %q", messages)
	}
}

func tagMap(tags []iamtypes.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func TestPlanAndApplyExtraTags(t *testing.T) {
	extra := map[string]string{"team": "platform", "cost center": "ci/cd"}
	spec := validSpec()
	spec.Tags = extra
	want := maps.Clone(extra)
	want[ManagedTag], want[OrgIDTag] = "true", testOrg

	t.Run("created resources carry them", func(t *testing.T) {
		f := newFakeAWS()
		f.repos["app"] = true
		p, err := planFor(t, f, spec)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(p.Tags(), want) {
			t.Errorf("Plan.Tags() = %v, want %v", p.Tags(), want)
		}
		if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
			t.Fatal(err)
		}
		if got := tagMap(f.roles[DefaultRoleName].tags); !maps.Equal(got, want) {
			t.Errorf("role tags = %v, want %v", got, want)
		}
		if got := tagMap(f.providers[testProviderARN].tags); !maps.Equal(got, want) {
			t.Errorf("provider tags = %v, want %v", got, want)
		}
		f.calls = nil
		p2, _ := planFor(t, f, spec)
		if p2.HasChanges() {
			t.Errorf("rerun plans %v", changeKeys(p2))
		}
	})

	tests := []struct {
		name      string
		roleTags  map[string]string
		tags      map[string]string
		want      []string
		reason    string
		errSubstr string
	}{
		{"owned role lacks an extra tag", map[string]string{"team": "platform"}, extra, []string{"tag iam-role"}, "set tags cost center", ""},
		{"owned role has another value", map[string]string{"team": "web", "cost center": "ci/cd"}, extra, []string{"tag iam-role"}, "set tags team", ""},
		{"owned role has them", maps.Clone(extra), extra, nil, "", ""},
		{"key case differs, as IAM ignores for roles", map[string]string{"Team": "platform"}, map[string]string{"team": "platform"}, nil, "", ""},
		{"no extra tags asked", map[string]string{"team": "web"}, nil, nil, "", ""},
		{"too many tags in total", manyTags(40, "old"), manyTags(20, "new"), nil, "", "over IAM's limit of 50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := converged(t)
			r := f.roles[DefaultRoleName]
			for k, v := range tt.roleTags {
				r.tags = append(r.tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			provTags := slices.Clone(f.providers[testProviderARN].tags)
			s := validSpec()
			s.Tags = tt.tags
			p, err := planFor(t, f, s)
			if tt.errSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errSubstr) {
					t.Fatalf("NewPlan error = %v, want %q", err, tt.errSubstr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := changeKeys(p); !slices.Equal(got, tt.want) {
				t.Fatalf("changes = %v, want %v", got, tt.want)
			}
			if tt.reason != "" && p.Changes[0].Reason != tt.reason {
				t.Errorf("reason = %q, want %q", p.Changes[0].Reason, tt.reason)
			}
			if _, err := Apply(context.Background(), f, p, Options{}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f.providers[testProviderARN].tags, provTags) {
				t.Errorf("the existing provider was retagged")
			}
			if p2, _ := planFor(t, f, s); p2.HasChanges() {
				t.Errorf("rerun plans %v", changeKeys(p2))
			}
		})
	}
}

func manyTags(n int, prefix string) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[prefix+string(rune('a'+i%26))+strings.Repeat("x", i/26)] = "v"
	}
	return m
}

func TestParseTags(t *testing.T) {
	ok := []struct {
		in   []string
		want map[string]string
	}{
		{[]string{"team=platform"}, map[string]string{"team": "platform"}},
		{[]string{"empty="}, map[string]string{"empty": ""}},
		{[]string{"k=a=b"}, map[string]string{"k": "a=b"}},
		{[]string{"Cost Center=ci/cd:+-@._"}, map[string]string{"Cost Center": "ci/cd:+-@._"}},
		{[]string{"équipe=Plateforme", "部門=開発"}, map[string]string{"équipe": "Plateforme", "部門": "開発"}},
		{[]string{strings.Repeat("k", 128) + "=" + strings.Repeat("v", 256)}, map[string]string{strings.Repeat("k", 128): strings.Repeat("v", 256)}},
		{[]string{strings.Repeat("é", 128) + "=" + strings.Repeat("ü", 256)}, map[string]string{strings.Repeat("é", 128): strings.Repeat("ü", 256)}},
		{[]string{"awsome=yes", "circleci-ecr-oidc=x"}, map[string]string{"awsome": "yes", "circleci-ecr-oidc": "x"}},
		{nil, nil},
	}
	for _, tt := range ok {
		got, err := ParseTags(FieldTag, tt.in)
		if err != nil || !maps.Equal(got, tt.want) {
			t.Errorf("ParseTags(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	bad := []struct {
		in   []string
		rule string
	}{
		{[]string{"team"}, "KEY=VALUE"},
		{[]string{"=platform"}, "needs a key"},
		{[]string{strings.Repeat("k", 129) + "=v"}, "at most 128"},
		{[]string{"k=" + strings.Repeat("v", 257)}, "at most 256"},
		{[]string{"team=a,b"}, "only letters"},
		{[]string{"team=a;b"}, "only letters"},
		{[]string{"te\tam=x"}, "only letters"},
		{[]string{"k=\xff"}, "UTF-8"},
		{[]string{"aws:team=x"}, "reserved for AWS"},
		{[]string{"AWS:team=x"}, "reserved for AWS"},
		{[]string{"circleci-ecr-oidc:managed=false"}, "cannot be set"},
		{[]string{"CircleCI-ECR-OIDC:org-id=x"}, "cannot be set"},
		{[]string{"team=a", "team=b"}, "repeats the key"},
		{[]string{"team=a", "Team=a"}, "repeats the key"},
		{tagValues(49), "at most 48 tags"},
	}
	for _, tt := range bad {
		_, err := ParseTags(FieldTag, tt.in)
		var inputErr *InputError
		if !errors.As(err, &inputErr) || inputErr.Field != FieldTag || !strings.Contains(err.Error(), tt.rule) {
			t.Errorf("ParseTags(%q) error = %v, want an InputError for --tag saying %q", tt.in, err, tt.rule)
		}
	}
	if _, err := ParseTags(FieldTag, tagValues(48)); err != nil {
		t.Errorf("48 tags: %v", err)
	}
}

func tagValues(n int) []string {
	var out []string
	for i := range n {
		out = append(out, "k"+strings.Repeat("x", i)+"=v")
	}
	return out
}

// Spec.Validate applies the same rules to tags set without flags (the
// wizard), including keys that differ only in case.
func TestValidateTags(t *testing.T) {
	for name, tags := range map[string]map[string]string{
		"reserved":     {"aws:x": "1"},
		"own prefix":   {ManagedTag: "false"},
		"case twins":   {"Team": "a", "team": "b"},
		"bad char":     {"a!": "b"},
		"too many":     manyTags(49, "k"),
		"empty key":    {"": "v"},
		"long value":   {"k": strings.Repeat("v", 257)},
		"invalid utf8": {"k\xff": "v"},
	} {
		s := validSpec()
		s.Tags = tags
		_, err := s.Validate()
		var inputErr *InputError
		if !errors.As(err, &inputErr) || inputErr.Field != FieldTag {
			t.Errorf("%s: Validate error = %v, want an InputError for --tag", name, err)
		}
	}
	s := validSpec()
	s.Tags = map[string]string{"team": "platform"}
	v, err := s.Validate()
	if err != nil || !maps.Equal(v.Tags, s.Tags) {
		t.Errorf("Validate = %v, %v", v.Tags, err)
	}
}

// heldDelete wraps the fake so that DeleteRole blocks until released and
// records whether its context had ended.
type heldDelete struct {
	*fakeAWS
	held, release chan struct{}
	ctxErr        error
}

func (h *heldDelete) DeleteRole(ctx context.Context, in *iam.DeleteRoleInput, opts ...func(*iam.Options)) (*iam.DeleteRoleOutput, error) {
	close(h.held)
	<-h.release
	if h.ctxErr = ctx.Err(); h.ctxErr != nil {
		return nil, h.ctxErr
	}
	return h.fakeAWS.DeleteRole(ctx, in, opts...)
}

// An interruption while DeleteRole is in flight lets it finish and reports
// it as done; the provider's deletion, not yet started, is not made.
func TestDestroyInterruptWaitsForInFlightDelete(t *testing.T) {
	f := converged(t)
	st, err := ObserveDestroy(context.Background(), f.clients(), testOrg, DefaultRoleName)
	if err != nil {
		t.Fatal(err)
	}
	p := NewDestroyPlan(testOrg, DefaultRoleName, st, false)
	h := &heldDelete{fakeAWS: f, held: make(chan struct{}), release: make(chan struct{})}
	ctx, interrupt := context.WithCancelCause(context.Background())
	type outcome struct {
		res Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := Destroy(ctx, Clients{IAM: h}, p, nil)
		done <- outcome{res, err}
	}()
	<-h.held
	interrupt(errors.New("interrupt signal received"))
	close(h.release)
	o := <-done
	if h.ctxErr != nil {
		t.Fatalf("the in-flight DeleteRole saw its context end: %v", h.ctxErr)
	}
	if !strings.Contains(fmt.Sprint(o.err), "interrupt signal received") {
		t.Fatalf("Destroy error = %v, want one naming the interruption", o.err)
	}
	if got, want := changeNames(o.res.Applied), []string{"delete iam-role", "delete role-policy"}; !slices.Equal(got, want) {
		t.Errorf("applied = %v, want %v", got, want)
	}
	if got, want := changeNames(o.res.NotApplied), []string{"delete oidc-provider"}; !slices.Equal(got, want) {
		t.Errorf("not applied = %v, want %v", got, want)
	}
	if _, ok := f.roles[DefaultRoleName]; ok {
		t.Error("the role reported as deleted still exists")
	}
}
