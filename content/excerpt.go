package content

import (
	"html/template"
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// ellipsis ends an excerpt that was cut short.
const ellipsis = "…"

// Excerpt returns the text of rendered HTML as plain text of at most n runes,
// for post listings. Whitespace is collapsed, tags are dropped and entities
// are decoded once, so the caller's template escapes the result exactly once.
// A cut falls at a word boundary where there is one and ends with "…".
// It takes the stored HTML rather than Markdown so listings need not render.
func Excerpt(h template.HTML, n int) string {
	if n <= 0 {
		return ""
	}
	var t plainText
	z := html.NewTokenizer(strings.NewReader(string(h)))
	// One rune beyond n is enough to know a cut is needed and where.
	for t.runes <= n {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		switch tt {
		case html.TextToken:
			t.add(string(z.Text()))
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			if !inline(atom.Lookup(name)) {
				// Block boundaries separate words: "<p>a</p><p>b</p>" is "a b".
				t.space = true
			}
		}
	}
	return truncate([]rune(t.sb.String()), n)
}

// plainText accumulates text with runs of whitespace collapsed to one space
// and none at either end.
type plainText struct {
	sb    strings.Builder
	runes int
	space bool // a space is due before the next non-space rune
}

// add appends s, collapsing its whitespace.
func (t *plainText) add(s string) {
	for _, r := range s {
		if unicode.IsSpace(r) {
			t.space = true
			continue
		}
		if t.space && t.runes > 0 {
			t.sb.WriteByte(' ')
			t.runes++
		}
		t.space = false
		t.sb.WriteRune(r)
		t.runes++
	}
}

// inline reports whether a tag sits inside running text, so that crossing it
// must not insert a space ("<em>un</em>done" is one word).
func inline(a atom.Atom) bool {
	switch a {
	case atom.A, atom.Abbr, atom.B, atom.Bdi, atom.Bdo, atom.Cite, atom.Code,
		atom.Del, atom.Dfn, atom.Em, atom.I, atom.Ins, atom.Kbd, atom.Mark,
		atom.Q, atom.S, atom.Samp, atom.Small, atom.Span, atom.Strike,
		atom.Strong, atom.Sub, atom.Sup, atom.Time, atom.Tt, atom.U, atom.Var:
		return true
	}
	return false
}

// truncate shortens r to at most n runes, cutting at the last word boundary
// that fits and appending an ellipsis.
func truncate(r []rune, n int) string {
	if len(r) <= n {
		return string(r)
	}
	// Keep n-1 runes so the ellipsis fits within n. Unless the cut already
	// falls between words, back up to the last space, if there is one.
	head := r[:n-1]
	if r[n-1] != ' ' {
		for i := len(head) - 1; i > 0; i-- {
			if head[i] == ' ' {
				head = head[:i]
				break
			}
		}
	}
	s := strings.TrimRightFunc(string(head), func(c rune) bool {
		return unicode.IsSpace(c) || unicode.IsPunct(c)
	})
	if s == "" {
		s = strings.TrimRightFunc(string(head), unicode.IsSpace)
	}
	return s + ellipsis
}
