package content

import "html/template"

// Stored marks HTML that Render produced when a post was saved and that was
// read back from the database. Posts are sanitized on write, so pages show the
// stored HTML as is; this is the one door through which it becomes
// template.HTML, keeping every producer of trusted HTML in this package.
func Stored(html string) template.HTML { return template.HTML(html) } //nolint:gosec // sanitized on write
