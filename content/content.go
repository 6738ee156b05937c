// Package content turns user Markdown into sanitized HTML. It is the only
// package in Quire that produces template.HTML: posts are rendered and
// sanitized once, when saved, and pages show the stored result.
package content

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Limits that bound the cost of rendering one document. Markdown parsing has
// inputs whose cost or output grows much faster than their size ("Markdown
// bombs"); Render refuses them before doing the expensive work.
const (
	// MaxInputBytes is the largest Markdown source Render accepts.
	MaxInputBytes = 100_000

	// MaxNesting is the deepest nesting of block containers (blockquotes and
	// lists) Render accepts.
	MaxNesting = 64

	// MaxDepth is the deepest document tree Render accepts, counting every
	// node (containers, paragraphs, emphasis, links, ...).
	MaxDepth = 256

	// MaxTableCells bounds the table cells a document may produce. GFM pads
	// short rows to the header's width, so a wide header followed by many
	// one-character lines would otherwise create width*lines cells.
	MaxTableCells = 50_000

	// MaxInlineWork bounds an over-estimate of the steps goldmark's inline
	// parser repeats: rescanning link destinations after "](", matching "]"
	// against many open "[", walking back over emphasis delimiters that
	// found no partner, and over a paragraph's nodes when a link label holds
	// emphasis. Each is quadratic in a long enough paragraph; at this bound
	// a paragraph costs tens of milliseconds at worst.
	MaxInlineWork = 10_000_000

	// MaxOutputBytes is the largest HTML Render produces. Reference links
	// repeat their destination at every use, so output can otherwise be
	// quadratic in the input.
	MaxOutputBytes = 2 << 20
)

var (
	// ErrTooLong reports Markdown longer than MaxInputBytes.
	ErrTooLong = errors.New("content: markdown too long")

	// ErrTooComplex reports Markdown that exceeds one of the other limits.
	ErrTooComplex = errors.New("content: markdown too complex")
)

// linkRel is set on every link: nofollow so the site lends no ranking to
// user links, noopener so a linked page can never reach window.opener.
const linkRel = "nofollow noopener"

// Renderer converts Markdown to sanitized HTML. Build it once with New; it is
// safe for concurrent use.
type Renderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// New builds a Renderer with GitHub-flavoured Markdown and a sanitizing
// policy for user content.
func New() *Renderer {
	md := goldmark.New(
		// No html.WithUnsafe: raw HTML in the source is omitted and
		// javascript:/vbscript:/data: link targets are dropped by goldmark
		// before the sanitizer ever sees them.
		goldmark.WithExtensions(
			extension.NewLinkify(
				extension.WithLinkifyAllowedProtocols([]string{"http:", "https:"}),
			),
			// Alignment as an align attribute: the policy allows no style.
			extension.NewTable(
				extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute),
			),
			extension.Strikethrough,
			extension.TaskList,
		),
	)
	return &Renderer{md: md, policy: newPolicy()}
}

// newPolicy is bluemonday's UGC policy narrowed to what the Markdown renderer
// emits, so the sanitizer still holds if the renderer ever lets HTML through.
func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	// UGCPolicy already allows only relative, http, https and mailto URLs,
	// requires them to parse, and allows no style attribute.
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireNoFollowOnLinks(true)
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^` + linkRel + `$`)).OnElements("a")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[a-zA-Z0-9_+-]+$`)).OnElements("code", "pre")
	// Task-list checkboxes: a disabled checkbox and nothing else.
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").Matching(regexp.MustCompile(`^(|checked|disabled)$`)).OnElements("input")
	return p
}

// Render converts markdown to sanitized HTML. It returns ErrTooLong or
// ErrTooComplex, without rendering, for input beyond the package limits.
func (r *Renderer) Render(markdown string) (template.HTML, error) {
	if len(markdown) > MaxInputBytes {
		return "", ErrTooLong
	}
	src := []byte(markdown)
	if err := precheck(src); err != nil {
		return "", err
	}
	doc := r.md.Parser().Parse(text.NewReader(src))
	if err := prepareTree(doc, src); err != nil {
		return "", err
	}
	out := limitedBuffer{max: MaxOutputBytes}
	if err := r.md.Renderer().Render(&out, src, doc); err != nil {
		if errors.Is(err, errOutputTooLarge) {
			return "", ErrTooComplex
		}
		return "", fmt.Errorf("content: render: %w", err)
	}
	clean := bytes.TrimSpace(r.policy.SanitizeBytes(out.buf.Bytes()))
	// The only conversion to template.HTML in Quire: the bytes have just
	// passed the sanitizer. Trimming the whitespace between top-level
	// blocks lets a post of nothing but omitted HTML come out empty.
	return template.HTML(clean), nil
}

// prepareTree enforces the tree limits and marks links with linkRel. It runs
// between parsing and rendering so an oversized tree is never rendered.
// Links whose URL the policy will strip get no rel either, so the sanitizer
// unwraps them to plain text instead of leaving an inert <a>.
func prepareTree(doc ast.Node, source []byte) error {
	depth, nesting, linkBytes := 0, 0, 0
	return ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		container := n.Kind() == ast.KindBlockquote || n.Kind() == ast.KindList
		if !entering {
			depth--
			if container {
				nesting--
			}
			return ast.WalkContinue, nil
		}
		depth++
		if container {
			nesting++
		}
		if depth > MaxDepth || nesting > MaxNesting {
			return ast.WalkStop, ErrTooComplex
		}
		switch v := n.(type) {
		case *ast.Link:
			linkBytes += len(v.Destination) + len(v.Title)
			// The renderer decodes entities in the destination; judge
			// the URL it will write, not the source text.
			if allowedURL(util.URLEscape(v.Destination, true)) {
				v.SetAttributeString("rel", []byte(linkRel))
			}
		case *ast.AutoLink:
			if v.AutoLinkType == ast.AutoLinkEmail || allowedURL(v.URL(source)) {
				v.SetAttributeString("rel", []byte(linkRel))
			}
		case *ast.Image:
			linkBytes += len(v.Destination) + len(v.Title)
		}
		// Link destinations are escaped and written at every use; refuse
		// before spending that time rather than when the output overflows.
		if linkBytes > MaxOutputBytes {
			return ast.WalkStop, ErrTooComplex
		}
		return ast.WalkContinue, nil
	})
}

// allowedURL reports whether the policy keeps u: a relative URL or one with
// the http, https or mailto scheme.
func allowedURL(u []byte) bool {
	for i, c := range u {
		switch {
		case c == ':':
			if i == 0 {
				return true // ":x" has no scheme; it is a relative path
			}
			scheme := strings.ToLower(string(u[:i]))
			return scheme == "http" || scheme == "https" || scheme == "mailto"
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return true // no scheme: relative
		}
	}
	return true
}

// errOutputTooLarge stops rendering once MaxOutputBytes is exceeded.
var errOutputTooLarge = errors.New("content: output too large")

// limitedBuffer is a bytes.Buffer that refuses to grow past max, so a
// document that slips past the other checks still cannot exhaust memory.
type limitedBuffer struct {
	buf  bytes.Buffer
	max  int
	full bool // a write was refused; refuse all later ones too
}

// Write appends p, or fails without writing once the buffer would exceed max.
func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.full || b.buf.Len()+len(p) > b.max {
		b.full = true
		return 0, errOutputTooLarge
	}
	return b.buf.Write(p)
}
