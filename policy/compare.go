package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Size counts the characters of a JSON policy document as IAM does for its
// quotas: whitespace outside string literals does not count. Whitespace inside
// strings is counted, which can only over-estimate, never under-estimate.
func Size(document string) int {
	n := 0
	inString, escaped := false, false
	for _, r := range document {
		switch {
		case inString:
			n++
			switch {
			case escaped:
				escaped = false
			case r == '\\':
				escaped = true
			case r == '"':
				inString = false
			}
		case r == '"':
			inString = true
			n++
		case unicode.IsSpace(r):
		default:
			n++
		}
	}
	return n
}

// Decode reads a policy document as IAM returns it. IAM's query API returns
// documents URL-encoded ("%7B%22Version..."); the console and the CLI show
// them decoded. Both forms are accepted.
func Decode(document string) (string, error) {
	trimmed := strings.TrimSpace(document)
	if strings.HasPrefix(trimmed, "{") {
		return trimmed, nil
	}
	decoded, err := url.QueryUnescape(trimmed)
	if err != nil {
		return "", fmt.Errorf("decode URL-encoded policy document: %w", err)
	}
	return strings.TrimSpace(decoded), nil
}

// Canonical returns a normal form of a policy document in which every
// difference IAM ignores is gone: key order, statement order, the order and
// duplicates of values, a single value written as a string or as a one-item
// list, whitespace, URL encoding, and scalars written as numbers or booleans.
// Two documents with equal canonical forms grant the same access. Fields the
// tool does not emit (NotAction, NotPrincipal, ...) are kept, so a hand-added
// one shows up as a difference.
func Canonical(document string) (string, error) {
	decoded, err := Decode(document)
	if err != nil {
		return "", err
	}
	dec := json.NewDecoder(strings.NewReader(decoded))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return "", fmt.Errorf("parse policy document: %w", err)
	}
	if dec.More() {
		return "", fmt.Errorf("parse policy document: trailing data after the JSON object")
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return "", fmt.Errorf("parse policy document: not a JSON object")
	}
	normalized, err := normalizeDocument(obj)
	if err != nil {
		return "", err
	}
	b, err := marshal(normalized)
	if err != nil {
		return "", fmt.Errorf("encode canonical policy document: %w", err)
	}
	return string(b), nil
}

// Equal reports whether two policy documents are semantically equal in the
// sense of Canonical. A document that cannot be parsed equals nothing.
func Equal(a, b string) bool {
	ca, err := Canonical(a)
	if err != nil {
		return false
	}
	cb, err := Canonical(b)
	if err != nil {
		return false
	}
	return ca == cb
}

// Parse decodes a policy document (plain or URL-encoded JSON) into a
// Document. Fields the Document type does not model are dropped, so use
// Canonical, not Parse, to compare documents.
func Parse(document string) (Document, error) {
	decoded, err := Decode(document)
	if err != nil {
		return Document{}, err
	}
	var raw struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(decoded), &raw); err != nil {
		return Document{}, fmt.Errorf("parse policy document: %w", err)
	}
	doc := Document{Version: raw.Version}
	trimmed := bytes.TrimSpace(raw.Statement)
	switch {
	case len(trimmed) == 0:
	case trimmed[0] == '[':
		if err := json.Unmarshal(trimmed, &doc.Statement); err != nil {
			return Document{}, fmt.Errorf("parse policy statements: %w", err)
		}
	default:
		var one Statement
		if err := json.Unmarshal(trimmed, &one); err != nil {
			return Document{}, fmt.Errorf("parse policy statement: %w", err)
		}
		doc.Statement = []Statement{one}
	}
	return doc, nil
}

// setValuedFields are statement fields whose value is a set of strings.
var setValuedFields = []string{"Action", "NotAction", "Resource", "NotResource"}

func normalizeDocument(doc map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != "Statement" {
			out[k] = v
			continue
		}
		var statements []any
		switch t := v.(type) {
		case []any:
			statements = t
		case map[string]any:
			statements = []any{t}
		default:
			return nil, fmt.Errorf("parse policy document: Statement is neither an object nor a list")
		}
		normalized := make([]any, 0, len(statements))
		keys := make([]string, 0, len(statements))
		for _, s := range statements {
			obj, ok := s.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("parse policy document: a statement is not an object")
			}
			ns, err := normalizeStatement(obj)
			if err != nil {
				return nil, err
			}
			b, err := marshal(ns)
			if err != nil {
				return nil, err
			}
			normalized = append(normalized, ns)
			keys = append(keys, string(b))
		}
		// Sort statements by their canonical encoding so order never matters.
		idx := make([]int, len(normalized))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
		sorted := make([]any, len(normalized))
		for i, j := range idx {
			sorted[i] = normalized[j]
		}
		out[k] = sorted
	}
	return out, nil
}

func normalizeStatement(st map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(st))
	for k, v := range st {
		switch {
		case slices.Contains(setValuedFields, k):
			set, err := stringSet(v)
			if err != nil {
				return nil, fmt.Errorf("parse policy statement %s: %w", k, err)
			}
			if k == "Action" || k == "NotAction" {
				// Action names are case-insensitive in IAM; resources are not.
				for i := range set {
					set[i] = strings.ToLower(set[i])
				}
				set = sortedUnique(set)
			}
			out[k] = set
		case k == "Principal" || k == "NotPrincipal":
			p, err := normalizePrincipal(v)
			if err != nil {
				return nil, fmt.Errorf("parse policy statement %s: %w", k, err)
			}
			out[k] = p
		case k == "Condition":
			c, err := normalizeCondition(v)
			if err != nil {
				return nil, err
			}
			out[k] = c
		default:
			out[k] = v
		}
	}
	return out, nil
}

func normalizePrincipal(v any) (any, error) {
	switch t := v.(type) {
	case string: // "*"
		return t, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, vals := range t {
			set, err := stringSet(vals)
			if err != nil {
				return nil, err
			}
			out[k] = set
		}
		return out, nil
	default:
		return nil, fmt.Errorf("principal is neither \"*\" nor an object")
	}
}

func normalizeCondition(v any) (any, error) {
	ops, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse policy condition: not an object")
	}
	out := make(map[string]any, len(ops))
	for op, keys := range ops {
		km, ok := keys.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("parse policy condition %s: not an object", op)
		}
		nk := make(map[string]any, len(km))
		for key, vals := range km {
			set, err := stringSet(vals)
			if err != nil {
				return nil, fmt.Errorf("parse policy condition %s %s: %w", op, key, err)
			}
			// Condition keys are case-insensitive in IAM; values are not.
			// Two spellings of one key under one operator are two AND-ed
			// tests, which one object key cannot express; refuse rather
			// than keep whichever spelling map iteration happened to visit
			// last, which would make the canonical form nondeterministic.
			lower := strings.ToLower(key)
			if _, dup := nk[lower]; dup {
				return nil, fmt.Errorf("parse policy condition %s: key %s appears more than once with different letter case", op, key)
			}
			nk[lower] = set
		}
		out[op] = nk
	}
	return out, nil
}

func stringSet(v any) ([]string, error) {
	var items []any
	switch t := v.(type) {
	case []any:
		items = t
	default:
		items = []any{t}
	}
	out := make([]string, 0, len(items))
	for _, item := range items {
		s, err := scalarString(item)
		if err != nil {
			return nil, err
		}
		if !utf8.ValidString(s) {
			return nil, fmt.Errorf("value is not valid UTF-8")
		}
		out = append(out, s)
	}
	return sortedUnique(out), nil
}
