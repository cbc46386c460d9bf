// Package circleciconfig edits a CircleCI config.yml in place, as a YAML
// syntax tree: it parses the file with gopkg.in/yaml.v3 to find what to
// change and where, then splices new text into the original bytes at the
// positions the tree gives. Neither yaml.v3 nor goccy/go-yaml re-encodes a
// real config byte for byte (both drop blank lines or the spacing before
// comments, reflow flow sequences, or rewrite merge keys), so the document
// is never re-serialised: every byte outside the edited aws_auth entries
// (comments, blank lines, anchors, quoting, indentation, CRLF line endings)
// stays as it was.
package circleciconfig

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"gopkg.in/yaml.v3"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// Target says which images to patch and which role they pull with.
type Target struct {
	// RoleARN is the role put in aws_auth.oidc_role_arn.
	RoleARN string
	// Repositories are the repository ARNs the role can pull from; an ARN
	// whose name ends in "*" (such as repository/team/*) covers every
	// repository with that name prefix.
	Repositories []string
}

// ForPlan returns the target for a provisioning plan: its role and the
// repositories its pull policy grants.
func ForPlan(p *provision.Plan) Target {
	t := Target{RoleARN: p.RoleARN}
	for _, r := range p.Repositories {
		t.Repositories = append(t.Repositories, r.ARN)
	}
	return t
}

// Change is one docker image entry whose aws_auth was added or replaced.
type Change struct {
	// Section is "jobs" or "executors"; Name is the job or executor.
	Section, Name string
	// Index is the entry's position in the docker list (0 is the primary
	// container).
	Index int
	// Image is the image as written in the file.
	Image string
	// Was describes the aws_auth the entry had before: "none", "static
	// keys", "role <ARN>" or "other".
	Was string
}

func (c Change) String() string {
	return fmt.Sprintf("%s.%s docker[%d] %s: aws_auth was %s, now oidc_role_arn", c.Section, c.Name, c.Index, c.Image, c.Was)
}

// Report says what Patch changed and what the user should know about it.
type Report struct {
	// Changes lists the entries edited, in document order.
	Changes []Change
	// Current counts the matching entries that already pulled with
	// exactly the role and were left as they were.
	Current int
	// Notes explain what was left alone and why.
	Notes []string
}

// Patch returns src with aws_auth set to exactly {oidc_role_arn: target
// role} on every docker image entry, in jobs and in executors, whose image
// is in one of the target's repositories; static-key aws_auth entries and
// other roles on those entries are replaced. Everything else in src is
// kept byte for byte. Entries reached through an alias or a merge key
// (<<: *defaults) are edited where the anchor defines them. Images written
// with << parameters.x >> or an environment variable cannot be matched and
// are left alone, with a note. Patch is idempotent: patching its output
// changes nothing. A document that is not a mapping is an error.
func Patch(src []byte, t Target) ([]byte, Report, error) {
	out, rep, err := patch(src, t)
	if err != nil || len(rep.Changes) == 0 {
		return out, rep, err
	}
	// The edits must leave valid YAML in which every change took, so that
	// a second patch finds nothing to do; anything else is a bug here, and
	// writing the file would break the user's pipelines.
	_, again, err := patch(out, t)
	if err != nil {
		return nil, rep, fmt.Errorf("patch config: the edited document is broken (a bug; the file was not changed): %w", err)
	}
	if len(again.Changes) > 0 {
		return nil, rep, fmt.Errorf("patch config: the edit did not take at %s (a bug; the file was not changed)", again.Changes[0])
	}
	return out, rep, nil
}

// Check reports whether src is a config Patch can edit: YAML whose first
// document is a mapping, or empty. It lets a command reject a bad file
// before it changes anything elsewhere.
func Check(src []byte) error {
	_, _, err := parse(src)
	return err
}

// parse returns the first document and its root mapping; the root is nil
// for an empty document.
func parse(src []byte) (doc, root *yaml.Node, err error) {
	doc = &yaml.Node{}
	if err := yaml.Unmarshal(src, doc); err != nil {
		return nil, nil, fmt.Errorf("parse config: %w", err)
	}
	if len(doc.Content) == 0 {
		return doc, nil, nil
	}
	root = resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("parse config: the document is a %s, not a mapping", kindName(root.Kind))
	}
	return doc, root, nil
}

func patch(src []byte, t Target) ([]byte, Report, error) {
	var rep Report
	if t.RoleARN == "" {
		return nil, rep, errors.New("patch config: no role ARN to patch in")
	}
	matchers, err := newMatchers(t.Repositories)
	if err != nil {
		return nil, rep, err
	}
	doc, root, err := parse(src)
	if err != nil {
		return nil, rep, err
	}
	if root == nil {
		return src, rep, nil
	}
	p := &patcher{
		src: src, text: newText(src), doc: doc, target: t, matchers: matchers,
		done: map[*yaml.Node]bool{}, report: &rep,
	}
	p.step = p.indentStep(root)

	patchedExecutors := map[string]bool{}
	for _, section := range []string{"executors", "jobs"} {
		for _, kv := range pairs(lookup(root, section)) {
			if p.patchDocker(section, kv.key.Value, kv.value) && section == "executors" {
				patchedExecutors[kv.key.Value] = true
			}
		}
	}
	// Jobs that run in a patched executor pull with the role too.
	users := map[string][]string{}
	for _, kv := range pairs(lookup(root, "jobs")) {
		if ex := executorName(kv.value); patchedExecutors[ex] {
			users[ex] = append(users[ex], kv.key.Value)
		}
	}
	for _, kv := range pairs(lookup(root, "executors")) {
		if names := users[kv.key.Value]; len(names) > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("executor %s pulls with the role, and so do the jobs that use it: %s", kv.key.Value, strings.Join(names, ", ")))
		}
	}

	p.verifyEdits()
	if len(p.edits) == 0 {
		return src, rep, nil
	}
	edits := make([]edit, len(p.edits))
	for i, c := range p.edits {
		edits[i] = c.edit
	}
	out, err := p.text.apply(edits)
	if err != nil {
		return nil, rep, err
	}
	return out, rep, nil
}

type patcher struct {
	src  []byte
	text *text
	// doc is src's first document. nodes lists its nodes in document
	// order once needed, index says where each is in it, and ends[i] is
	// where the nodes below nodes[i] end.
	doc      *yaml.Node
	nodes    []*yaml.Node
	index    map[*yaml.Node]int
	ends     []int
	target   Target
	matchers []matcher
	step     int
	// done marks entries already handled, which happens when jobs share a
	// docker list through an anchor.
	done  map[*yaml.Node]bool
	edits []entryEdit
	// changed[i] is the entry that report.Changes[i] edits.
	changed []*yaml.Node
	report  *Report
}

// patchDocker patches the docker list of one job or executor and reports
// whether any of its images pulls with the role (patched now or before).
func (p *patcher) patchDocker(section, name string, body *yaml.Node) bool {
	docker := lookup(body, "docker")
	if docker == nil || docker.Kind != yaml.SequenceNode {
		return false
	}
	uses := false
	for i, item := range docker.Content {
		entry := resolve(item)
		if entry.Kind != yaml.MappingNode {
			continue
		}
		img := lookupDirect(entry, "image")
		if img == nil || img.Kind != yaml.ScalarNode {
			continue
		}
		if strings.Contains(img.Value, "<<") || strings.Contains(img.Value, "$") {
			p.report.Notes = append(p.report.Notes, fmt.Sprintf("%s.%s docker[%d]: image %q is built from a parameter or variable, so it cannot be matched; add aws_auth by hand if it is one of the role's repositories", section, name, i, img.Value))
			continue
		}
		parsed, err := provision.ParseImage(provision.FieldImage, img.Value)
		if err != nil {
			continue // not a private ECR image: not ours
		}
		if !p.matches(parsed) {
			p.report.Notes = append(p.report.Notes, fmt.Sprintf("%s.%s docker[%d]: image %s is in ECR but not in a repository the role can pull; left as it is", section, name, i, img.Value))
			continue
		}
		uses = true
		was, ok := p.current(entry)
		if ok {
			p.report.Current++
			continue
		}
		where := fmt.Sprintf("%s.%s docker[%d]", section, name, i)
		if !p.done[entry] {
			c, err := p.editEntry(entry)
			if err != nil {
				p.report.Notes = append(p.report.Notes, leftAsIs(where, err))
				continue
			}
			c.entry, c.where, c.notePos = entry, where, len(p.report.Notes)
			p.edits = append(p.edits, c)
			p.done[entry] = true
		}
		p.report.Changes = append(p.report.Changes, Change{Section: section, Name: name, Index: i, Image: img.Value, Was: was})
		p.changed = append(p.changed, entry)
	}
	return uses
}

// current describes the entry's aws_auth and reports whether it is
// already exactly {oidc_role_arn: the target role}.
func (p *patcher) current(entry *yaml.Node) (string, bool) {
	_, v := lookupPair(entry, "aws_auth")
	if v == nil {
		return "none", false
	}
	v = resolve(v)
	if v.Kind != yaml.MappingNode {
		return "other", false
	}
	keys := map[string]string{}
	for _, kv := range pairs(v) {
		keys[kv.key.Value] = resolve(kv.value).Value
	}
	if role, ok := keys["oidc_role_arn"]; ok {
		if role == p.target.RoleARN && len(keys) == 1 {
			return "role " + role, true
		}
		return "role " + role, false
	}
	if _, ok := keys["aws_access_key_id"]; ok {
		return "static keys", false
	}
	return "other", false
}

// entryEdit is the text edit that gives one docker entry the role's
// aws_auth, and the document it must leave: the original one with the
// shape of an aws_auth value (or a whole aws_auth pair) in place of one
// node, or after one.
type entryEdit struct {
	edit
	replace, after map[*yaml.Node][]string
	// line is where the entry's aws_auth is, or would go.
	line int
	// entry is the docker entry, where names it for a note, and notePos
	// is where in the report's notes a refusal goes.
	entry   *yaml.Node
	where   string
	notePos int
}

func leftAsIs(where string, err error) string {
	return fmt.Sprintf("%s: left as it is because %v; set aws_auth by hand", where, err)
}

// editEntry returns the text edit that gives entry the role's aws_auth.
func (p *patcher) editEntry(entry *yaml.Node) (entryEdit, error) {
	arnValue := p.target.RoleARN
	k, v := lookupPair(entry, "aws_auth")
	c := entryEdit{replace: map[*yaml.Node][]string{}, after: map[*yaml.Node][]string{}}
	if k != nil {
		c.line = k.Line
		c.replace[v] = authShape(arnValue)
	}
	if a := anchorIn(v); a != "" {
		// Replacing the value would delete the anchor, and any alias to it
		// elsewhere would stop parsing.
		return c, fmt.Errorf("its aws_auth (line %d) defines the anchor &%s, which other parts of the file may use", k.Line, a)
	}
	if entry.Style&yaml.FlowStyle != 0 {
		flow := "{oidc_role_arn: " + flowScalar(arnValue) + "}"
		if k != nil {
			start := p.text.offset(v)
			end, err := p.text.flowValueEnd(start)
			if err != nil {
				return c, err
			}
			c.edit = edit{start: start, end: end, text: flow}
			return c, nil
		}
		c.line = entry.Line
		c.after[entry.Content[len(entry.Content)-1]] = append([]string{nodeShape(authKey())}, authShape(arnValue)...)
		start := p.text.offset(entry)
		end, err := p.text.flowValueEnd(start)
		if err != nil {
			return c, err
		}
		// Insert before the closing brace, after any blanks before it, and
		// after a trailing comma if the mapping has one.
		at := end - 1
		for at > start && (isSpace(p.src[at-1]) || p.src[at-1] == '\n' || p.src[at-1] == '\r') {
			at--
		}
		sep := ", "
		if p.src[at-1] == ',' {
			sep = " "
		}
		c.edit = edit{start: at, end: at, text: sep + "aws_auth: " + flow}
		return c, nil
	}
	nl := p.text.newline
	if k != nil {
		indent := k.Column - 1 + p.step
		if rv := resolve(v); v.Kind == yaml.MappingNode && rv.Style&yaml.FlowStyle == 0 && len(rv.Content) > 0 && rv.Content[0].Line > k.Line {
			// Keep the nested indentation the file already uses here.
			indent = p.text.indentOf(rv.Content[0].Line)
		}
		last, err := p.lastLineOf(k, v)
		if err != nil {
			return c, err
		}
		c.edit = edit{start: p.text.offset(k), end: p.text.lineEnd(last),
			text: "aws_auth:" + nl + strings.Repeat(" ", indent) + "oidc_role_arn: " + arnValue}
		return c, nil
	}
	// Insert a new pair right after the image, where CircleCI's docs put it.
	key, value := lookupPair(entry, "image")
	c.line = key.Line
	c.after[value] = append([]string{nodeShape(authKey())}, authShape(arnValue)...)
	keyIndent, ok := p.text.indentFor(key)
	if !ok {
		return c, errors.New("a tab before the image key leaves the indentation to use unclear")
	}
	last, err := p.lastLineOf(key, value)
	if err != nil {
		return c, err
	}
	at := p.text.nextLineStart(last)
	prefix := ""
	if at == len(p.src) && (len(p.src) == 0 || p.src[len(p.src)-1] != '\n') {
		prefix = nl
	}
	c.edit = edit{start: at, end: at,
		text: prefix + strings.Repeat(" ", keyIndent) + "aws_auth:" + nl +
			strings.Repeat(" ", keyIndent+p.step) + "oidc_role_arn: " + arnValue + nl}
	return c, nil
}

// lastLineOf returns the last line of the block-mapping pair k: v. YAML
// puts no bound on where a value ends that indentation alone shows: a
// sequence may sit at its key's indentation, and the lines of a flow
// collection or a quoted scalar may sit anywhere. So the pair ends before
// the first node after it in the document (or a document marker, or the
// end), less the blank and comment-only lines there, which introduce what
// follows.
func (p *patcher) lastLineOf(k, v *yaml.Node) (int, error) {
	p.indexNodes()
	last := len(p.text.starts)
	if next := p.ends[p.index[v]]; next < len(p.nodes) {
		if n := p.nodes[next]; n.Line > k.Line {
			last = n.Line - 1
		} else {
			return 0, fmt.Errorf("line %d holds more than its %s pair", k.Line, k.Value)
		}
	}
	if m := p.text.documentMarker(k.Line + 1); m > 0 {
		last = min(last, m-1)
	}
	for last > k.Line {
		l := bytes.TrimLeft(p.text.line(last), " \t")
		if len(l) > 0 && l[0] != '#' {
			break
		}
		last--
	}
	return last, nil
}

// indexNodes lists the document's nodes in document order (a node, then
// all below it), aliases as themselves.
func (p *patcher) indexNodes() {
	if p.index != nil {
		return
	}
	p.index = map[*yaml.Node]int{}
	var visit func(n *yaml.Node)
	visit = func(n *yaml.Node) {
		i := len(p.nodes)
		p.nodes, p.ends = append(p.nodes, n), append(p.ends, 0)
		p.index[n] = i
		for _, c := range n.Content {
			visit(c)
		}
		p.ends[i] = len(p.nodes)
	}
	visit(p.doc)
}

// verifyEdits checks that the queued edits leave a document that parses to
// the original one with only the entries' aws_auth changed. Together first,
// which is the usual outcome and takes one parse; if that fails, each alone,
// and an edit that fails alone is dropped, its entry left as it is with a
// note naming the line: so a value this patcher does not know how to
// replace is refused instead of breaking the file.
func (p *patcher) verifyEdits() {
	if len(p.edits) == 0 || p.check(p.edits) {
		return
	}
	var kept, refused []entryEdit
	for _, c := range p.edits {
		if p.check([]entryEdit{c}) {
			kept = append(kept, c)
		} else {
			refused = append(refused, c)
		}
	}
	if len(kept) > 0 && !p.check(kept) {
		// Each is fine alone but not together, which disjoint edits of
		// separate pairs cannot be: refuse them all rather than guess.
		refused, kept = p.edits, nil
	}
	p.edits = kept
	drop := map[*yaml.Node]bool{}
	for i := len(refused) - 1; i >= 0; i-- {
		c := refused[i]
		drop[c.entry] = true
		note := leftAsIs(c.where, fmt.Errorf("its aws_auth (line %d) is written in a form this tool cannot rewrite safely", c.line))
		p.report.Notes = slices.Insert(p.report.Notes, c.notePos, note)
	}
	var changes []Change
	var changed []*yaml.Node
	for i, e := range p.changed {
		if !drop[e] {
			changes, changed = append(changes, p.report.Changes[i]), append(changed, e)
		}
	}
	p.report.Changes, p.changed = changes, changed
}

// check reports whether the edits, applied to the source, leave the
// document they expect.
func (p *patcher) check(edits []entryEdit) bool {
	plain := make([]edit, len(edits))
	replace, after := map[*yaml.Node][]string{}, map[*yaml.Node][]string{}
	for i, c := range edits {
		plain[i] = c.edit
		maps.Copy(replace, c.replace)
		maps.Copy(after, c.after)
	}
	out, err := p.text.apply(plain)
	if err != nil {
		return false
	}
	edited, _, err := parse(out)
	return err == nil && slices.Equal(docShape(edited, nil, nil), docShape(p.doc, replace, after))
}

// docShape lists a document's nodes in document order by kind, tag, value
// and anchor, aliases by name: two documents of the same shape hold the
// same data. replace gives the shape to list instead of a node and all
// below it; after, a shape to list after a node and all below it.
func docShape(doc *yaml.Node, replace, after map[*yaml.Node][]string) []string {
	var out []string
	var visit func(n *yaml.Node)
	visit = func(n *yaml.Node) {
		if r, ok := replace[n]; ok {
			out = append(out, r...)
		} else {
			out = append(out, nodeShape(n))
			for _, c := range n.Content {
				visit(c)
			}
		}
		out = append(out, after[n]...)
	}
	visit(doc)
	return out
}

func nodeShape(n *yaml.Node) string {
	return fmt.Sprintf("%d %q %q %q", n.Kind, n.Tag, n.Value, n.Anchor)
}

func authKey() *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "aws_auth"}
}

// authShape is the shape of the aws_auth value the patch writes.
func authShape(roleARN string) []string {
	return []string{
		nodeShape(&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}),
		nodeShape(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "oidc_role_arn"}),
		nodeShape(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: roleARN}),
	}
}

// flowScalar writes s for a flow collection: as it is when it reads back
// as that string there, else double-quoted. A role name may hold a comma,
// and a role path any of YAML's flow indicators.
func flowScalar(s string) string {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("{k: "+s+"}"), &n); err == nil && len(n.Content) == 1 {
		if m := n.Content[0]; len(m.Content) == 2 && m.Content[1].Tag == "!!str" && m.Content[1].Value == s {
			return s
		}
	}
	var q bytes.Buffer
	enc := json.NewEncoder(&q)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes; JSON's is a YAML double-quoted scalar
	return strings.TrimSuffix(q.String(), "\n")
}

// indentStep guesses the file's indentation step from how far the first
// job (or executor) is indented under its section, defaulting to two.
func (p *patcher) indentStep(root *yaml.Node) int {
	for _, section := range []string{"jobs", "executors"} {
		k, v := lookupPair(root, section)
		if k == nil || v.Kind != yaml.MappingNode || v.Style&yaml.FlowStyle != 0 || len(v.Content) == 0 {
			continue
		}
		if step := v.Content[0].Column - k.Column; step > 0 && step <= 8 {
			return step
		}
	}
	return 2
}

// matcher is one granted repository, or a name prefix for a pattern.
type matcher struct {
	account, region, name string
	prefix                bool
}

func newMatchers(repos []string) ([]matcher, error) {
	ms := make([]matcher, 0, len(repos))
	for _, r := range repos {
		a, err := arn.Parse(r)
		if err != nil {
			return nil, fmt.Errorf("parse repository ARN %q: %w", r, err)
		}
		name, ok := strings.CutPrefix(a.Resource, "repository/")
		if !ok || a.Service != "ecr" {
			return nil, fmt.Errorf("parse repository ARN %q: not an ECR repository", r)
		}
		m := matcher{account: a.AccountID, region: a.Region, name: name}
		if prefix, ok := strings.CutSuffix(name, "*"); ok {
			m.name, m.prefix = prefix, true
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func (p *patcher) matches(img provision.Image) bool {
	return slices.ContainsFunc(p.matchers, func(m matcher) bool {
		if m.account != img.Account || m.region != img.Region {
			return false
		}
		if m.prefix {
			return strings.HasPrefix(img.Repository, m.name)
		}
		return img.Repository == m.name
	})
}

// executorName returns the executor a job names, as "executor: x" or
// "executor: {name: x}".
func executorName(job *yaml.Node) string {
	ex := lookup(resolve(job), "executor")
	if ex == nil {
		return ""
	}
	if ex.Kind == yaml.MappingNode {
		ex = lookup(ex, "name")
	}
	if ex == nil || ex.Kind != yaml.ScalarNode {
		return ""
	}
	return ex.Value
}

type pair struct{ key, value *yaml.Node }

// pairs returns a mapping's key-value pairs (values unresolved), or none
// for anything else.
func pairs(m *yaml.Node) []pair {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]pair, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "<<" {
			continue
		}
		out = append(out, pair{m.Content[i], m.Content[i+1]})
	}
	return out
}

// lookup returns the resolved value of key in mapping m, following merge
// keys (<<: *a or <<: [*a, *b]) the way YAML does: the mapping's own keys
// win, then the merged mappings in order. Each mapping is searched once:
// a mapping may merge itself through an alias (the parser allows it), and
// merges that name the same mapping more than once would otherwise take
// time exponential in their depth.
func lookup(m *yaml.Node, key string) *yaml.Node {
	return lookupOnce(m, key, map[*yaml.Node]bool{})
}

func lookupOnce(m *yaml.Node, key string, searched map[*yaml.Node]bool) *yaml.Node {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode || searched[m] {
		return nil
	}
	searched[m] = true
	if v := lookupDirect(m, key); v != nil {
		return v
	}
	_, merge := lookupPair(m, "<<")
	if merge == nil {
		return nil
	}
	merge = resolve(merge)
	sources := []*yaml.Node{merge}
	if merge.Kind == yaml.SequenceNode {
		sources = merge.Content
	}
	for _, s := range sources {
		if v := lookupOnce(s, key, searched); v != nil {
			return v
		}
	}
	return nil
}

// lookupDirect returns the resolved value of one of m's own keys.
func lookupDirect(m *yaml.Node, key string) *yaml.Node {
	_, v := lookupPair(m, key)
	return resolve(v)
}

// lookupPair returns the key node and the unresolved value of key in m.
func lookupPair(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// anchorIn returns the first anchor defined in n or below it, or "".
func anchorIn(n *yaml.Node) string {
	if n == nil || n.Kind == yaml.AliasNode {
		return ""
	}
	if n.Anchor != "" {
		return n.Anchor
	}
	for _, c := range n.Content {
		if a := anchorIn(c); a != "" {
			return a
		}
	}
	return ""
}

// resolve follows aliases to the anchored node.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func kindName(k yaml.Kind) string {
	return cmp.Or(map[yaml.Kind]string{
		yaml.SequenceNode: "sequence", yaml.ScalarNode: "scalar", yaml.MappingNode: "mapping",
	}[k], "node")
}
