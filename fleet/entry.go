package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Entry is one account's object in the JSON output of a multi-account run:
// the single-account object (Result, the command's own JSON output for one
// account) with the account's identity and error added at its top level.
//
// Its JSON form starts with "account" (always present: the target's ID, or
// else Result's "account", or ""), then "name", "profile", "assumed_role"
// and "error" when set, then Result's members in their order. A field of
// Entry that is set replaces Result's member of the same name; one that is
// not set lets Result's through.
type Entry struct {
	Account     string
	Name        string
	Profile     string
	AssumedRole string
	Error       string
	// Result is the single-account object, or nil when the account failed
	// before it had one.
	Result any
}

// member is one name and value of a JSON object.
type member struct {
	name  string
	value json.RawMessage
}

// MarshalJSON merges the entry's fields into Result's object. Result must
// marshal to a JSON object or null.
func (e Entry) MarshalJSON() ([]byte, error) {
	inner, err := objectMembers(e.Result)
	if err != nil {
		return nil, fmt.Errorf("marshal the entry of account %s: %w", e.Account, err)
	}
	own := []member{{"account", quote(e.Account)}}
	if i := slices.IndexFunc(inner, func(m member) bool { return m.name == "account" }); e.Account == "" && i >= 0 {
		own[0].value = inner[i].value
	}
	for _, f := range []struct{ name, value string }{{"name", e.Name}, {"profile", e.Profile}, {"assumed_role", e.AssumedRole}, {"error", e.Error}} {
		if f.value != "" {
			own = append(own, member{f.name, quote(f.value)})
		}
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range slices.Concat(own, slices.DeleteFunc(inner, func(m member) bool {
		return slices.ContainsFunc(own, func(o member) bool { return o.name == m.name })
	})) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(quote(m.name))
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// objectMembers marshals v, which must be a JSON object or null, and
// returns its members in order. HTML characters stay as they are, as the
// command's encoder writes them.
func objectMembers(v any) ([]member, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(&buf)
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("the result is not a JSON object (it starts with %v)", tok)
	}
	var members []member
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		members = append(members, member{key.(string), value})
	}
	return members, nil
}

// quote returns s as a JSON string, HTML characters unescaped.
func quote(s string) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
