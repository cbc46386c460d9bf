package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// repositorySidPrefix starts the Sid of every repository-policy statement
// this tool writes, so that people reading the policy know where it came
// from.
const repositorySidPrefix = "CircleCIOIDC"

// RepositorySid returns the Sid of the repository-policy statement for a
// role. It identifies the statement on later runs, so it depends only on the
// role ARN, not on the access level: switching a role from pull to push
// updates its statement instead of adding a second one. IAM-style Sids are
// letters and digits only, so the role name is kept without its
// punctuation, and a hash of the full ARN keeps two roles whose names differ
// only in punctuation, or which live in different accounts, apart.
func RepositorySid(roleARN string) string {
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	var b strings.Builder
	b.WriteString(repositorySidPrefix)
	for _, r := range name {
		if b.Len() >= len(repositorySidPrefix)+64 {
			break
		}
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	sum := sha256.Sum256([]byte(roleARN))
	b.WriteString(hex.EncodeToString(sum[:4]))
	return b.String()
}

// RepositoryStatement returns the statement a registry account's repository
// policy needs so that the role (in another account) may use the repository
// at the given access level. The principal is the role's ARN, never its
// account: an account principal would trust every role in that account.
func RepositoryStatement(roleARN string, access Access) Statement {
	return Statement{
		Sid:       RepositorySid(roleARN),
		Effect:    "Allow",
		Principal: Principals{"AWS": {roleARN}},
		Action:    RepositoryActions(access),
	}
}

// MergeStatement adds st to a repository policy document, or replaces the
// statement with st's Sid if that one differs from st. Every other statement
// and every other top-level member is kept byte for byte, in its order: the
// registry's owners wrote them. existing may be "" (no policy yet), plain or
// URL-encoded JSON. changed is false when the document already holds a
// statement with st's Sid that is semantically equal to st (Canonical), or
// that is st narrowed by a Condition its owner added (Narrowed), in which
// case merged is existing unchanged: the owner's restriction stands.
func MergeStatement(existing string, st Statement) (merged string, changed bool, err error) {
	ours, err := marshal(st)
	if err != nil {
		return "", false, fmt.Errorf("encode repository policy statement: %w", err)
	}
	if strings.TrimSpace(existing) == "" {
		doc, err := Document{Version: Version, Statement: []Statement{st}}.JSON()
		return doc, err == nil, err
	}
	members, statements, err := parseRepositoryPolicy(existing)
	if err != nil {
		return "", false, err
	}
	kept := make([]json.RawMessage, 0, len(statements)+1)
	found, same := false, false
	for _, raw := range statements {
		sid, err := statementSid(raw)
		if err != nil {
			return "", false, err
		}
		if sid != st.Sid {
			kept = append(kept, raw)
			continue
		}
		if found {
			// A second statement with our Sid: ours too, and one is enough.
			same = false
			continue
		}
		found = true
		same = Equal(`{"Statement":[`+string(raw)+`]}`, `{"Statement":[`+string(ours)+`]}`) || narrowed(raw, st)
		kept = append(kept, ours)
	}
	if found && same {
		return existing, false, nil
	}
	if !found {
		kept = append(kept, ours)
	}
	return rebuildRepositoryPolicy(members, kept), true, nil
}

// Narrowed reports whether the repository policy existing holds, under st's
// Sid, exactly st with a Condition added: a restriction the registry's
// owner put on the statement, which MergeStatement keeps.
func Narrowed(existing string, st Statement) (bool, error) {
	if strings.TrimSpace(existing) == "" {
		return false, nil
	}
	_, statements, err := parseRepositoryPolicy(existing)
	if err != nil {
		return false, err
	}
	for _, raw := range statements {
		if sid, err := statementSid(raw); err == nil && sid == st.Sid {
			return narrowed(raw, st), nil
		}
	}
	return false, nil
}

// narrowed reports whether the statement raw is st with a non-empty
// Condition added, and otherwise the same.
func narrowed(raw json.RawMessage, st Statement) bool {
	var got Statement
	if err := json.Unmarshal(raw, &got); err != nil || len(got.Condition) == 0 || len(st.Condition) > 0 {
		return false
	}
	got.Condition = nil
	a, errA := marshal(got)
	b, errB := marshal(st)
	return errA == nil && errB == nil && Equal(`{"Statement":[`+string(a)+`]}`, `{"Statement":[`+string(b)+`]}`)
}

// RemoveStatement takes every statement with the given Sid out of a
// repository policy (plain or URL-encoded JSON), keeping every other
// statement and member byte for byte, in order. removed is false when no
// statement had the Sid, and updated is then existing unchanged. remaining
// is how many statements are left: ECR refuses a policy without any, so
// the caller deletes the policy instead when it is 0.
func RemoveStatement(existing, sid string) (updated string, removed bool, remaining int, err error) {
	if strings.TrimSpace(existing) == "" {
		return existing, false, 0, nil
	}
	members, statements, err := parseRepositoryPolicy(existing)
	if err != nil {
		return "", false, 0, err
	}
	kept := make([]json.RawMessage, 0, len(statements))
	for _, raw := range statements {
		s, err := statementSid(raw)
		if err != nil {
			return "", false, 0, err
		}
		if s != sid {
			kept = append(kept, raw)
		}
	}
	if len(kept) == len(statements) {
		return existing, false, len(kept), nil
	}
	return rebuildRepositoryPolicy(members, kept), true, len(kept), nil
}

// parseRepositoryPolicy returns a repository policy's top-level members and
// its statements, each exactly as written. A single statement object counts
// as a list of one.
func parseRepositoryPolicy(existing string) ([]rawMember, []json.RawMessage, error) {
	decoded, err := Decode(existing)
	if err != nil {
		return nil, nil, err
	}
	members, err := objectMembers([]byte(decoded))
	if err != nil {
		return nil, nil, fmt.Errorf("parse repository policy: %w", err)
	}
	var statements []json.RawMessage
	for _, m := range members {
		if m.key != "Statement" {
			continue
		}
		trimmed := bytes.TrimSpace(m.value)
		switch {
		case len(trimmed) > 0 && trimmed[0] == '[':
			if err := json.Unmarshal(trimmed, &statements); err != nil {
				return nil, nil, fmt.Errorf("parse repository policy statements: %w", err)
			}
		default:
			statements = []json.RawMessage{m.value}
		}
	}
	return members, statements, nil
}

func statementSid(raw json.RawMessage) (string, error) {
	var head struct {
		Sid string `json:"Sid"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return "", fmt.Errorf("parse repository policy statement: %w", err)
	}
	return head.Sid, nil
}

// rebuildRepositoryPolicy writes the members back in order, with the
// statements replaced by kept; a document that had no Statement member
// gets one after its other members.
func rebuildRepositoryPolicy(members []rawMember, kept []json.RawMessage) string {
	var b bytes.Buffer
	b.WriteByte('{')
	write := func(key string, value []byte) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		k, _ := marshal(key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(value)
	}
	list := []byte("[" + string(bytes.Join(rawBytes(kept), []byte(","))) + "]")
	hasStatement := false
	for _, m := range members {
		if m.key == "Statement" {
			if !hasStatement {
				write(m.key, list)
			}
			hasStatement = true
			continue
		}
		write(m.key, m.value)
	}
	if !hasStatement {
		write("Statement", list)
	}
	b.WriteByte('}')
	return b.String()
}

func rawBytes(raws []json.RawMessage) [][]byte {
	out := make([][]byte, len(raws))
	for i, r := range raws {
		out[i] = r
	}
	return out
}

// rawMember is one member of a JSON object, its value as written.
type rawMember struct {
	key   string
	value json.RawMessage
}

// objectMembers returns the members of a JSON object in document order, each
// value exactly as written.
func objectMembers(data []byte) ([]rawMember, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	var members []rawMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("unexpected token %v", tok)
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		members = append(members, rawMember{key: key, value: value})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON object")
	}
	return members, nil
}
