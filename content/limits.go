package content

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark/util"
)

// precheck makes one linear pass over src and refuses documents whose parse
// would be deeply nested or super-linear, before the parser sees them. Its
// estimates err on the high side; prepareTree checks the parsed tree exactly.
func precheck(src []byte) error {
	var e estimate
	for start := 0; start < len(src); {
		end := bytes.IndexByte(src[start:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += start
		}
		p := containerPrefix(src[start:end])
		if p.nesting > MaxNesting {
			return ErrTooComplex
		}
		e.blockLine(p)
		e.inlineLine(src, end-len(p.rest), end)
		if e.cells > MaxTableCells || e.work > MaxInlineWork {
			return ErrTooComplex
		}
		start = end + 1
	}
	return nil
}

// estimate accumulates precheck's cost estimates over the lines of a
// document. Paragraph state resets where a paragraph surely ends and goldmark
// starts afresh; everything else errs towards counting too much.
type estimate struct {
	cells     int // table cells the document may produce
	tableCols int // columns of the tables open in the current paragraph

	work int64 // inline parser re-reading, compared with MaxInlineWork

	// Link labels: the parser's cost grows with the "[" still open when a
	// "]" arrives.
	brackets int64

	// Emphasis delimiters ("*", "_", "~"): a closer with no opener of its
	// kind walks back over every delimiter still pending, including runs
	// that can neither open nor close.
	delims  int64
	openers [3]int64

	// A link whose label holds a delimiter makes the parser walk back over
	// the paragraph's inline nodes, often to its start. inlines bounds
	// that count; labelDelims counts delimiters since the last "[".
	inlines     int64
	labelDelims int64

	// Link destinations after "](": plain ones are scanned to the next
	// whitespace, "<...>" ones to the next ">" or the end of the line. Keep
	// how many are being scanned and the sum of their start offsets.
	awaiting         int64 // "](" whose destination has not started yet
	plainN, plainSum int64
	angleN, angleSum int64
}

// blockLine accounts for the block structure of one line: blank lines and
// new list items or headings end paragraphs, and table rows multiply by the
// table's width because the parser pads short rows.
func (e *estimate) blockLine(p prefix) {
	rest := p.rest
	if isBlank(rest) {
		// Only a blank line, a bare ">" or a "-" (a setext underline or an
		// empty item) surely ends a paragraph: a bare "*" or "1." continues
		// it, since an empty item can not interrupt one.
		if p.last == 0 || p.last == '>' || p.last == '-' {
			e.endParagraph()
		}
		return
	}
	if p.item || (p.indent < 4 && isHeading(rest)) {
		e.endParagraph()
	}
	e.inlines++ // each line of a paragraph is at least one text node
	if e.tableCols > 0 {
		e.cells += e.tableCols
	}
	if isTableDelimiter(rest) {
		e.tableCols += bytes.Count(rest, []byte("|")) + 1
	}
}

// endParagraph drops the state that lives as long as one paragraph.
func (e *estimate) endParagraph() {
	e.tableCols, e.brackets, e.delims, e.openers = 0, 0, 0, [3]int64{}
	e.inlines, e.labelDelims = 0, 0
}

// inlineLine accounts for the inline syntax in src[start:end].
func (e *estimate) inlineLine(src []byte, start, end int) {
	for i := start; i < end; i++ {
		c := src[i]
		if isSpace(c) {
			e.endPlain(i)
			continue
		}
		if e.awaiting > 0 {
			if c == '<' {
				e.angleN += e.awaiting
				e.angleSum += e.awaiting * int64(i)
			} else {
				e.plainN += e.awaiting
				e.plainSum += e.awaiting * int64(i)
			}
			e.awaiting = 0
		}
		switch c {
		case '[', ']', '*', '_', '~', '`', '<', '&', '!', '\\':
			// A node of its own, and the text node after it.
			e.inlines += 2
		}
		switch c {
		case '[':
			e.brackets++
			e.labelDelims = 0
		case ']':
			e.work += e.brackets
			if e.brackets > 0 {
				e.brackets--
			}
			if e.labelDelims > 0 {
				e.work += e.inlines
			}
			if i+1 < end && src[i+1] == '(' {
				e.awaiting++
				i++
			}
		case '>':
			e.endAngle(i)
		case '*', '_', '~':
			j := i + 1
			for j < end && src[j] == c {
				j++
			}
			e.delimiter(c, src[start:i], src[j:end])
			i = j - 1
		}
	}
	e.endPlain(end)
	e.endAngle(end)
}

// delimiter accounts for a run of emphasis characters c between before and
// after, classified as goldmark's parser.ScanDelimiter does.
func (e *estimate) delimiter(c byte, before, after []byte) {
	b, a := ' ', ' '
	if len(before) > 0 {
		b, _ = utf8.DecodeLastRune(before)
	}
	if len(after) > 0 {
		a, _ = utf8.DecodeRune(after)
	}
	bPunct, bSpace := util.IsPunctRune(b), util.IsSpaceRune(b)
	aPunct, aSpace := util.IsPunctRune(a), util.IsSpaceRune(a)
	left := !aSpace && (!aPunct || bSpace || bPunct)
	right := !bSpace && (!bPunct || aSpace || aPunct)
	canOpen, canClose := left, right
	if c == '_' {
		canOpen = left && (!right || bPunct)
		canClose = right && (!left || aPunct)
	}

	k := strings.IndexByte("*_~", c)
	e.labelDelims++
	if !canOpen && !canClose {
		// Still pushed on the parser's delimiter list.
		e.delims++
		return
	}
	if canClose {
		if e.openers[k] > 0 {
			// Assume it pairs with the nearest opener of its kind.
			e.openers[k]--
			e.delims--
			e.work++
			return
		}
		e.work += e.delims
	}
	if canOpen {
		e.openers[k]++
		e.delims++
	}
}

// endPlain ends the plain link destinations being scanned at offset at.
func (e *estimate) endPlain(at int) {
	e.work += e.plainN*int64(at) - e.plainSum
	e.plainN, e.plainSum = 0, 0
}

// endAngle ends the "<...>" link destinations being scanned at offset at.
func (e *estimate) endAngle(at int) {
	e.work += e.angleN*int64(at) - e.angleSum
	e.angleN, e.angleSum = 0, 0
}

// prefix is what containerPrefix learns from the start of a line.
type prefix struct {
	nesting int    // blockquote and list markers
	item    bool   // a list item starts here, ending any paragraph
	last    byte   // the last marker's character, 0 without markers
	indent  int    // columns of whitespace before rest
	rest    []byte // the line after the markers
}

// containerPrefix counts the blockquote and list markers that open line.
// Thematic breaks such as "- - -" count too; that only over-estimates. A
// marker indented four columns or more may be paragraph text, and "2." can
// not interrupt a paragraph, so neither counts as starting an item.
func containerPrefix(line []byte) prefix {
	var p prefix
	i := 0
scan:
	for {
		indent := 0
		for i < len(line) && isSpace(line[i]) {
			if line[i] == '\t' {
				indent += 4
			} else {
				indent++
			}
			i++
		}
		p.indent = indent
		if i == len(line) {
			break
		}
		switch c := line[i]; {
		case c == '>':
			p.nesting++
			p.last = c
			i++
			continue
		case c == '-' || c == '+' || c == '*':
			if i+1 == len(line) || isSpace(line[i+1]) {
				p.nesting++
				p.item = p.item || indent < 4
				p.last = c
				i++
				continue
			}
		case c >= '0' && c <= '9':
			j := i
			for j < len(line) && j-i < 9 && line[j] >= '0' && line[j] <= '9' {
				j++
			}
			if j < len(line) && (line[j] == '.' || line[j] == ')') &&
				(j+1 == len(line) || isSpace(line[j+1])) {
				p.nesting++
				p.item = p.item || (indent < 4 && string(line[i:j]) == "1")
				p.last = line[j]
				i = j + 1
				continue
			}
		}
		break scan
	}
	p.rest = line[i:]
	return p
}

// isTableDelimiter reports whether line could be a GFM table delimiter row
// such as "|---|:-:|". Like the parser it allows a row without pipes.
func isTableDelimiter(line []byte) bool {
	dash, other := false, false
	for _, c := range line {
		switch {
		case c == '-':
			dash = true
		case c == '|' || c == ':' || isSpace(c):
			other = true
		default:
			return false
		}
	}
	return dash && other
}

// isHeading reports whether line is an ATX heading, which is a block of its
// own even in the middle of a paragraph.
func isHeading(line []byte) bool {
	n := 0
	for n < len(line) && line[n] == '#' {
		n++
	}
	return n >= 1 && n <= 6 && (n == len(line) || isSpace(line[n]))
}

// isBlank reports whether line holds only whitespace.
func isBlank(line []byte) bool {
	for _, c := range line {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

// isSpace reports whether c is ASCII whitespace other than a newline, the
// characters that end a plain link destination.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
}
