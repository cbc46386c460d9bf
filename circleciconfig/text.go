package circleciconfig

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// text maps the parser's line and column positions onto the source bytes,
// so that edits touch only the bytes of the nodes they replace.
type text struct {
	src []byte
	// starts[i] is the offset where line i+1 begins.
	starts []int
	// newline is the file's line ending, kept for inserted lines.
	newline string
}

func newText(src []byte) *text {
	t := &text{src: src, starts: []int{0}, newline: "\n"}
	// YAML breaks lines at LF, CRLF and a lone CR; the parser's line
	// numbers count all three, so the map must too.
	for i, b := range src {
		lone := b == '\r' && (i+1 == len(src) || src[i+1] != '\n')
		if (b == '\n' || lone) && i+1 < len(src) {
			t.starts = append(t.starts, i+1)
		}
	}
	if bytes.Contains(src, []byte("\r\n")) {
		t.newline = "\r\n"
	}
	return t
}

// line returns line n (1-based) without its line ending.
func (t *text) line(n int) []byte {
	if n < 1 || n > len(t.starts) {
		return nil
	}
	return t.src[t.starts[n-1]:t.lineEnd(n)]
}

// lineEnd is the offset just before line n's "\n", "\r\n" or lone "\r".
func (t *text) lineEnd(n int) int {
	start, end := t.starts[n-1], t.nextLineStart(n)
	if end > start && t.src[end-1] == '\n' {
		end--
	}
	if end > start && t.src[end-1] == '\r' {
		end--
	}
	return end
}

// nextLineStart is the offset just after line n's line ending.
func (t *text) nextLineStart(n int) int {
	if n < len(t.starts) {
		return t.starts[n]
	}
	return len(t.src)
}

// offset converts a node's position to a byte offset. The parser counts
// columns in characters, not bytes.
func (t *text) offset(n *yaml.Node) int {
	start := t.starts[n.Line-1]
	off := start
	for col := 1; col < n.Column && off < len(t.src); col++ {
		_, size := utf8.DecodeRune(t.src[off:])
		off += size
	}
	return off
}

// indentFor returns how many spaces put a new line's key in the same
// column as n, or false when the bytes before n hold a tab (a column the
// parser counts as one character but a terminal does not).
func (t *text) indentFor(n *yaml.Node) (int, bool) {
	prefix := t.src[t.starts[n.Line-1]:t.offset(n)]
	if bytes.ContainsRune(prefix, '\t') {
		return 0, false
	}
	return utf8.RuneCount(prefix), true
}

// indentOf counts the spaces that start line n.
func (t *text) indentOf(n int) int {
	l := t.line(n)
	return len(l) - len(bytes.TrimLeft(l, " "))
}

// documentMarker returns the first line from line n on that ends the
// document ("---" or "..." at its start), or 0 if none does.
func (t *text) documentMarker(n int) int {
	for ; n <= len(t.starts); n++ {
		l := t.line(n)
		if (bytes.HasPrefix(l, []byte("---")) || bytes.HasPrefix(l, []byte("..."))) && (len(l) == 3 || isSpace(l[3])) {
			return n
		}
	}
	return 0
}

// flowValueEnd returns the offset just after the flow-context value that
// starts at start: a whole {...} or [...] collection, a quoted scalar or a
// plain scalar (up to the next ',', '}' or ']' at its level). It skips
// quoted strings and comments so that brackets inside them do not count.
func (t *text) flowValueEnd(start int) (int, error) {
	src := t.src
	i := start
	// An anchor or a tag before the value belongs to it.
	for i < len(src) && (src[i] == '&' || src[i] == '!') {
		for i < len(src) && !isSpace(src[i]) && src[i] != '\n' && src[i] != '\r' {
			i++
		}
		for i < len(src) && isSpace(src[i]) {
			i++
		}
	}
	trimEnd := func(end int) int {
		for end > start && (isSpace(src[end-1]) || src[end-1] == '\n' || src[end-1] == '\r') {
			end--
		}
		return end
	}
	depth := 0
	prev := byte(',') // the last non-blank byte, to tell quotes that open a scalar
	for ; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '"' && bytes.IndexByte([]byte("{[,:"), prev) >= 0:
			for i++; i < len(src) && src[i] != '"'; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		case c == '\'' && bytes.IndexByte([]byte("{[,:"), prev) >= 0:
			for i++; i < len(src); i++ {
				if src[i] == '\'' {
					if i+1 < len(src) && src[i+1] == '\'' {
						i++
						continue
					}
					break
				}
			}
		case c == '#' && (i == 0 || isSpace(src[i-1]) || src[i-1] == '\n'):
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth == 0 {
				return trimEnd(i), nil
			}
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		case c == ',' && depth == 0:
			return trimEnd(i), nil
		}
		if !isSpace(c) && c != '\n' && c != '\r' {
			prev = c
		}
	}
	return 0, errors.New("find the end of a flow collection: unterminated")
}

// edit replaces src[start:end] with text; start == end inserts.
type edit struct {
	start, end int
	text       string
}

// apply returns the source with the edits made. Overlapping edits are a
// bug in the caller and fail rather than corrupt the file.
func (t *text) apply(edits []edit) ([]byte, error) {
	sorted := slices.Clone(edits)
	slices.SortFunc(sorted, func(a, b edit) int { return a.start - b.start })
	var out bytes.Buffer
	pos := 0
	for _, e := range sorted {
		if e.start < pos || e.end < e.start || e.end > len(t.src) {
			return nil, fmt.Errorf("apply edits: overlapping or out-of-range edit at byte %d", e.start)
		}
		out.Write(t.src[pos:e.start])
		out.WriteString(e.text)
		pos = e.end
	}
	out.Write(t.src[pos:])
	return out.Bytes(), nil
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' }
