package seed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// words is the vocabulary of generated prose: ordinary technical English,
// so word lengths, punctuation and the share of inline markup resemble what
// people write in a blog.
var words = strings.Fields(`the a of to and in is it that for on with as was this by be are from at or an
have not but which one all were we when your can said there use each she do how their if will up other about
out many then them these so some her would make like him into time has look two more write go see number no way
could people my than first water been call who oil its now find long down day did get come made may part
server request database query index latency cache session token cookie render template browser network
markdown sanitize deploy binary migration backup replica connection transaction rotate refresh password
hash memory thread goroutine channel handler router middleware header status page listing cursor keyset
author editor draft publish review comment release version feature bug fix test benchmark profile measure
quiet simple careful honest small fast light clear steady plain useful modest reliable patient curious`)

var codeSamples = []string{
	"```go\nfunc (s *Store) ListPosts(ctx context.Context, q ListPostsQuery) ([]Post, error) {\n\trows, err := s.r.QueryContext(ctx, query, args...)\n\tif err != nil {\n\t\treturn nil, fmt.Errorf(\"store: list posts: %w\", err)\n\t}\n\tdefer rows.Close()\n\treturn scan(rows)\n}\n```",
	"```sql\nSELECT id, title, excerpt\n  FROM posts\n WHERE (date_created, id) < (?, ?)\n ORDER BY date_created DESC, id DESC\n LIMIT 20;\n```",
	"```sh\n$ quire migrate --db quire.db\n$ quire serve --addr 127.0.0.1:8080 --base-url https://blog.example.com\n```",
	"```js\nconst res = await fetch('/items/posts?limit=20', { headers: { Authorization: `Bearer ${token}` } });\nconst { data } = await res.json();\n```",
	"```\nplain preformatted text\n    keeps its indentation\n```",
}

// gen writes pseudo-random but deterministic Markdown.
type gen struct {
	r  *rand.Rand
	sb strings.Builder
}

func (g *gen) word() string { return words[g.r.IntN(len(words))] }

// sentence returns 6-18 words with occasional inline markup.
func (g *gen) sentence() string {
	n := 6 + g.r.IntN(13)
	var b strings.Builder
	for i := 0; i < n; i++ {
		w := g.word()
		if i == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		switch k := g.r.IntN(40); {
		case k == 0:
			fmt.Fprintf(&b, "**%s**", w)
		case k == 1:
			fmt.Fprintf(&b, "*%s*", w)
		case k == 2:
			fmt.Fprintf(&b, "`%s()`", w)
		case k == 3 && i < n-1:
			fmt.Fprintf(&b, "[%s %s](https://example.com/%s/%d)", w, g.word(), g.word(), g.r.IntN(1000))
			i++
		default:
			b.WriteString(w)
		}
	}
	if g.r.IntN(8) == 0 {
		b.WriteString("?")
	} else {
		b.WriteString(".")
	}
	return b.String()
}

func (g *gen) paragraph() {
	n := 2 + g.r.IntN(5)
	for i := 0; i < n; i++ {
		if i > 0 {
			g.sb.WriteByte(' ')
		}
		g.sb.WriteString(g.sentence())
	}
	g.sb.WriteString("\n\n")
}

func (g *gen) list() {
	n := 3 + g.r.IntN(4)
	ordered := g.r.IntN(3) == 0
	task := !ordered && g.r.IntN(4) == 0
	for i := 0; i < n; i++ {
		switch {
		case ordered:
			fmt.Fprintf(&g.sb, "%d. ", i+1)
		case task:
			if g.r.IntN(2) == 0 {
				g.sb.WriteString("- [x] ")
			} else {
				g.sb.WriteString("- [ ] ")
			}
		default:
			g.sb.WriteString("- ")
		}
		g.sb.WriteString(g.sentence())
		g.sb.WriteByte('\n')
	}
	g.sb.WriteByte('\n')
}

func (g *gen) table() {
	g.sb.WriteString("| Step | Cost | Notes |\n|:-----|-----:|-------|\n")
	for i := 0; i < 3+g.r.IntN(4); i++ {
		fmt.Fprintf(&g.sb, "| %s | %d ms | %s %s |\n", g.word(), g.r.IntN(500), g.word(), g.word())
	}
	g.sb.WriteByte('\n')
}

// Markdown returns a post body of roughly size bytes: a lead paragraph, then
// sections with headings, prose, lists, quotes, code and tables in the
// proportions of an ordinary technical blog.
func Markdown(r *rand.Rand, size int) string {
	g := &gen{r: r}
	g.paragraph()
	for g.sb.Len() < size {
		fmt.Fprintf(&g.sb, "## %s\n\n", Title(r))
		g.paragraph()
		switch r.IntN(6) {
		case 0, 1:
			g.list()
		case 2:
			g.sb.WriteString(codeSamples[r.IntN(len(codeSamples))])
			g.sb.WriteString("\n\n")
		case 3:
			fmt.Fprintf(&g.sb, "> %s\n> %s\n\n", g.sentence(), g.sentence())
		case 4:
			g.table()
		}
		g.paragraph()
	}
	return g.sb.String()
}

// Title returns a capitalised 3-8 word title.
func Title(r *rand.Rand) string {
	n := 3 + r.IntN(6)
	parts := make([]string, n)
	for i := range parts {
		w := words[r.IntN(len(words))]
		if i == 0 || r.IntN(3) == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		parts[i] = w
	}
	return strings.Join(parts, " ")
}

// bodySize draws a post length from a log-normal distribution (median about
// 3 KB, most posts between 1 and 10 KB), clamped to 500 B - 40 KB.
func bodySize(r *rand.Rand) int {
	s := math.Exp(math.Log(3000) + 0.7*r.NormFloat64())
	return int(min(max(s, 500), 40_000))
}
