// Package policy holds the IAM documents circleci-ecr-oidc writes and reads:
// Go values for trust and permissions policies, builders that produce them
// from validated inputs, size accounting the way IAM counts characters, and
// semantic comparison so that a document IAM hands back reordered or
// URL-encoded is not mistaken for drift.
//
// Documents are always Go values marshalled to JSON, never text templates, so
// that no input can change the document's structure.
package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Version is the only IAM policy language version this package emits.
const Version = "2012-10-17"

// Document is an IAM policy document as this tool emits it.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Document. The builders never set
// NotPrincipal, NotAction or NotResource; those fields exist so that a
// document read back from AWS with Parse keeps them and Evaluate can honour
// them instead of silently dropping a hand-added exclusion. Documents are
// still compared through Canonical, which keeps every field.
type Statement struct {
	Sid          string                `json:"Sid,omitempty"`
	Effect       string                `json:"Effect"`
	Principal    Principals            `json:"Principal,omitempty"`
	NotPrincipal Principals            `json:"NotPrincipal,omitempty"`
	Action       Values                `json:"Action,omitempty"`
	NotAction    Values                `json:"NotAction,omitempty"`
	Resource     Values                `json:"Resource,omitempty"`
	NotResource  Values                `json:"NotResource,omitempty"`
	Condition    map[string]Conditions `json:"Condition,omitempty"`
}

// Principals maps principal types ("Federated", "AWS", "Service", ...) to
// principal identifiers. IAM also accepts the bare string "*" for "everyone";
// it is held as {"*": ["*"]} so that a document using it still parses, and is
// written back as "*".
type Principals map[string]Values

// Wildcard is the key and value Principals uses for the bare "*" principal.
const Wildcard = "*"

// MarshalJSON writes the bare-"*" form as the string "*" and every other
// value as an object.
func (p Principals) MarshalJSON() ([]byte, error) {
	if p.IsWildcard() {
		return marshal(Wildcard)
	}
	return marshal(map[string]Values(p))
}

// UnmarshalJSON accepts the string "*" or an object of principal types.
func (p *Principals) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		if s != Wildcard {
			return fmt.Errorf("principal %q is neither \"*\" nor an object", s)
		}
		*p = Principals{Wildcard: {Wildcard}}
		return nil
	}
	var m map[string]Values
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*p = m
	return nil
}

// IsWildcard reports whether p is the bare "*" principal.
func (p Principals) IsWildcard() bool {
	v, ok := p[Wildcard]
	return ok && len(p) == 1 && len(v) == 1 && v[0] == Wildcard
}

// Conditions maps condition keys to the values of one condition operator.
type Conditions map[string]Values

// Values is an IAM string-or-list value. It marshals a single value as a
// plain string (the compact form IAM shows) and several as a list, and
// unmarshals both, including the booleans and numbers IAM accepts in
// condition values.
type Values []string

// MarshalJSON writes one value as a string and several as a list.
func (v Values) MarshalJSON() ([]byte, error) {
	if len(v) == 1 {
		return marshal(v[0])
	}
	return marshal([]string(v))
}

// UnmarshalJSON accepts a string, a number, a boolean or a list of them.
func (v *Values) UnmarshalJSON(data []byte) error {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	switch t := raw.(type) {
	case []any:
		out := make(Values, 0, len(t))
		for _, item := range t {
			s, err := scalarString(item)
			if err != nil {
				return err
			}
			out = append(out, s)
		}
		*v = out
	default:
		s, err := scalarString(t)
		if err != nil {
			return err
		}
		*v = Values{s}
	}
	return nil
}

func scalarString(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case json.Number:
		return t.String(), nil
	case bool:
		if t {
			return "true", nil
		}
		return "false", nil
	default:
		return "", fmt.Errorf("policy value %v is not a string, number or boolean", v)
	}
}

// JSON returns the document as compact JSON, the form the tool writes to IAM.
func (d Document) JSON() (string, error) {
	b, err := marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode policy document: %w", err)
	}
	return string(b), nil
}

// Indented returns the document as indented JSON for people to read.
func (d Document) Indented() (string, error) {
	compact, err := d.JSON()
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(compact), "", "  "); err != nil {
		return "", fmt.Errorf("indent policy document: %w", err)
	}
	return buf.String(), nil
}

// Size returns the document's size as IAM counts it against its quotas.
func (d Document) Size() (int, error) {
	s, err := d.JSON()
	if err != nil {
		return 0, err
	}
	return Size(s), nil
}

// Resources returns the resources the document's statements name, in
// order, leaving out "*" (the token grant): for a permissions policy, the
// repository ARNs and patterns it grants.
func (d Document) Resources() []string {
	var out []string
	for _, st := range d.Statement {
		for _, r := range st.Resource {
			if r != "*" {
				out = append(out, r)
			}
		}
	}
	return out
}

// GrantedResources parses each document (plain or URL-encoded, as IAM
// returns them) and returns every resource they name but "*", sorted, with
// duplicates kept so that a grant made twice shows.
func GrantedResources(documents ...string) ([]string, error) {
	var out []string
	for _, text := range documents {
		decoded, err := Decode(text)
		if err != nil {
			return nil, err
		}
		doc, err := Parse(decoded)
		if err != nil {
			return nil, err
		}
		out = append(out, doc.Resources()...)
	}
	slices.Sort(out)
	return out, nil
}

// marshal encodes without HTML escaping, so "<" and "&" are not turned into
// six-character escapes that would inflate the measured size.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// sortedUnique returns the values sorted with duplicates removed.
func sortedUnique(values []string) []string {
	out := slices.Clone(values)
	slices.Sort(out)
	return slices.Compact(out)
}
