package policy

import (
	"fmt"
	"slices"
	"strings"
)

// ActionAssumeRoleWithWebIdentity is the action STS evaluates a role's trust
// policy for when a CircleCI job presents its OIDC token.
const ActionAssumeRoleWithWebIdentity = "sts:AssumeRoleWithWebIdentity"

// Request is the part of an AssumeRoleWithWebIdentity request a trust policy
// is evaluated against.
type Request struct {
	// ProviderARN is the IAM OIDC provider the token's issuer resolves to;
	// it is the federated principal of the request.
	ProviderARN string
	// Action defaults to sts:AssumeRoleWithWebIdentity when empty.
	Action string
	// Keys are the condition keys present in the request context, such as
	// "oidc.circleci.com/org/ORG:aud", "...:sub" and
	// "...:oidc.circleci.com/project-id". Key names are matched without
	// regard to letter case, as IAM does. A key with several values is
	// multivalued. A key absent from the map, or present with no values, is
	// missing: IAM treats an empty data set like an absent key.
	Keys map[string][]string
}

// Decision is the outcome of Evaluate.
type Decision struct {
	// Allowed is true when an Allow statement applies and no Deny does.
	Allowed bool
	// ExplicitDeny is true when a Deny statement applies; it wins over any
	// Allow.
	ExplicitDeny bool
	// Statement is the index of the deciding statement: the applying Deny,
	// else the applying Allow, else the Allow statement that came closest
	// (principal and action matched, a condition failed), else -1.
	Statement int
	// Reasons has one sentence per statement, in statement order, saying
	// whether it applied and if not, why (or a single sentence saying the
	// policy has no statements).
	Reasons []string
	// Failed is the first condition that kept the closest Allow statement
	// from applying; nil when the request was allowed, explicitly denied, or
	// no Allow statement matched principal and action.
	Failed *ConditionFailure
	// Failures lists every condition of the closest statement that did not
	// hold, Failed first.
	Failures []ConditionFailure
	// Uncertain is true when the verdict rests on something this evaluator
	// cannot decide (an unsupported operator, a policy variable, a plain
	// operator on a multivalued key, ...). Such a test never makes an Allow
	// statement apply and always lets a Deny statement apply, so an
	// uncertain verdict errs towards "denied".
	Uncertain bool
}

// ConditionFailure describes one condition test that did not hold.
type ConditionFailure struct {
	// Statement is the index of the statement holding the condition.
	Statement int
	// Operator is the condition operator as written, e.g.
	// "ForAnyValue:StringLike".
	Operator string
	// Key is the condition key as written in the policy.
	Key string
	// Values are the request's values for Key; empty when it is missing.
	Values []string
	// Patterns are the policy's values for Key.
	Patterns []string
	// Missing is true when the request has no value for Key.
	Missing bool
	// Undecidable is true when the test could not be evaluated; Reason says
	// why.
	Undecidable bool
	// Reason carries detail for undecidable tests.
	Reason string
}

// String describes the failure as one sentence, e.g.
// "sub org/A/project/X/user/U does not match org/A/project/Y/user/*" or
// "aud is missing from the token".
func (f ConditionFailure) String() string {
	name := ShortKey(f.Key)
	base, set, _ := splitOperator(f.Operator)
	switch {
	case f.Undecidable:
		return fmt.Sprintf("%s %s cannot be evaluated: %s", f.Operator, name, f.Reason)
	case strings.EqualFold(base, "Null"):
		if f.Missing {
			return fmt.Sprintf("%s is missing from the token, but the policy requires it (Null %s)", name, strings.Join(f.Patterns, ", "))
		}
		return fmt.Sprintf("%s is present in the token, but the policy requires it to be absent (Null %s)", name, strings.Join(f.Patterns, ", "))
	case f.Missing:
		return fmt.Sprintf("%s is missing from the token", name)
	}
	op, ok := lookupOperator(base)
	if !ok {
		return fmt.Sprintf("%s %s did not hold", f.Operator, name)
	}
	got := strings.Join(f.Values, ", ")
	var want string
	if len(f.Patterns) == 1 {
		want = f.Patterns[0]
	} else {
		want = "any of " + strings.Join(f.Patterns, ", ")
	}
	var s string
	switch {
	case op.negated:
		verb := "equals"
		if op.wildcards {
			verb = "matches"
		}
		// Name the excluded values the request hit, not the whole list.
		var hit []string
		for _, p := range f.Patterns {
			if slices.ContainsFunc(f.Values, func(v string) bool { return op.compare(v, p) }) {
				hit = append(hit, p)
			}
		}
		if len(hit) == 0 {
			hit = f.Patterns
		}
		if len(f.Values) > 1 {
			return fmt.Sprintf("%s (%s) has a value that %s %s, which %s excludes", name, got, verb, joinOr(hit), f.Operator)
		}
		return fmt.Sprintf("%s %s %s %s, which %s excludes", name, got, verb, joinOr(hit), f.Operator)
	case op.wildcards:
		s = fmt.Sprintf("%s %s does not match %s", name, got, want)
	case op.name == "Bool":
		s = fmt.Sprintf("%s is %s, but the policy requires %s", name, got, want)
	default:
		s = fmt.Sprintf("%s %s does not equal %s", name, got, want)
	}
	if len(f.Values) > 1 {
		switch set {
		case setAll:
			s = fmt.Sprintf("not every value of %s (%s) is in %s", name, got, joinOr(f.Patterns))
		case setAny:
			s = fmt.Sprintf("no value of %s (%s) is in %s", name, got, joinOr(f.Patterns))
		}
	}
	if strings.EqualFold(base, "StringEquals") && hasWildcard(f.Patterns) {
		s += " (StringEquals compares * and ? literally; wildcards need StringLike)"
	}
	return s
}

// ShortKey drops a web-identity provider prefix from a condition key, so
// "oidc.circleci.com/org/ORG:sub" reads "sub" and
// "oidc.circleci.com/org/ORG:oidc.circleci.com/project-id" reads
// "oidc.circleci.com/project-id". Global keys such as "aws:SourceIp" are
// returned unchanged: their prefix is a service name, not a host.
func ShortKey(key string) string {
	prefix, rest, ok := strings.Cut(key, ":")
	if ok && rest != "" && strings.ContainsAny(prefix, "./") {
		return rest
	}
	return key
}

// Evaluate decides whether the trust policy doc lets req assume the role, the
// way IAM evaluates role trust policies for AssumeRoleWithWebIdentity:
//
//   - A Deny statement that applies wins; otherwise an applying Allow
//     statement allows; otherwise the request is implicitly denied.
//   - A statement applies when its Principal (or NotPrincipal) admits the
//     provider, its Action (or NotAction) covers the action, and its
//     Condition holds. Resource and NotResource are ignored: IAM does not
//     accept them in trust policies, the resource being the role itself.
//   - Principal: "*", {"Federated": "*"} or {"Federated": <provider ARN>}
//     admit the request. Whether {"AWS": "*"} admits a web-identity caller
//     is not documented, so it is undecidable.
//   - Action names match case-insensitively, with * and ? wildcards.
//   - Condition operators are AND-ed, the keys under one operator are
//     AND-ed, and the values of one key are OR-ed; for the negated
//     operators (StringNotEquals, StringNotEqualsIgnoreCase, StringNotLike)
//     they are NOR-ed. Key names are case-insensitive; values are compared
//     as each operator says. Operator names are matched case-insensitively.
//   - A missing key makes a positive operator false and a negated operator
//     true ("IAM JSON policy elements: Condition operators"). ...IfExists
//     makes any operator true for a missing key; Null "true" requires the key
//     to be absent and "false" present.
//   - ForAnyValue: holds when at least one request value passes the
//     operator; false when the key is missing or empty. ForAllValues: holds
//     when every request value passes; true, vacuously, when the key is
//     missing or empty ("Single-valued vs. multivalued context keys").
//   - IAM says multivalued keys require a set operator and does not document
//     what a plain operator does with several request values, so that case
//     is undecidable, as are unsupported operators (Numeric*, Date*, Arn*,
//     IpAddress, BinaryEquals) and policy variables (${...}) in a
//     2012-10-17 document.
//
// Undecidable tests never make an Allow statement apply and always let a
// Deny statement apply, and set Decision.Uncertain.
func Evaluate(doc Document, req Request) Decision {
	if req.Action == "" {
		req.Action = ActionAssumeRoleWithWebIdentity
	}
	keys := make(map[string][]string, len(req.Keys))
	for k, v := range req.Keys {
		lower := strings.ToLower(k)
		keys[lower] = append(keys[lower], v...)
	}
	ev := evaluator{req: req, keys: keys, variables: doc.Version == Version}

	d := Decision{Statement: -1, Reasons: make([]string, len(doc.Statement))}
	if len(doc.Statement) == 0 {
		d.Reasons = []string{"the policy has no statements"}
		return d
	}
	results := make([]statementResult, len(doc.Statement))
	for i, st := range doc.Statement {
		results[i] = ev.statement(i, st)
		d.Reasons[i] = results[i].reason
	}

	// An explicit Deny wins, whatever the order of statements.
	for i, r := range results {
		if r.effect == "Deny" && r.outcome != noMatch {
			d.ExplicitDeny = true
			d.Statement = i
			d.Uncertain = r.outcome == unknown
			return d
		}
	}
	for i, r := range results {
		if r.effect == "Allow" && r.outcome == matched {
			d.Allowed = true
			d.Statement = i
			return d
		}
	}
	for i, r := range results {
		if r.effect == "Allow" && r.outcome == unknown {
			d.Uncertain = true
		}
		if r.effect == "Allow" && r.reachedConditions && d.Statement < 0 {
			d.Statement = i
			d.Failures = r.failures
			if len(r.failures) > 0 {
				d.Failed = &d.Failures[0]
			}
		}
	}
	return d
}

// match is a three-valued truth value: IAM's evaluation is two-valued, but
// this evaluator must not guess where the documentation is silent.
type match int

const (
	noMatch match = iota
	matched
	unknown
)

// and combines results the way IAM AND-s conditions: one false decides.
func and(a, b match) match {
	switch {
	case a == noMatch || b == noMatch:
		return noMatch
	case a == unknown || b == unknown:
		return unknown
	default:
		return matched
	}
}

// or combines results the way IAM OR-s values: one true decides.
func or(a, b match) match {
	switch {
	case a == matched || b == matched:
		return matched
	case a == unknown || b == unknown:
		return unknown
	default:
		return noMatch
	}
}

func not(a match) match {
	switch a {
	case matched:
		return noMatch
	case noMatch:
		return matched
	default:
		return unknown
	}
}

type statementResult struct {
	effect  string
	outcome match
	// reachedConditions is true when principal and action matched, so the
	// statement failed (if at all) on its conditions.
	reachedConditions bool
	failures          []ConditionFailure
	reason            string
}

type evaluator struct {
	req       Request
	keys      map[string][]string // lower-cased key names
	variables bool                // policy variables are live (2012-10-17)
}

func (ev evaluator) statement(i int, st Statement) statementResult {
	r := statementResult{effect: st.Effect}
	label := fmt.Sprintf("statement %d (%s)", i, st.Effect)
	if st.Sid != "" {
		label = fmt.Sprintf("statement %d %q (%s)", i, st.Sid, st.Effect)
	}
	if st.Effect != "Allow" && st.Effect != "Deny" {
		r.outcome = unknown
		r.reason = fmt.Sprintf("statement %d: effect %q is neither Allow nor Deny; ignored", i, st.Effect)
		return r
	}

	principal, why := ev.principal(st)
	if principal == noMatch {
		r.reason = label + ": does not apply: " + why
		return r
	}
	action, whyAction := ev.action(st)
	if action == noMatch {
		r.reason = label + ": does not apply: " + whyAction
		return r
	}
	r.reachedConditions = true
	cond, failures, undecided := ev.conditions(i, st.Condition)
	r.outcome = and(and(principal, action), cond)
	r.failures = failures

	var doubts []string
	if principal == unknown {
		doubts = append(doubts, why)
	}
	if action == unknown {
		doubts = append(doubts, whyAction)
	}
	for _, u := range undecided {
		doubts = append(doubts, u.String())
	}
	switch r.outcome {
	case matched:
		r.reason = label + ": applies"
	case noMatch:
		msgs := make([]string, len(failures))
		for j, f := range failures {
			msgs[j] = f.String()
		}
		r.reason = label + ": does not apply: " + strings.Join(msgs, "; ")
	default:
		if st.Effect == "Deny" {
			r.reason = label + ": treated as applying, because " + strings.Join(doubts, "; ")
		} else {
			r.reason = label + ": treated as not applying, because " + strings.Join(doubts, "; ")
		}
	}
	return r
}

func (ev evaluator) principal(st Statement) (match, string) {
	provider := ev.req.ProviderARN
	switch {
	case st.Principal != nil && st.NotPrincipal != nil:
		return unknown, "the statement has both Principal and NotPrincipal"
	case st.Principal != nil:
		m := principalMatch(st.Principal, provider)
		switch m {
		case matched:
			return matched, ""
		case unknown:
			return unknown, `whether {"AWS": "*"} admits a web-identity caller is not documented`
		}
		return noMatch, fmt.Sprintf("principal %s does not include the provider %s", describePrincipal(st.Principal), provider)
	case st.NotPrincipal != nil:
		m := not(principalMatch(st.NotPrincipal, provider))
		if m == noMatch {
			return noMatch, fmt.Sprintf("NotPrincipal %s excludes the provider %s", describePrincipal(st.NotPrincipal), provider)
		}
		if m == unknown {
			return unknown, `whether NotPrincipal {"AWS": "*"} excludes a web-identity caller is not documented`
		}
		return matched, ""
	default:
		return unknown, "the statement names no Principal, which a trust policy requires"
	}
}

func principalMatch(p Principals, provider string) match {
	if p.IsWildcard() {
		return matched
	}
	result := noMatch
	for typ, ids := range p {
		switch {
		case typ == "Federated":
			if slices.Contains(ids, Wildcard) || slices.Contains(ids, provider) {
				return matched
			}
		case typ == "AWS" && slices.Contains(ids, Wildcard):
			result = unknown
		}
	}
	return result
}

func describePrincipal(p Principals) string {
	if p.IsWildcard() {
		return Wildcard
	}
	types := make([]string, 0, len(p))
	for t := range p {
		types = append(types, t)
	}
	slices.Sort(types)
	parts := make([]string, 0, len(types))
	for _, t := range types {
		parts = append(parts, t+" "+strings.Join(p[t], ", "))
	}
	return strings.Join(parts, "; ")
}

func (ev evaluator) action(st Statement) (match, string) {
	action := strings.ToLower(ev.req.Action)
	covers := func(patterns Values) bool {
		for _, p := range patterns {
			if glob(strings.ToLower(p), action) {
				return true
			}
		}
		return false
	}
	switch {
	case len(st.Action) > 0 && len(st.NotAction) > 0:
		return unknown, "the statement has both Action and NotAction"
	case len(st.Action) > 0:
		if covers(st.Action) {
			return matched, ""
		}
		return noMatch, fmt.Sprintf("action %s is not in %s", ev.req.Action, strings.Join(st.Action, ", "))
	case len(st.NotAction) > 0:
		if covers(st.NotAction) {
			return noMatch, fmt.Sprintf("NotAction %s excludes %s", strings.Join(st.NotAction, ", "), ev.req.Action)
		}
		return matched, ""
	default:
		return unknown, "the statement names no Action"
	}
}

// conditions evaluates a Condition block. Operators and keys are visited in
// sorted order so that "the first failing condition" is stable.
func (ev evaluator) conditions(stmt int, block map[string]Conditions) (match, []ConditionFailure, []ConditionFailure) {
	result := matched
	var failures, undecided []ConditionFailure
	ops := make([]string, 0, len(block))
	for op := range block {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for _, op := range ops {
		keys := make([]string, 0, len(block[op]))
		for k := range block[op] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, key := range keys {
			patterns := block[op][key]
			m, f := ev.condition(op, key, patterns)
			f.Statement = stmt
			result = and(result, m)
			switch m {
			case noMatch:
				failures = append(failures, f)
			case unknown:
				undecided = append(undecided, f)
			}
		}
	}
	// Failures that are facts come before doubts.
	return result, append(failures, undecided...), undecided
}

type setOperator int

const (
	setNone setOperator = iota
	setAny
	setAll
)

// splitOperator splits "ForAllValues:StringLikeIfExists" into its base
// operator, set operator and IfExists suffix. Matching is case-insensitive.
func splitOperator(op string) (base string, set setOperator, ifExists bool) {
	base = op
	if prefix, rest, ok := strings.Cut(op, ":"); ok {
		switch strings.ToLower(prefix) {
		case "foranyvalue":
			set, base = setAny, rest
		case "forallvalues":
			set, base = setAll, rest
		}
	}
	const suffix = "ifexists"
	if len(base) > len(suffix) && strings.EqualFold(base[len(base)-len(suffix):], suffix) {
		base, ifExists = base[:len(base)-len(suffix)], true
	}
	return base, set, ifExists
}

// operator describes a supported base condition operator.
type operator struct {
	name       string
	negated    bool
	wildcards  bool
	ignoreCase bool
}

var operators = []operator{
	{name: "StringEquals"},
	{name: "StringNotEquals", negated: true},
	{name: "StringEqualsIgnoreCase", ignoreCase: true},
	{name: "StringNotEqualsIgnoreCase", negated: true, ignoreCase: true},
	{name: "StringLike", wildcards: true},
	{name: "StringNotLike", negated: true, wildcards: true},
	// Bool compares "true"/"false" and IAM documents no case rule for them,
	// so they compare without regard to case.
	{name: "Bool", ignoreCase: true},
}

// lookupOperator finds a supported base operator by case-insensitive name
// and returns it with its canonical spelling.
func lookupOperator(base string) (operator, bool) {
	for _, op := range operators {
		if strings.EqualFold(op.name, base) {
			return op, true
		}
	}
	return operator{}, false
}

func (ev evaluator) condition(opName, key string, patterns Values) (match, ConditionFailure) {
	values := ev.keys[strings.ToLower(key)]
	f := ConditionFailure{
		Operator: opName,
		Key:      key,
		Values:   slices.Clone(values),
		Patterns: slices.Clone([]string(patterns)),
		Missing:  len(values) == 0,
	}
	undecidable := func(reason string) (match, ConditionFailure) {
		f.Undecidable, f.Reason = true, reason
		return unknown, f
	}
	base, set, ifExists := splitOperator(opName)

	if strings.EqualFold(base, "Null") {
		if set != setNone || ifExists {
			return undecidable("Null takes neither a set operator nor IfExists")
		}
		result := noMatch
		for _, p := range patterns {
			switch strings.ToLower(p) {
			case "true":
				if len(values) == 0 {
					result = matched
				}
			case "false":
				if len(values) > 0 {
					result = matched
				}
			default:
				result = or(result, unknown)
			}
		}
		if result == unknown {
			return undecidable("Null takes only \"true\" or \"false\"")
		}
		return result, f
	}

	op, ok := lookupOperator(base)
	if !ok {
		return undecidable("operator " + base + " is not supported by this evaluator")
	}
	if len(patterns) == 0 {
		return undecidable("the policy gives no values")
	}
	if ev.variables {
		for _, p := range patterns {
			if strings.Contains(p, "${") {
				return undecidable("policy variables such as " + p + " are not supported")
			}
		}
	}

	// passes reports whether one request value satisfies the operator
	// against the policy's values: OR-ed for positive operators, NOR-ed for
	// negated ones.
	passes := func(v string) bool {
		hit := false
		for _, p := range patterns {
			if op.compare(v, p) {
				hit = true
				break
			}
		}
		return hit != op.negated
	}

	if len(values) == 0 {
		switch {
		case ifExists:
			return matched, f
		case set == setAll:
			// Vacuous truth: there is no value that could fail.
			return matched, f
		case set == setAny:
			return noMatch, f
		case op.negated:
			return matched, f
		default:
			return noMatch, f
		}
	}

	switch set {
	case setAny:
		for _, v := range values {
			if passes(v) {
				return matched, f
			}
		}
		return noMatch, f
	case setAll:
		for _, v := range values {
			if !passes(v) {
				return noMatch, f
			}
		}
		return matched, f
	}
	if len(values) > 1 {
		return undecidable(fmt.Sprintf("the request has %d values for this key, and IAM does not document how an operator without ForAnyValue: or ForAllValues: treats a multivalued key", len(values)))
	}
	if passes(values[0]) {
		return matched, f
	}
	return noMatch, f
}

func (op operator) compare(value, pattern string) bool {
	switch {
	case op.wildcards:
		return glob(pattern, value)
	case op.ignoreCase:
		return strings.EqualFold(value, pattern)
	default:
		return value == pattern
	}
}

// glob reports whether s matches pattern, where * matches any run of
// characters (including "/" and the empty run) and ? matches exactly one
// character, as in StringLike and Action. It backtracks only to the last *,
// so it runs in O(len(pattern)·len(s)) even on hostile input.
func glob(pattern, s string) bool {
	p := []rune(pattern)
	r := []rune(s)
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(r) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == r[si]) && p[pi] != '*':
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func hasWildcard(patterns []string) bool {
	for _, p := range patterns {
		if strings.ContainsAny(p, "*?") {
			return true
		}
	}
	return false
}

func joinOr(values []string) string {
	if len(values) == 1 {
		return values[0]
	}
	return "{" + strings.Join(values, ", ") + "}"
}
