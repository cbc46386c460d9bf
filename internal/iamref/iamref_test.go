package iamref

import "testing"

// TestStringLike pins the reference to the documented rules themselves.
func TestStringLike(t *testing.T) {
	tests := []struct {
		pattern, value string
		want           bool
	}{
		{"*", "", true},
		{"org/*", "org/a/b/c", true}, // * matches "/"
		{"a?c", "abc", true},
		{"a?c", "ac", false}, // ? is exactly one character
		{"a?c", "aéc", true}, // one character, not one byte
		{"ORG/*", "org/x", false},
		{"a.c", "abc", false}, // no other metacharacter
		{"a", "ab", false},    // the whole value
		{"*/vcs-ref/*/vcs-ref/*", "x/vcs-ref/y/vcs-ref/z", true},
		{"*/vcs-ref/*/vcs-ref/*", "x/vcs-ref/vcs-ref/z", false}, // occurrences sharing a "/"
		{"*/vcs-ref/vcs-ref/*", "x/vcs-ref/vcs-ref/z", true},
	}
	for _, tt := range tests {
		if got := StringLike(tt.pattern, tt.value); got != tt.want {
			t.Errorf("StringLike(%q, %q) = %v, want %v", tt.pattern, tt.value, got, tt.want)
		}
	}
}
