package circleciconfig

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// Diff returns a unified diff (three lines of context) from before to
// after, with a/ and b/ prefixes on name as git shows them (a leading "/"
// is dropped, as git diff --no-index does), or "" when they are equal. Carriage returns are dropped from the lines shown, so a CRLF
// file's diff reads like any other; the file itself keeps them.
func Diff(name string, before, after []byte) (string, error) {
	if bytes.Equal(before, after) {
		return "", nil
	}
	label := strings.TrimPrefix(filepath.ToSlash(name), "/")
	out, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        splitLines(before),
		B:        splitLines(after),
		FromFile: "a/" + label,
		ToFile:   "b/" + label,
		Context:  3,
	})
	if err != nil {
		return "", fmt.Errorf("diff %s: %w", name, err)
	}
	return out, nil
}

// splitLines splits into lines that each end in "\n", which difflib needs
// to print one line per line; a last line without one gets it. Unlike
// difflib.SplitLines it adds no empty line after a final "\n".
func splitLines(b []byte) []string {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n"
	}
	return lines
}
