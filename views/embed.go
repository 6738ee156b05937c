// Package views holds the HTML templates, embedded in the binary and parsed
// once at start-up: a missing or broken template fails start-up, not a request.
package views

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"strings"
)

//go:embed layouts/*.html pages/*.html partials/*.html
var files embed.FS

// Views is the parsed template set: one template tree per page, each holding
// the layout, every partial and that page's blocks.
type Views struct {
	pages map[string]*template.Template
}

// Parse builds every page's tree with funcs available. It is called once.
func Parse(funcs template.FuncMap) (*Views, error) {
	base := template.New("").Funcs(funcs)
	for _, pattern := range []string{"layouts/*.html", "partials/*.html"} {
		var err error
		if base, err = base.ParseFS(files, pattern); err != nil {
			return nil, fmt.Errorf("views: parse %s: %w", pattern, err)
		}
	}
	names, err := fs.Glob(files, "pages/*.html")
	if err != nil {
		return nil, fmt.Errorf("views: %w", err)
	}
	v := &Views{pages: make(map[string]*template.Template, len(names))}
	for _, n := range names {
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("views: clone for %s: %w", n, err)
		}
		if t, err = t.ParseFS(files, n); err != nil {
			return nil, fmt.Errorf("views: parse %s: %w", n, err)
		}
		// Execute the layout once with no data: html/template escapes the whole
		// reachable tree first, so escaping errors surface at start-up (data
		// errors from the nil model are expected and ignored).
		var escErr *template.Error
		if err := t.ExecuteTemplate(io.Discard, "layout", nil); errors.As(err, &escErr) {
			return nil, fmt.Errorf("views: %s: %w", n, err)
		}
		v.pages[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return v, nil
}

// Has reports whether a page exists.
func (v *Views) Has(page string) bool { _, ok := v.pages[page]; return ok }

// Fragment renders block of page like Render and returns it as HTML, to be
// embedded in another page unescaped (html/template escaped it already, in
// the HTML text context where it is embedded again).
func (v *Views) Fragment(page, block string, data any) (template.HTML, error) {
	var buf bytes.Buffer
	if err := v.Render(&buf, page, block, data); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil
}

// Render executes block (e.g. "layout" for a full page, "content" or a
// partial's name for an htmx fragment) of page into buf.
func (v *Views) Render(buf *bytes.Buffer, page, block string, data any) error {
	t, ok := v.pages[page]
	if !ok {
		return fmt.Errorf("views: no page %q", page)
	}
	if t.Lookup(block) == nil {
		return fmt.Errorf("views: page %q has no block %q", page, block)
	}
	if err := t.ExecuteTemplate(buf, block, data); err != nil {
		return fmt.Errorf("views: render %s/%s: %w", page, block, err)
	}
	return nil
}
