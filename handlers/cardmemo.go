package handlers

import (
	"bytes"
	"html/template"
	"strings"
	"sync"
)

// cardMemoSize bounds the memo: a few MB of HTML, enough for every card of
// the pages people actually read.
const cardMemoSize = 4096

// cardMemo remembers rendered post cards. A card's HTML depends only on its
// PostCard value - the post's fields, its author's public fields and the
// viewer's edit and delete rights - and on the templates, which are fixed
// for the life of the process. So the whole value is the key: an edited
// post, a renamed author or a new avatar is simply another key, and nothing
// ever needs invalidating, on this instance or any other. Rendering twenty
// cards through html/template was most of a listing's CPU time.
type cardMemo struct {
	mu  sync.RWMutex
	m   map[PostCard]template.HTML
	max int
}

func newCardMemo(size int) *cardMemo {
	return &cardMemo{m: make(map[PostCard]template.HTML, size), max: size}
}

func (m *cardMemo) get(k PostCard) (template.HTML, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	h, ok := m.m[k]
	return h, ok
}

// put stores a card; a full memo is emptied first, which bounds memory
// without bookkeeping (a crawler walking every page only costs misses).
func (m *cardMemo) put(k PostCard, h template.HTML) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.m) >= m.max {
		clear(m.m)
	}
	m.m[k] = h
}

// cardHTML returns the rendered card, from the memo when it has it. On a
// render error it returns "", and the page renders the card itself (and
// reports the error there).
func (a *App) cardHTML(k PostCard) template.HTML {
	if h, ok := a.cardMemo.get(k); ok {
		return h
	}
	h, err := a.Views.Fragment("blog", "post_card", k)
	if err != nil {
		return ""
	}
	a.cardMemo.put(k, h)
	return h
}

// maxPooledBuffer keeps an unusually large page's buffer out of the pool.
const maxPooledBuffer = 1 << 20

// getBuffer returns an empty buffer for rendering a page. Pages are rendered
// into a buffer first (a template error never sends half a page); reusing
// the buffers saves growing a new one to the page's size on every request.
func (a *App) getBuffer() *bytes.Buffer {
	if b, ok := a.bufs.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

// putBuffer returns a buffer once its bytes have been written out.
func (a *App) putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	a.bufs.Put(b)
}

// joinCards concatenates the rendered cards, or returns "" if any card has
// no HTML (its render failed), so the page renders the cards itself and
// reports the error.
func joinCards(cards []PostCard) template.HTML {
	n := 0
	for _, c := range cards {
		if c.HTML == "" {
			return ""
		}
		n += len(c.HTML)
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, c := range cards {
		sb.WriteString(string(c.HTML))
	}
	return template.HTML(sb.String())
}
