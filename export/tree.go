package export

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/policy"
	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/templates"
)

// node is a JSON value with object members in document order, so that the
// exported documents read like the ones setup prints (Version first):
// object, array, string, or expr (target syntax, written as is).
type node any

type object []member

type member struct {
	key   string
	value node
}

type array []node

// expr is an expression in the target syntax, such as a reference.
type expr string

// parseTree decodes a policy document into a node tree, keeping key order.
func parseTree(doc policy.Document) (node, error) {
	s, err := doc.JSON()
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	n, err := parseValue(dec)
	if err != nil {
		return nil, fmt.Errorf("decode policy document for export: %w", err)
	}
	return n, nil
}

func parseValue(dec *json.Decoder) (node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := object{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				obj = append(obj, member{key: k.(string), value: v})
			}
			_, err := dec.Token()
			return obj, err
		case '[':
			arr := array{}
			for dec.More() {
				v, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
	case string:
		return t, nil
	}
	// The policy package only emits strings, objects and arrays.
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// mapStrings returns n with every string replaced by f's result.
func mapStrings(n node, f func(string) node) node {
	switch t := n.(type) {
	case object:
		out := make(object, len(t))
		for i, m := range t {
			out[i] = member{key: m.key, value: mapStrings(m.value, f)}
		}
		return out
	case array:
		out := make(array, len(t))
		for i, v := range t {
			out[i] = mapStrings(v, f)
		}
		return out
	case string:
		return f(t)
	}
	return n
}

// multiline reports whether n renders on more than one line.
func multiline(n node) bool {
	switch t := n.(type) {
	case object:
		return len(t) > 0
	case array:
		return len(t) > 1 || (len(t) == 1 && multiline(t[0]))
	}
	return false
}

// hclRenderer writes documents as HCL object expressions for jsonencode.
type hclRenderer struct{ providerARN string }

func (r hclRenderer) document(doc policy.Document) (string, error) {
	tree, err := parseTree(doc)
	if err != nil {
		return "", err
	}
	tree = mapStrings(tree, r.value)
	var b strings.Builder
	writeHCL(&b, tree, 0)
	return b.String(), nil
}

// value turns a string holding placeholders into an HCL expression: the
// provider's ARN becomes a reference (which also orders the role after the
// provider), other ARNs a template with the partition and account locals.
func (r hclRenderer) value(s string) node {
	if s == r.providerARN {
		return expr("local.provider_arn")
	}
	if !strings.Contains(s, partitionToken) && !strings.Contains(s, accountToken) {
		return s
	}
	// Escape the literal parts only, so the placeholders become
	// interpolations and nothing else can.
	var b strings.Builder
	for s != "" {
		if rest, ok := strings.CutPrefix(s, partitionToken); ok {
			b.WriteString("${local.partition}")
			s = rest
			continue
		}
		if rest, ok := strings.CutPrefix(s, accountToken); ok {
			b.WriteString("${local.account_id}")
			s = rest
			continue
		}
		// The literal runs to the next placeholder (at least one byte, so a
		// stray NUL is escaped rather than looped on).
		n := strings.IndexByte(s[1:], 0) + 1
		if n == 0 {
			n = len(s)
		}
		b.WriteString(strings.TrimSuffix(strings.TrimPrefix(templates.HCLString(s[:n]), `"`), `"`))
		s = s[n:]
	}
	return expr(`"` + b.String() + `"`)
}

// writeHCL writes n as terraform fmt lays it out: one attribute per line,
// the "=" of consecutive single-line attributes aligned.
func writeHCL(w *strings.Builder, n node, depth int) {
	pad := strings.Repeat("  ", depth+1)
	switch t := n.(type) {
	case object:
		if len(t) == 0 {
			w.WriteString("{}")
			return
		}
		w.WriteString("{\n")
		widths := alignWidths(t)
		for i, m := range t {
			key := templates.HCLString(m.key)
			fmt.Fprintf(w, "%s%-*s = ", pad, widths[i], key)
			writeHCL(w, m.value, depth+1)
			w.WriteString("\n")
		}
		w.WriteString(strings.Repeat("  ", depth) + "}")
	case array:
		if !multiline(t) {
			w.WriteString("[")
			for i, v := range t {
				if i > 0 {
					w.WriteString(", ")
				}
				writeHCL(w, v, depth)
			}
			w.WriteString("]")
			return
		}
		w.WriteString("[\n")
		for _, v := range t {
			w.WriteString(pad)
			writeHCL(w, v, depth+1)
			w.WriteString(",\n")
		}
		w.WriteString(strings.Repeat("  ", depth) + "]")
	case expr:
		w.WriteString(string(t))
	case string:
		w.WriteString(templates.HCLString(t))
	}
}

// alignWidths returns the key width of each member: terraform fmt aligns
// the "=" of a run of single-line attributes on consecutive lines; an
// attribute whose value spans several lines stands alone.
func alignWidths(obj object) []int {
	widths := make([]int, len(obj))
	start := 0
	flush := func(end int) {
		w := 0
		for i := start; i < end; i++ {
			w = max(w, len(templates.HCLString(obj[i].key)))
		}
		for i := start; i < end; i++ {
			widths[i] = w
		}
		start = end
	}
	for i, m := range obj {
		if multiline(m.value) {
			flush(i)
			flush(i + 1)
		}
	}
	flush(len(obj))
	return widths
}

// cfnRenderer writes documents as JSON for a CloudFormation YAML template,
// with intrinsic functions in their JSON form.
type cfnRenderer struct{ providerARN string }

func (r cfnRenderer) document(doc policy.Document) (string, error) {
	tree, err := parseTree(doc)
	if err != nil {
		return "", err
	}
	return renderJSON(mapStrings(tree, r.value), 0, true), nil
}

// providerRef is the provider's ARN: the created provider's, or the one the
// account has for the organization when the stack does not create it.
func (r cfnRenderer) providerRef() node {
	return object{{key: "Fn::If", value: array{
		"CreateProvider",
		object{{key: "Fn::GetAtt", value: array{"OIDCProvider", "Arn"}}},
		r.sub(r.providerARN),
	}}}
}

func (r cfnRenderer) value(s string) node {
	if s == r.providerARN {
		return r.providerRef()
	}
	if !strings.Contains(s, partitionToken) && !strings.Contains(s, accountToken) && !strings.Contains(s, regionToken) {
		return s
	}
	return r.sub(s)
}

// sub turns a string with placeholders into Fn::Sub with pseudo parameters.
// A literal "${" would be a variable to Fn::Sub; "${!" escapes it.
func (r cfnRenderer) sub(s string) node {
	s = strings.ReplaceAll(s, "${", "${!")
	s = strings.ReplaceAll(s, partitionToken, "${AWS::Partition}")
	s = strings.ReplaceAll(s, accountToken, "${AWS::AccountId}")
	s = strings.ReplaceAll(s, regionToken, "${AWS::Region}")
	return object{{key: "Fn::Sub", value: s}}
}

// renderJSON writes n as JSON, indented when pretty, compact otherwise.
func renderJSON(n node, depth int, pretty bool) string {
	var b strings.Builder
	writeJSON(&b, n, depth, pretty)
	return b.String()
}

func writeJSON(w *strings.Builder, n node, depth int, pretty bool) {
	nl, pad, end := "", "", ""
	if pretty {
		nl, pad, end = "\n", strings.Repeat("  ", depth+1), strings.Repeat("  ", depth)
	}
	switch t := n.(type) {
	case object:
		if pretty && isIntrinsic(t) {
			writeJSON(w, t, depth, false)
			return
		}
		w.WriteString("{" + nl)
		for i, m := range t {
			if i > 0 {
				w.WriteString("," + nl)
				if !pretty {
					w.WriteString(" ")
				}
			}
			w.WriteString(pad + templates.JSONString(m.key) + ": ")
			writeJSON(w, m.value, depth+1, pretty)
		}
		w.WriteString(nl + end + "}")
	case array:
		if pretty && !multiline(t) {
			writeJSON(w, t, depth, false)
			return
		}
		w.WriteString("[" + nl)
		for i, v := range t {
			if i > 0 {
				w.WriteString("," + nl)
				if !pretty {
					w.WriteString(" ")
				}
			}
			w.WriteString(pad)
			writeJSON(w, v, depth+1, pretty)
		}
		w.WriteString(nl + end + "]")
	case string:
		w.WriteString(templates.JSONString(t))
	case expr:
		w.WriteString(string(t))
	}
}

// isIntrinsic reports whether obj is a CloudFormation intrinsic function
// call, which reads best on one line.
func isIntrinsic(obj object) bool {
	return len(obj) == 1 && (strings.HasPrefix(obj[0].key, "Fn::") || obj[0].key == "Ref")
}
