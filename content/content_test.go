package content

import (
	"errors"
	"fmt"
	"html/template"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

func TestRenderFeatures(t *testing.T) {
	r := New()
	tests := []struct {
		name  string
		in    string
		want  []string // substrings the output must contain
		avoid []string // substrings it must not contain
	}{
		{name: "empty", in: "", want: nil, avoid: []string{"<"}},
		{name: "heading", in: "# Title\n\n## Sub", want: []string{"<h1>Title</h1>", "<h2>Sub</h2>"}},
		{name: "emphasis", in: "*a* _b_ **c** __d__", want: []string{"<em>a</em>", "<em>b</em>", "<strong>c</strong>", "<strong>d</strong>"}},
		{name: "unordered list", in: "- one\n- two", want: []string{"<ul>\n<li>one</li>\n<li>two</li>\n</ul>"}},
		{name: "only omitted html is empty", in: "<div>\n</div>", avoid: []string{"\n"}},
		{name: "ordered list", in: "1. one\n2. two", want: []string{"<ol>\n<li>one</li>\n<li>two</li>\n</ol>"}},
		{name: "blockquote", in: "> quoted", want: []string{"<blockquote>\n<p>quoted</p>\n</blockquote>"}},
		{
			name: "link gets nofollow noopener",
			in:   "[site](https://example.com/a?b=1&c=2)",
			want: []string{`<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener">site</a>`},
		},
		{name: "link title kept", in: `[x](https://example.com "Home page")`, want: []string{`title="Home page"`}},
		{name: "relative link", in: "[post](/posts/1)", want: []string{`<a href="/posts/1" rel="nofollow noopener">post</a>`}},
		{name: "mailto link", in: "[mail](mailto:a@example.com)", want: []string{`<a href="mailto:a@example.com" rel="nofollow noopener">mail</a>`}},
		{name: "no target blank", in: "[x](https://example.com) https://example.org", avoid: []string{"target"}},
		{
			name:  "reference link",
			in:    "[x][r]\n\n[r]: https://example.com/ref",
			want:  []string{`<a href="https://example.com/ref" rel="nofollow noopener">x</a>`},
			avoid: []string{"[r]:"},
		},
		{
			name: "fenced code with language class",
			in:   "```go\nfmt.Println(\"<hi>\")\n```",
			want: []string{`<pre><code class="language-go">fmt.Println(&#34;&lt;hi&gt;&#34;)`},
		},
		{name: "fenced code c++ class", in: "```c++\nint x;\n```", want: []string{`<code class="language-c++">`}},
		{name: "fenced code odd language drops class", in: "```c#\nx\n```", want: []string{"<pre><code>x\n</code></pre>"}, avoid: []string{"class"}},
		{name: "indented code", in: "    code <b>\n", want: []string{"<pre><code>code &lt;b&gt;\n</code></pre>"}},
		{name: "code span escapes", in: "`<script>`", want: []string{"<code>&lt;script&gt;</code>"}, avoid: []string{"<script"}},
		{
			name:  "table with alignment as attributes",
			in:    "| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |",
			want:  []string{"<table>", `<th align="left">a</th>`, `<th align="center">b</th>`, `<td align="right">3</td>`},
			avoid: []string{"style"},
		},
		{name: "strikethrough", in: "~~gone~~", want: []string{"<del>gone</del>"}},
		{
			name: "autolink bare https url",
			in:   "see https://example.com/path?q=1 now",
			want: []string{`<a href="https://example.com/path?q=1" rel="nofollow noopener">https://example.com/path?q=1</a>`},
		},
		{name: "autolink www", in: "www.example.com", want: []string{`<a href="http://www.example.com" rel="nofollow noopener">www.example.com</a>`}},
		{name: "autolink email", in: "write a@example.com", want: []string{`<a href="mailto:a@example.com" rel="nofollow noopener">a@example.com</a>`}},
		{name: "ftp is not linkified", in: "ftp://example.com/file", want: []string{"<p>ftp://example.com/file</p>"}},
		{
			name: "task list",
			in:   "- [x] done\n- [ ] todo",
			want: []string{`<li><input checked="" disabled="" type="checkbox"> done</li>`, `<li><input disabled="" type="checkbox"> todo</li>`},
		},
		{name: "image", in: "![a cat](https://example.com/cat.png)", want: []string{`<img src="https://example.com/cat.png" alt="a cat">`}},
		{name: "raw inline html omitted", in: "a <b>bold</b> move", want: []string{"<p>a bold move</p>"}, avoid: []string{"<b>", "omitted"}},
		{name: "raw block html omitted", in: "<div>x</div>\n\nafter", want: []string{"<p>after</p>"}, avoid: []string{"<div", "omitted"}},
		{name: "entities stay text", in: "&lt;script&gt; &amp; &copy;", want: []string{"<p>&lt;script&gt; &amp; ©</p>"}},
		{name: "disallowed scheme link becomes text", in: "[old](ftp://example.com)", want: []string{"<p>old</p>"}, avoid: []string{"<a"}},
		{name: "hard break", in: "a  \nb", want: []string{"a<br>\nb"}},
		{name: "thematic break", in: "a\n\n---\n\nb", want: []string{"<hr>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Render(tt.in)
			if err != nil {
				t.Fatalf("Render(%q): %v", tt.in, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(got), w) {
					t.Errorf("Render(%q) = %q, want it to contain %q", tt.in, got, w)
				}
			}
			for _, a := range tt.avoid {
				if strings.Contains(string(got), a) {
					t.Errorf("Render(%q) = %q, must not contain %q", tt.in, got, a)
				}
			}
			if ps := unsafeParts(string(got)); len(ps) > 0 {
				t.Errorf("Render(%q) = %q: %v", tt.in, got, ps)
			}
		})
	}
}

// xssPayloads are inputs that try to smuggle script into the output. They
// also seed FuzzRender.
var xssPayloads = []struct {
	name string
	in   string
	want string // exact output, when it is worth pinning
}{
	{name: "script tag", in: "<script>alert(1)</script>", want: ""},
	{name: "script inline", in: "x <script>alert(1)</script> y", want: "<p>x alert(1) y</p>"},
	{name: "img onerror", in: "<img src=x onerror=alert(1)>"},
	{name: "javascript link", in: "[x](javascript:alert(1))", want: "<p>x</p>"},
	{name: "mixed case javascript link", in: "[x](JaVaScRiPt:alert(1))", want: "<p>x</p>"},
	{name: "entity javascript link", in: "[x](&#106;avascript:alert(1))", want: "<p>x</p>"},
	{name: "hex entity javascript link", in: "[x](&#x6A;avascript&colon;alert(1))"},
	{name: "tab inside scheme", in: "[x](java&#x09;script:alert(1))"},
	{name: "newline entity inside scheme", in: "[x](java&#10;script:alert(1))"},
	{name: "angle javascript link", in: "[x](<javascript:alert(1)>)", want: "<p>x</p>"},
	{name: "spaced javascript link", in: "[x](  javascript:alert(1)  )"},
	{name: "javascript reference", in: "[x][r]\n\n[r]: javascript:alert(1)", want: "<p>x</p>"},
	{name: "vbscript link", in: "[x](vbscript:msgbox(1))", want: "<p>x</p>"},
	{name: "data link", in: "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", want: "<p>x</p>"},
	{name: "data png image", in: "![x](data:image/png;base64,iVBORw0KGgo=)"},
	{name: "data svg image", in: "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)"},
	{name: "javascript image", in: "![x](javascript:alert(1))"},
	{name: "iframe", in: `<iframe src="https://evil.example/"></iframe>`},
	{name: "iframe inline", in: `a <iframe src="javascript:alert(1)"></iframe> b`},
	{name: "svg onload", in: "<svg onload=alert(1)>"},
	{name: "svg inline", in: "x <svg><script>alert(1)</script></svg>"},
	{name: "html data href", in: `<a href="data:text/html,<script>alert(1)</script>">x</a>`},
	{name: "style attribute", in: `<p style="background:url(javascript:alert(1))">x</p>`},
	{name: "style element", in: "<style>body{display:none}</style>"},
	{name: "object", in: `<object data="x.swf"></object>`},
	{name: "embed", in: `<embed src="x.swf">`},
	{name: "form", in: `<form action="https://evil.example/"><input name="a"><button>go</button></form>`},
	{name: "entity escaped script", in: "&lt;script&gt;alert(1)&lt;/script&gt;", want: "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"},
	{name: "double entity", in: "&amp;lt;script&amp;gt;"},
	{name: "nested script tag", in: "<scr<script>ipt>alert(1)</script>"},
	{name: "nested script inline", in: "x <scr<script>ipt>alert(1)</scr</script>ipt> y"},
	{name: "image title onerror", in: `![x](https://example.com/a.png "onerror=alert(1)")`},
	{name: "image title quote breakout", in: `![x](https://example.com/a.png "\" onerror=\"alert(1)")`},
	{name: "link title quote breakout", in: `[x](https://example.com "\" onmouseover=\"alert(1)")`},
	{name: "autolink javascript", in: "<javascript:alert(1)>", want: "<p>javascript:alert(1)</p>"},
	{name: "autolink vbscript", in: "<vbscript:msgbox(1)>"},
	{name: "bare javascript text", in: "javascript:alert(1)", want: "<p>javascript:alert(1)</p>"},
	{name: "linkify quote breakout", in: `https://example.com/"onmouseover="alert(1)`},
	{name: "www quote breakout", in: `www.example.com/"><script>alert(1)</script>`},
	{name: "fence info breakout", in: "```\"onmouseover=alert(1)\nx\n```"},
	{name: "fence info class injection", in: "```go\" onclick=\"alert(1)\nx\n```"},
	{name: "math xlink", in: `<math><mi xlink:href="javascript:alert(1)">x</mi></math>`},
	{name: "details ontoggle", in: "<details open ontoggle=alert(1)><summary>x</summary></details>"},
	{name: "base href", in: `<base href="javascript:/">`},
	{name: "meta refresh", in: `<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`},
	{name: "comment then script", in: "<!-- --><script>alert(1)</script>"},
	{name: "cdata", in: "<![CDATA[<script>alert(1)</script>]]>"},
	{name: "table cell script", in: "| <script>alert(1)</script> |\n|---|\n| <img src=x onerror=alert(1)> |"},
	{name: "attribute syntax not enabled", in: "# Title {onclick=alert(1)}\n\n[x](https://example.com){onclick=alert(1)}"},
	{name: "escaped angle", in: `\<script>alert(1)\</script>`},
	{name: "protocol relative", in: "[x](//evil.example/x)"},
	{name: "input type override", in: `- [x] <input type="text" onfocus="alert(1)" autofocus>`},
	{name: "svg use href", in: `<svg><use href="data:image/svg+xml,<svg id='x' onload='alert(1)'/>#x"/></svg>`},
	{name: "link in code is text", in: "`[x](javascript:alert(1))`"},
	{name: "null byte", in: "[x](java\x00script:alert(1))"},
}

func TestRenderXSS(t *testing.T) {
	r := New()
	for _, tt := range xssPayloads {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Render(tt.in)
			if err != nil {
				t.Fatalf("Render(%q): %v", tt.in, err)
			}
			if ps := unsafeParts(string(got)); len(ps) > 0 {
				t.Errorf("Render(%q) = %q: %v", tt.in, got, ps)
			}
			if tt.want != "" || tt.name == "script tag" {
				if string(got) != tt.want {
					t.Errorf("Render(%q) = %q, want %q", tt.in, got, tt.want)
				}
			}
		})
	}
}

// unsafeParts lists what in out could run script, style the page, submit a
// form or leave the site by an unexpected scheme. Empty means inert.
func unsafeParts(out string) []string {
	var ps []string
	lower := strings.ToLower(out)
	for _, tag := range []string{"<script", "<iframe", "<svg", "<object", "<embed", "<form", "<style", "<math", "<base", "<meta"} {
		if strings.Contains(lower, tag) {
			ps = append(ps, "contains "+tag)
		}
	}
	nodes, err := html.ParseFragment(strings.NewReader(out), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		return append(ps, "does not parse: "+err.Error())
	}
	forbidden := map[atom.Atom]bool{
		atom.Script: true, atom.Iframe: true, atom.Object: true, atom.Embed: true, atom.Svg: true,
		atom.Style: true, atom.Form: true, atom.Math: true, atom.Base: true, atom.Meta: true,
		atom.Link: true, atom.Frame: true, atom.Frameset: true, atom.Button: true, atom.Textarea: true,
		atom.Select: true,
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if forbidden[n.DataAtom] || n.Namespace != "" {
				ps = append(ps, "element "+n.Data)
			}
			if n.DataAtom == atom.Input && !isTaskCheckbox(n) {
				ps = append(ps, "input that is not a disabled checkbox")
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				val := strings.ToLower(squeeze(a.Val))
				switch {
				case strings.HasPrefix(key, "on"):
					ps = append(ps, "event attribute "+a.Key)
				case key == "style":
					ps = append(ps, "style attribute")
				case key == "target":
					ps = append(ps, "target attribute")
				case a.Namespace != "":
					ps = append(ps, "namespaced attribute "+a.Key)
				}
				if key == "href" || key == "src" || key == "cite" || key == "action" || key == "srcset" || key == "poster" {
					// A URL runs script only through its scheme: "#javascript:"
					// (a fragment) or "/a?q=javascript:" are inert.
					if s := scheme(val); s != "" && s != "http" && s != "https" && s != "mailto" {
						ps = append(ps, fmt.Sprintf("scheme %q in %s", s, a.Key))
					}
				} else if strings.Contains(val, "javascript:") || strings.Contains(val, "vbscript:") {
					ps = append(ps, fmt.Sprintf("script url in %s=%q", a.Key, a.Val))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	return ps
}

// isTaskCheckbox reports whether an input is the disabled checkbox that task
// lists produce.
func isTaskCheckbox(n *html.Node) bool {
	var checkbox, disabled bool
	for _, a := range n.Attr {
		switch a.Key {
		case "type":
			checkbox = a.Val == "checkbox"
		case "disabled":
			disabled = true
		case "checked":
		default:
			return false
		}
	}
	return checkbox && disabled
}

// squeeze drops the whitespace and control characters browsers ignore
// inside URLs, so "java\tscript:" is seen as "javascript:".
func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// scheme returns the scheme of a URL, or "" for a relative one.
func scheme(u string) string {
	i := strings.IndexAny(u, ":/?#")
	if i <= 0 || u[i] != ':' {
		return ""
	}
	return u[:i]
}

func TestRenderLimits(t *testing.T) {
	r := New()
	words := strings.Repeat("lorem ipsum ", MaxInputBytes/12)
	tests := []struct {
		name    string
		in      string
		wantErr error // nil: must render
	}{
		{name: "over the size limit", in: strings.Repeat("a", MaxInputBytes+1), wantErr: ErrTooLong},
		{name: "100k-char single line", in: words + strings.Repeat("x", MaxInputBytes-len(words))},
		{name: "100k-char single word", in: strings.Repeat("x", MaxInputBytes)},
		{name: "10,000 nested quotes", in: strings.Repeat(">", 10_000) + " a", wantErr: ErrTooComplex},
		{name: "10,000 spaced nested quotes", in: strings.Repeat("> ", 10_000) + "a", wantErr: ErrTooComplex},
		{name: "10,000 nested quotes then lazy lines", in: strings.Repeat(">", 10_000) + " a\n" + strings.Repeat("a\n", 40_000), wantErr: ErrTooComplex},
		{name: "10,000 nested bullet lists", in: strings.Repeat("- ", 10_000) + "a", wantErr: ErrTooComplex},
		{name: "10,000 nested ordered lists", in: strings.Repeat("1. ", 10_000) + "a", wantErr: ErrTooComplex},
		{name: "quotes at the nesting limit", in: strings.Repeat(">", MaxNesting) + " a"},
		{name: "quotes past the nesting limit", in: strings.Repeat(">", MaxNesting+1) + " a", wantErr: ErrTooComplex},
		{name: "lists past the limit by indentation", in: indentedList(MaxNesting + 1), wantErr: ErrTooComplex},
		{name: "lists at the limit by indentation", in: indentedList(MaxNesting)},
		{name: "quotes and lists mixed", in: strings.Repeat("> - ", MaxNesting/2+1) + "a", wantErr: ErrTooComplex},
		{name: "deep emphasis", in: strings.Repeat("*", 1000) + "a" + strings.Repeat("*", 1000), wantErr: ErrTooComplex},
		{name: "moderate emphasis", in: strings.Repeat("*", 20) + "a" + strings.Repeat("*", 20)},
		{name: "500-row table", in: table(5, 500)},
		{name: "wide header padding bomb", in: table(2000, 0) + strings.Repeat("a\n", 2000), wantErr: ErrTooComplex},
		{name: "reference link output bomb", in: "[a]: /" + strings.Repeat("x", 50_000) + "\n\n" + strings.Repeat("[a]", 15_000), wantErr: ErrTooComplex},
		{name: "unmatched bracket bomb", in: strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000), wantErr: ErrTooComplex},
		{name: "open link bomb", in: strings.Repeat("[a](", 20_000), wantErr: ErrTooComplex},
		{name: "open image bomb", in: strings.Repeat("![a](<", 15_000), wantErr: ErrTooComplex},
		{name: "mismatched emphasis bomb", in: strings.Repeat("*a_ ", 20_000), wantErr: ErrTooComplex},
		{name: "emphasis in link labels bomb", in: strings.Repeat("[*a](b) ", 10_000), wantErr: ErrTooComplex},
		{name: "list of emphasized links", in: strings.Repeat("- [**Name**](https://example.com/x) - *what* it does\n", 1_800)},
		{name: "many complete links on one line", in: strings.Repeat("[link](https://example.com/page) ", 2_500)},
		{name: "many citations", in: strings.Repeat("see [1] and [2], ", 5_000)},
		{name: "many reference uses", in: "[a]: https://example.com/x\n\n" + strings.Repeat("[a] ", 20_000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.in) > MaxInputBytes && tt.wantErr != ErrTooLong {
				t.Fatalf("test input is %d bytes, over MaxInputBytes", len(tt.in))
			}
			got, err := r.Render(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Render: err = %v, want %v", err, tt.wantErr)
				}
				if got != "" {
					t.Errorf("Render returned output with error %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if len(got) == 0 {
				t.Fatal("Render returned no output")
			}
		})
	}
}

// TestPrecheck pins which inputs the cheap pre-parse pass refuses on its own:
// too deep, or parsed by goldmark in super-linear time (up to seconds at
// MaxInputBytes). The rest must be caught on the parsed tree, which Render
// tests cover.
func TestPrecheck(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{name: "sample post", in: samplePost},
		{name: "500-row table", in: table(5, 500)},
		{name: "table in a quote", in: "> | a | b |\n> |---|---|\n> | 1 | 2 |"},
		{name: "wide header padding bomb", in: table(2000, 0) + strings.Repeat("a\n", 2000), wantErr: ErrTooComplex},
		{name: "padding bomb ends at blank line", in: strings.Repeat(table(100, 0)+strings.Repeat("a\n", 100)+"\n", 4)},
		{name: "10,000 nested quotes", in: strings.Repeat(">", 10_000), wantErr: ErrTooComplex},
		{name: "10,000 nested lists", in: strings.Repeat("- ", 10_000), wantErr: ErrTooComplex},
		{name: "nesting at the limit", in: strings.Repeat("> 1. ", MaxNesting/2)},
		{name: "unmatched bracket bomb", in: strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000), wantErr: ErrTooComplex},
		{name: "brackets reset at blank lines", in: strings.Repeat(strings.Repeat("[", 150)+"\n\n", 300) + strings.Repeat("]", 20_000)},
		{name: "open link bomb", in: strings.Repeat("[a](", 20_000), wantErr: ErrTooComplex},
		{name: "open link bomb split by spaces", in: strings.Repeat("[a]( ", 20_000)},
		{name: "open angle link bomb", in: strings.Repeat("[a](<", 20_000), wantErr: ErrTooComplex},
		{name: "complete links", in: strings.Repeat("[link](https://example.com/page) ", 2_500)},
		{name: "mismatched emphasis bomb", in: strings.Repeat("*a_ ", 20_000), wantErr: ErrTooComplex},
		{name: "mismatched strikethrough bomb", in: strings.Repeat("*a~ ", 20_000), wantErr: ErrTooComplex},
		{name: "stranded intraword delimiters", in: strings.Repeat("a*b_c ", 10_000), wantErr: ErrTooComplex},
		{name: "matched emphasis", in: strings.Repeat("*word* **more** _this_ ~~that~~ ", 2_500)},
		{name: "snake case words", in: strings.Repeat("some_snake_case_name ", 4_000)},
		{name: "emphasis in link labels in one paragraph", in: strings.Repeat("[*a*](b) ", 10_000), wantErr: ErrTooComplex},
		{name: "emphasis in link labels across lines", in: strings.Repeat("[*a*](https://example.com/x)\n", 3_000), wantErr: ErrTooComplex},
		{name: "emphasis in link labels across list items", in: strings.Repeat("- [**Name**](https://example.com/x) - *what* it does\n", 2_000)},
		{name: "emphasis in link labels across paragraphs", in: strings.Repeat("[*a*](https://example.com/x)\n\n", 3_000)},
		// Lines that look like new blocks but continue the paragraph must
		// not reset the estimate.
		{name: "indented bullets continue a paragraph", in: "x\n" + strings.Repeat("    - "+strings.Repeat("[*a](b) ", 12)+"\n", 1_000), wantErr: ErrTooComplex},
		{name: "indented headings continue a paragraph", in: "x\n" + strings.Repeat("    # "+strings.Repeat("[*a](b) ", 12)+"\n", 1_000), wantErr: ErrTooComplex},
		{name: "items numbered 2 continue a paragraph", in: "x\n" + strings.Repeat("2. "+strings.Repeat("[*a](b) ", 12)+"\n", 1_000), wantErr: ErrTooComplex},
		{name: "empty items continue a paragraph", in: "x\n" + strings.Repeat("1.\n"+strings.Repeat("[*a](b) ", 12)+"\n", 1_000), wantErr: ErrTooComplex},
		// Left to the tree check:
		{name: "nesting by indentation", in: indentedList(MaxNesting + 10)},
		{name: "deep emphasis", in: strings.Repeat("*", 1000) + "a" + strings.Repeat("*", 1000)},
		{name: "reference output bomb", in: "[a]: /" + strings.Repeat("x", 50_000) + "\n\n" + strings.Repeat("[a]", 15_000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := precheck([]byte(tt.in)); !errors.Is(err, tt.wantErr) {
				t.Errorf("precheck: err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestRenderLimitsShape checks that inputs that render keep their structure,
// so a limit cannot pass by silently dropping content.
func TestRenderLimitsShape(t *testing.T) {
	r := New()
	tests := []struct {
		name  string
		in    string
		tag   string
		count int
	}{
		{name: "500-row table", in: table(5, 500), tag: "<tr>", count: 501},
		{name: "quotes at the limit", in: strings.Repeat(">", MaxNesting) + " a", tag: "<blockquote>", count: MaxNesting},
		{name: "lists at the limit", in: indentedList(MaxNesting), tag: "<ul>", count: MaxNesting},
		{name: "2,500 links", in: strings.Repeat("[link](https://example.com/page) ", 2_500), tag: `rel="nofollow noopener"`, count: 2_500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Render(tt.in)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if n := strings.Count(string(got), tt.tag); n != tt.count {
				t.Errorf("output has %d %s, want %d", n, tt.tag, tt.count)
			}
		})
	}
}

// indentedList is a bullet list nested depth levels deep by indentation, the
// form a line-by-line marker count cannot see.
func indentedList(depth int) string {
	var sb strings.Builder
	for i := range depth {
		sb.WriteString(strings.Repeat("  ", i))
		sb.WriteString("- item\n")
	}
	return sb.String()
}

// table is a GFM table with cols columns and rows body rows.
func table(cols, rows int) string {
	var sb strings.Builder
	sb.WriteString("|" + strings.Repeat(" h |", cols) + "\n")
	sb.WriteString("|" + strings.Repeat("---|", cols) + "\n")
	for i := range rows {
		sb.WriteString("|")
		for j := range cols {
			fmt.Fprintf(&sb, " r%dc%d |", i, j)
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

func TestLimitedBuffer(t *testing.T) {
	tests := []struct {
		name    string
		writes  []string
		want    string
		wantErr bool
	}{
		{name: "under the limit", writes: []string{"ab", "cd"}, want: "abcd"},
		{name: "exactly the limit", writes: []string{"abc", "de"}, want: "abcde"},
		{name: "write that would cross is refused whole", writes: []string{"abc", "def"}, want: "abc", wantErr: true},
		{name: "later small writes still refused", writes: []string{"abcdef", "g"}, want: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := limitedBuffer{max: 5}
			var err error
			for _, w := range tt.writes {
				if _, werr := b.Write([]byte(w)); werr != nil {
					err = werr
				}
			}
			if got := b.buf.String(); got != tt.want {
				t.Errorf("buffer = %q, want %q", got, tt.want)
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestRenderConcurrent(t *testing.T) {
	r := New()
	want, err := r.Render(samplePost)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for range 20 {
				got, err := r.Render(samplePost)
				if err != nil {
					errs <- err
					return
				}
				if got != want {
					errs <- errors.New("output differs between concurrent renders")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRenderSamplePost(t *testing.T) {
	got, err := New().Render(samplePost)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	for _, w := range []string{"<h1>Notes on", `<code class="language-go">`, "<table>", "<blockquote>", `<input checked="" disabled="" type="checkbox">`, `rel="nofollow noopener"`} {
		if !strings.Contains(string(got), w) {
			t.Errorf("sample post output lacks %q", w)
		}
	}
	if ps := unsafeParts(string(got)); len(ps) > 0 {
		t.Errorf("sample post output: %v", ps)
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		name string
		in   template.HTML
		n    int
		want string
	}{
		{name: "short text unchanged", in: "<p>Hello world</p>", n: 20, want: "Hello world"},
		{name: "exact length unchanged", in: "<p>abcde</p>", n: 5, want: "abcde"},
		{name: "whitespace collapsed", in: "<p>a\n\n  b\t</p>\n<p>  c</p>\n", n: 20, want: "a b c"},
		{name: "inline tags join words", in: "<p>un<em>do</em>ne <a href=\"/x\">link</a>s</p>", n: 20, want: "undone links"},
		{name: "block tags separate words", in: "<h1>Title</h1><p>Body</p><ul><li>one</li><li>two</li></ul>", n: 30, want: "Title Body one two"},
		{name: "line break separates words", in: "<p>a<br>b</p>", n: 10, want: "a b"},
		{name: "entities decoded once", in: "<p>Tom &amp; Jerry &lt;3 &quot;hi&quot;</p>", n: 30, want: `Tom & Jerry <3 "hi"`},
		{name: "double-escaped stays escaped once", in: "<p>&amp;amp; &amp;lt;b&amp;gt;</p>", n: 30, want: "&amp; &lt;b&gt;"},
		{name: "code text kept", in: "<pre><code>a &lt; b\n</code></pre>", n: 30, want: "a < b"},
		{name: "cut at word boundary", in: "<p>The quick brown fox jumps</p>", n: 12, want: "The quick…"},
		{name: "cut right after a word", in: "<p>The quick brown fox</p>", n: 10, want: "The quick…"},
		{name: "trailing punctuation dropped", in: "<p>Hello, world again</p>", n: 9, want: "Hello…"},
		{name: "long word cut hard", in: "<p>Supercalifragilistic</p>", n: 6, want: "Super…"},
		{name: "multibyte runes counted", in: "<p>日本語のテキストです</p>", n: 5, want: "日本語の…"},
		{name: "n of one", in: "<p>Hello world</p>", n: 1, want: "…"},
		{name: "n of zero", in: "<p>Hello</p>", n: 0, want: ""},
		{name: "empty html", in: "", n: 10, want: ""},
		{name: "tags only", in: "<p></p><hr><p> </p>", n: 10, want: ""},
		{name: "many empty tags before text", in: template.HTML(strings.Repeat("<p></p>", 1000) + "<p>word</p>"), n: 10, want: "word"},
		{name: "checkbox adds no text", in: `<ul><li><input checked="" disabled="" type="checkbox"> done</li></ul>`, n: 10, want: "done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Excerpt(tt.in, tt.n)
			if got != tt.want {
				t.Errorf("Excerpt(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
			if c := utf8.RuneCountInString(got); c > max(tt.n, 0) {
				t.Errorf("Excerpt(%q, %d) has %d runes", tt.in, tt.n, c)
			}
		})
	}
}

func TestExcerptOfRenderedPost(t *testing.T) {
	h, err := New().Render("# Title\n\nSome *very* [linked](https://example.com) text & more.\n\n- a\n- b")
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if got, want := Excerpt(h, 100), "Title Some very linked text & more. a b"; got != want {
		t.Errorf("Excerpt = %q, want %q", got, want)
	}
	if got, want := Excerpt(h, 20), "Title Some very…"; got != want {
		t.Errorf("Excerpt = %q, want %q", got, want)
	}
}

func FuzzRender(f *testing.F) {
	for _, p := range xssPayloads {
		f.Add(p.in)
	}
	f.Add(samplePost)
	f.Add("- [x] a\n- [ ] b\n\n| a | b |\n|:-|-:|\n| 1 | 2 |\n\n```go\nx\n```\n\n> q\n\n~~s~~ https://e.com www.e.com a@e.com")
	r := New()
	f.Fuzz(func(t *testing.T, in string) {
		got, err := r.Render(in)
		if err != nil {
			if !errors.Is(err, ErrTooLong) && !errors.Is(err, ErrTooComplex) {
				t.Fatalf("Render(%q): unexpected error %v", in, err)
			}
			return
		}
		if ps := unsafeParts(string(got)); len(ps) > 0 {
			t.Fatalf("Render(%q) = %q: %v", in, got, ps)
		}
		if c := utf8.RuneCountInString(Excerpt(got, 50)); c > 50 {
			t.Fatalf("Excerpt of Render(%q) has %d runes", in, c)
		}
	})
}

func BenchmarkRender10KB(b *testing.B) {
	r := New()
	b.SetBytes(int64(len(samplePost)))
	for b.Loop() {
		if _, err := r.Render(samplePost); err != nil {
			b.Fatal(err)
		}
	}
}

// samplePost is a realistic post of about 10 KB using every feature.
var samplePost = func() string {
	section := `## Part %d: what we learned

Working on **Quire** this week taught us a few things about *Markdown*, about
[sanitizing HTML](https://example.com/articles/sanitizing-html?part=%d), and
about keeping renders cheap. The short version: render once, when saving, and
never trust the input. See https://github.com/yuin/goldmark for the parser.

> Rendering is cheap until someone sends you ten thousand nested quotes.
> — a tired maintainer

Things to remember:

- Parse with a real parser, not regular expressions.
- Sanitize the *output*, not the input.
  - Even when the parser escapes raw HTML.
  - Especially then.
- Write ~~fewer~~ more tests.

1. Render
2. Sanitize
3. Store

- [x] Limit input size
- [ ] Limit nesting depth

` + "```go\nfunc Render(md string) (template.HTML, error) {\n\treturn r.render(md)\n}\n```" + `

| Step     | Cost   | Notes                 |
|:---------|-------:|-----------------------|
| parse    | O(n)   | mostly                |
| sanitize | O(n)   | token stream          |
| store    | O(1)   | one row               |

Questions? Write to [the team](mailto:team@example.com) or read the
[previous post](/posts/%d).

`
	var sb strings.Builder
	sb.WriteString("# Notes on rendering user content\n\n")
	for i := 1; sb.Len() < 10_000; i++ {
		fmt.Fprintf(&sb, section, i, i, i)
	}
	return sb.String()
}()
