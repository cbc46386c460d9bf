package token

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// looksLikeToken reports whether s could be a JWT or one of its segments:
// only base64url characters and dots. Error messages are prose with spaces,
// so such a string of 20 or more characters appearing in one means the
// message echoes the input.
func looksLikeToken(s string) bool {
	if len(s) < 20 {
		return false
	}
	return strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == ""
}

// FuzzParse checks that Parse never panics, that its errors wrap
// ErrMalformed and never quote the token or its signature, and that any
// claims it accepts survive Sign and Parse unchanged. Seeds live in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := Parse(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			msg := err.Error()
			trimmed := strings.TrimSpace(raw)
			if looksLikeToken(trimmed) && strings.Contains(msg, trimmed) {
				t.Fatalf("error quotes the token: %q", msg)
			}
			if parts := strings.Split(trimmed, "."); len(parts) == 3 && looksLikeToken(parts[2]) && strings.Contains(msg, parts[2]) {
				t.Fatalf("error quotes the signature: %q", msg)
			}
			return
		}
		_ = c.Version()
		_ = c.OrgID()
		_ = RequestKeys(c, c.ProviderPath())

		again, err := Parse(sign(t, c))
		if err != nil {
			t.Fatalf("Parse rejects the re-signed claims %+v: %v", c, err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("claims change when re-signed:\nfirst  %+v\nsecond %+v", c, again)
		}
	})
}

// FuzzFromKeyValues checks that FromKeyValues never panics and that the
// claims it builds survive Sign and Parse unchanged. Seeds live in
// testdata/fuzz/FuzzFromKeyValues.
func FuzzFromKeyValues(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		c, err := FromKeyValues(s)
		if err != nil {
			return
		}
		raw, err := Sign(c, testKey(t), testKid)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		back, err := Parse(raw)
		if err != nil {
			t.Fatalf("Parse rejects the claims FromKeyValues built from %q: %v", s, err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip of %q changes the claims:\nbuilt  %+v\nparsed %+v", s, c, back)
		}
	})
}
