package policy

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzCanonical feeds arbitrary text to the document parser. Canonical must
// never panic, must be idempotent, and must give the same answer for a
// document and its URL-encoded form (the form IAM's query API returns).
// Parse and Evaluate must not panic on anything Canonical accepts.
// Seeds live in testdata/fuzz/FuzzCanonical.
func FuzzCanonical(f *testing.F) {
	f.Fuzz(func(t *testing.T, doc string) {
		c1, err := Canonical(doc)
		if strings.HasPrefix(strings.TrimSpace(doc), "{") {
			c3, err3 := Canonical(url.QueryEscape(doc))
			if (err == nil) != (err3 == nil) || c3 != c1 {
				t.Fatalf("URL-encoded form differs:\nplain:   %q (err %v)\nencoded: %q (err %v)", c1, err, c3, err3)
			}
		}
		if err != nil {
			return
		}
		c2, err := Canonical(c1)
		if err != nil {
			t.Fatalf("Canonical rejects its own output %q: %v", c1, err)
		}
		if c2 != c1 {
			t.Fatalf("Canonical is not idempotent:\nonce:  %s\ntwice: %s", c1, c2)
		}
		if !Equal(doc, doc) {
			t.Fatal("a document does not equal itself")
		}
		if parsed, err := Parse(doc); err == nil {
			Evaluate(parsed, Request{ProviderARN: evalARN, Keys: keys("aud", evalOrg, "sub", subV1(evalProjA))})
		}
	})
}
