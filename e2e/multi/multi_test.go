package multi

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"quire/store/storetest"
)

// A and B were started together on an empty schema: both came up, and the
// advisory lock let exactly one of them apply each migration.
func TestStartTogetherMigrateOnce(t *testing.T) {
	t.Parallel()
	var versions []int
	rows, err := env.db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(versions) < 2 {
		t.Fatalf("schema_migrations = %v, want every migration recorded", versions)
	}
	applied := regexp.MustCompile(`msg="store: migration applied" dialect=postgres version=(\d+)`)
	count := map[string]int{}
	for _, in := range []*instance{env.a, env.b} {
		for _, m := range applied.FindAllStringSubmatch(in.log.String(), -1) {
			count[m[1]]++
		}
	}
	for _, v := range versions {
		if n := count[fmt.Sprint(v)]; n != 1 {
			t.Errorf("migration %d applied %d times by A and B together, want once", v, n)
		}
	}
	if len(count) != len(versions) {
		t.Errorf("logs report migrations %v, database has %v", count, versions)
	}
	for _, in := range []*instance{env.a, env.b} {
		if p, err := send(in, http.MethodGet, "/healthz", nil, nil); err != nil || p.status != http.StatusOK {
			t.Errorf("instance %s not healthy: %v", in.name, err)
		}
	}
}

// Sign in through A, continue on B; rotate on A and replay the previous
// token on B: accepted inside the grace window (with the same successor),
// and after it the whole login is revoked on both instances.
func TestSessionAcrossInstances(t *testing.T) {
	t.Parallel()
	b, _ := newUser(t, env.a)
	t0 := b.session()
	signedInAt := time.Now()

	if ok, p := signedIn(t, b.with(nil), env.b); !ok {
		t.Fatalf("A's cookie is not signed in on B")
	} else if _, set, _ := p.cookie(sessionCookie); set {
		t.Errorf("B rotated a fresh token")
	}

	time.Sleep(time.Until(signedInAt.Add(2*time.Second + 200*time.Millisecond)))
	ok, p := signedIn(t, b, env.a)
	rotatedAt := time.Now()
	t1, set, _ := p.cookie(sessionCookie)
	if !ok || !set || t1 == t0 {
		t.Fatalf("A did not rotate a token past --session-rotate (signed in %v, new cookie %v)", ok, set)
	}

	old := b.with(map[string]string{sessionCookie: t0})
	ok, p = signedIn(t, old, env.b)
	if elapsed := time.Since(rotatedAt); elapsed > time.Second {
		t.Fatalf("test too slow: replay came %s after rotation, beyond the grace window", elapsed)
	}
	if !ok {
		t.Fatal("previous token refused on B inside the grace window")
	}
	if got, _, _ := p.cookie(sessionCookie); got != t1 {
		t.Errorf("B moved the previous token to %q, A to %q: instances disagree on the successor", got, t1)
	}

	time.Sleep(time.Until(rotatedAt.Add(1300 * time.Millisecond)))
	late := b.with(map[string]string{sessionCookie: t0})
	if ok, p := signedIn(t, late, env.b); ok {
		t.Fatal("previous token still accepted on B after the grace window")
	} else if _, _, cleared := p.cookie(sessionCookie); !cleared {
		t.Error("B did not clear the reused cookie")
	}
	for _, in := range []*instance{env.a, env.b} {
		for name, tok := range map[string]string{"previous": t0, "current": t1} {
			if ok, _ := signedIn(t, b.with(map[string]string{sessionCookie: tok}), in); ok {
				t.Errorf("after reuse the %s token is still signed in on %s: the family was not revoked", name, in.name)
			}
		}
	}
}

// Requests with a token due for rotation hit A and B at once: every one is
// served and all agree on a single successor.
func TestConcurrentRotationAgrees(t *testing.T) {
	t.Parallel()
	b, _ := newUser(t, env.a)
	t0 := b.session()
	time.Sleep(2*time.Second + 200*time.Millisecond)

	const n = 10
	pages := make([]*page, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	startGun := make(chan struct{})
	cookies := b.cookies()
	for i := range n {
		in := []*instance{env.a, env.b}[i%2]
		wg.Go(func() {
			<-startGun
			pages[i], errs[i] = send(in, http.MethodGet, "/account", nil, cookies)
		})
	}
	close(startGun)
	wg.Wait()
	successors := map[string]int{}
	for i, p := range pages {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if p.status != http.StatusOK {
			t.Errorf("request %d: %d %q, want 200 (signed in)", i, p.status, p.location())
			continue
		}
		v, _, _ := p.cookie(sessionCookie)
		successors[v]++
	}
	if len(successors) != 1 {
		t.Fatalf("successor tokens handed out: %v, want one, to every request", successors)
	}
	for t1 := range successors {
		if t1 == "" || t1 == t0 {
			t.Fatalf("requests got %q, want a new token", t1)
		}
		for _, in := range []*instance{env.a, env.b} {
			if ok, _ := signedIn(t, b.with(map[string]string{sessionCookie: t1}), in); !ok {
				t.Errorf("the agreed successor is not signed in on %s", in.name)
			}
		}
	}
}

// A post created through A is on B at once, and so is the flash message A
// queued for the page it redirected to.
func TestCreateOnASeeOnB(t *testing.T) {
	t.Parallel()
	b, _ := newUser(t, env.a)
	title := "Written on A " + unique()
	id := createPost(t, b, env.a, title, "Read on **B**.")

	p := b.get(t, env.b, "/blog/"+id)
	if p.status != http.StatusOK || !strings.Contains(p.body, title) || !strings.Contains(p.body, "<strong>B</strong>") {
		t.Fatalf("GET /blog/%s on B: %d, title or body missing\n%s", id, p.status, p.body)
	}
	if !strings.Contains(p.body, "Post published.") {
		t.Errorf("the flash queued by A's POST did not show on B")
	}
	if list := b.get(t, env.b, "/blog"); !strings.Contains(list.body, title) {
		t.Errorf("B's post list does not show the post created on A")
	}
}

// A flash set by a POST on A is shown by a GET on B, once.
func TestFlashCrossesInstances(t *testing.T) {
	t.Parallel()
	b := newBrowser()
	register(t, b, env.a, newEmail(t))
	const msg = "Account created — sign in."
	if p := b.get(t, env.b, "/login"); !strings.Contains(p.body, msg) {
		t.Fatalf("GET /login on B does not show A's flash %q\n%s", msg, p.body)
	}
	if p := b.get(t, env.a, "/login"); strings.Contains(p.body, msg) {
		t.Errorf("the flash was shown by B and again by A")
	}
}

// Twenty edits of one post, split across A and B and sent at once, all
// succeed, and the post ends up as exactly one of them - never a mix.
func TestConcurrentEdits(t *testing.T) {
	t.Parallel()
	b, _ := newUser(t, env.a)
	id := createPost(t, b, env.a, "Original", "Original body.")
	csrf := b.get(t, env.a, "/blog/"+id+"/edit").csrf(t)
	cookies := b.cookies()

	const n = 20
	pages := make([]*page, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	startGun := make(chan struct{})
	for i := range n {
		in := []*instance{env.a, env.b}[i%2]
		form := url.Values{"csrf_token": {csrf}, "title": {fmt.Sprintf("Version %d", i)},
			"content": {fmt.Sprintf("Body of version %d.", i)}}
		wg.Go(func() {
			<-startGun
			pages[i], errs[i] = send(in, http.MethodPost, "/blog/"+id+"/edit", form, cookies)
		})
	}
	close(startGun)
	wg.Wait()
	for i, p := range pages {
		if errs[i] != nil {
			t.Fatalf("edit %d: %v", i, errs[i])
		}
		if p.status != http.StatusSeeOther || p.location() != "/blog/"+id {
			t.Errorf("edit %d: %d %q, want 303 to /blog/%s\n%s", i, p.status, p.location(), id, p.body)
		}
	}

	var title, content string
	if err := env.db.QueryRow(`SELECT title, content FROM posts WHERE id = $1`, id).Scan(&title, &content); err != nil {
		t.Fatal(err)
	}
	var winner = -1
	for i := range n {
		if title == fmt.Sprintf("Version %d", i) && content == fmt.Sprintf("Body of version %d.", i) {
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("final post is title %q, content %q: not one of the submitted versions", title, content)
	}
	for _, in := range []*instance{env.a, env.b} {
		if p := b.get(t, in, "/blog/"+id); !strings.Contains(p.body, fmt.Sprintf("Body of version %d.", winner)) {
			t.Errorf("%s does not show the final version %d", in.name, winner)
		}
	}
}

// Failed sign-ins counted on one instance throttle the account on the
// other: the counters are in the database.
func TestLoginThrottleShared(t *testing.T) {
	t.Parallel()
	b := newBrowser()
	email := newEmail(t)
	register(t, b, env.a, email)
	csrf := b.get(t, env.a, "/login").csrf(t)
	try := func(in *instance, pw string) *page {
		return b.post(t, in, "/login", url.Values{"csrf_token": {csrf}, "email": {email}, "password": {pw}})
	}

	// --login-failures 3: three failures on A, then one on B after the
	// first delay (1 s) has passed, which doubles the delay to 2 s.
	for i := range 3 {
		if p := try(env.a, "wrong password"); p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d on A: %d, want 401\n%s", i+1, p.status, p.body)
		}
	}
	time.Sleep(1100 * time.Millisecond)
	if p := try(env.b, "wrong password"); p.status != http.StatusUnauthorized {
		t.Fatalf("failure 4 on B: %d, want 401 (the 1 s delay is over)\n%s", p.status, p.body)
	}
	lastFailure := time.Now()
	for _, in := range []*instance{env.a, env.b} {
		p := try(in, password)
		if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" ||
			!strings.Contains(p.body, "Too many failed sign-in attempts") {
			t.Errorf("right password on %s during the delay: %d (Retry-After %q), want 429", in.name, p.status, p.header.Get("Retry-After"))
		}
	}
	if time.Since(lastFailure) > 2*time.Second {
		t.Fatal("test too slow: the checks ran after the 2 s delay had passed")
	}

	time.Sleep(time.Until(lastFailure.Add(2200 * time.Millisecond)))
	if p := try(env.b, password); p.status != http.StatusSeeOther || p.location() != "/" {
		t.Fatalf("right password on B after the delay: %d %q, want 303 to /\n%s", p.status, p.location(), p.body)
	}
}

// A site populated through quire on SQLite moves to PostgreSQL with
// `quire copy`: every row arrives, the password still works, and the old
// session cookie and CSRF token keep working on the new database.
func TestCopySQLiteToPostgres(t *testing.T) {
	t.Parallel()
	litePath := filepath.Join(t.TempDir(), "site.db")
	lite := startServer(t, "sqlite", "--db", litePath, "--register-limit", "1000")
	b, email := newUser(t, lite)
	var ids []string
	for i := range 3 {
		ids = append(ids, createPost(t, b, lite, fmt.Sprintf("Moved post %d", i), fmt.Sprintf("Body %d with *emphasis*.", i)))
	}
	csrf := b.get(t, lite, "/blog/new").csrf(t)
	lite.stop()

	dsn := storetest.PostgresDSN(t)
	out, err := exec.Command(env.bin, "copy", "--from", "sqlite:"+litePath, "--to", dsn).CombinedOutput()
	if err != nil {
		t.Fatalf("quire copy: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "posts") || !strings.Contains(string(out), "(postgres)") {
		t.Errorf("quire copy output lacks the per-table report:\n%s", out)
	}

	again, err := exec.Command(env.bin, "copy", "--from", "sqlite:"+litePath, "--to", dsn).CombinedOutput()
	if err == nil || !strings.Contains(string(again), "already has users or posts") {
		t.Errorf("a second quire copy into the same database: %v, want a refusal\n%s", err, again)
	}

	src, err := sql.Open("sqlite", litePath)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	var tables []string
	rows, err := src.Query(`SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite!_%' ESCAPE '!' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	before, after := tableDump(t, src, tables), tableDump(t, dst, tables)
	for _, table := range tables {
		if strings.Join(before[table], "\n") != strings.Join(after[table], "\n") {
			t.Errorf("table %s differs after quire copy:\nsqlite:   %q\npostgres: %q", table, before[table], after[table])
		}
	}
	for _, table := range []string{"users", "posts", "session_families", "session_tokens", "settings"} {
		if len(before[table]) == 0 {
			t.Errorf("the SQLite site has no rows in %s; the copy proved nothing for it", table)
		}
	}

	pg := startServer(t, "postgres", "--db", dsn)
	if ok, p := signedIn(t, b, pg); !ok || !strings.Contains(p.body, email) {
		t.Fatalf("the session cookie from the SQLite site is not signed in on PostgreSQL (%d)", p.status)
	}
	for i, id := range ids {
		if p := b.get(t, pg, "/blog/"+id); p.status != http.StatusOK || !strings.Contains(p.body, fmt.Sprintf("Moved post %d", i)) {
			t.Errorf("post %s on PostgreSQL: %d", id, p.status)
		}
	}
	// The CSRF key came along, and the post ids continue after the copied ones.
	p := b.post(t, pg, "/blog", url.Values{"csrf_token": {csrf}, "title": {"First on PostgreSQL"}, "content": {"x"}})
	if want := fmt.Sprintf("/blog/%d", len(ids)+1); p.status != http.StatusSeeOther || p.location() != want {
		t.Errorf("new post with the old CSRF token: %d %q, want 303 to %s\n%s", p.status, p.location(), want, p.body)
	}
	fresh := newBrowser()
	signIn(t, fresh, pg, email)
	if ok, _ := signedIn(t, fresh, pg); !ok {
		t.Error("signing in with the copied password did not stick")
	}
}
