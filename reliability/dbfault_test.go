package reliability

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver: checks the private PostgreSQL's rows
	"golang.org/x/sys/unix"
)

// unavailablePage reports whether r is Quire's 503 page, which says what
// happened and that nothing was saved.
func unavailablePage(r *result) bool {
	return r.code == http.StatusServiceUnavailable && strings.Contains(r.body, "<!doctype html>") &&
		strings.Contains(r.body, "<h1>Temporarily unavailable</h1>") && strings.Contains(r.body, "Nothing was saved")
}

// fsImmutableFL is FS_IMMUTABLE_FL of linux/fs.h (chattr +i).
const fsImmutableFL = 0x00000010

// setImmutable sets or clears the immutable attribute (chattr +i) of files:
// the kernel then refuses every write, even through descriptors the server
// already holds - a read-only database file as a running process sees it.
func setImmutable(files []string, on bool) error {
	for _, f := range files {
		fd, err := os.Open(f)
		if err != nil {
			return err
		}
		flags, err := unix.IoctlGetUint32(int(fd.Fd()), unix.FS_IOC_GETFLAGS)
		if err == nil {
			if on {
				flags |= fsImmutableFL
			} else {
				flags &^= fsImmutableFL
			}
			err = unix.IoctlSetPointerInt(int(fd.Fd()), unix.FS_IOC_SETFLAGS, int(flags))
		}
		fd.Close()
		if err != nil {
			return fmt.Errorf("%s: immutable=%v: %w", f, on, err)
		}
	}
	return nil
}

// TestReadOnlyDatabaseFile makes the SQLite files immutable under a running
// server: writes answer the 503 page and are logged, reads go on, and
// writes work again by themselves once the files are writable.
func TestReadOnlyDatabaseFile(t *testing.T) {
	t.Parallel()
	requireRoot(t, "chattr +i needs CAP_LINUX_IMMUTABLE")
	db := filepath.Join(t.TempDir(), "quire.db")
	// Rotation every second: a signed-in reader's next request needs a write.
	srv := startServer(t, db, "--session-rotate", "1s", "--session-grace", "30s")
	a := author(t, srv.base, "Ada", "ada@example.com")
	before := mustCreate(t, a, "before")

	files := []string{db, db + "-wal"}
	if err := setImmutable(files, true); err != nil {
		t.Fatalf("%v (the test directory's file system must support chattr +i)", err)
	}
	t.Cleanup(func() { _ = setImmutable(files, false) })

	for i, path := range []string{"/blog", fmt.Sprintf("/blog/%d/edit", before)} {
		r, err := a.post(path, url.Values{"title": {fmt.Sprintf("during %d", i)}, "content": {"x"}})
		if err != nil || !unavailablePage(r) {
			t.Fatalf("POST %s on a read-only file: %v %+v", path, err, r)
		}
	}
	reg := newBrowser(srv.base)
	defer reg.close()
	if err := reg.register("Bob", "bob@example.com"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("register on a read-only file: %v", err)
	}
	anon := newBrowser(srv.base)
	defer anon.close()
	if r, err := anon.get("/blog/" + strconv.FormatInt(before, 10)); err != nil || r.code != http.StatusOK {
		t.Errorf("reading on a read-only file: %v %+v", err, r)
	}
	time.Sleep(1100 * time.Millisecond) // a's token is now due for rotation
	if r, err := a.get("/blog"); err != nil || !unavailablePage(r) {
		t.Errorf("signed-in read needing a rotation: %v %+v", err, r)
	}
	if srv.log.count("database unavailable", "disk I/O error") == 0 {
		t.Error("no database unavailable log entry")
	}

	if err := setImmutable(files, false); err != nil {
		t.Fatal(err)
	}
	var after int64
	if !waitFor(10*time.Second, func() bool {
		r, err := a.post("/blog", url.Values{"title": {"after"}, "content": {"x"}})
		if err != nil || r.code != http.StatusSeeOther {
			return false
		}
		after, _ = postID(r.location())
		return true
	}) {
		t.Fatal("writes did not recover after the file became writable")
	}
	stopAndCheck(t, srv, db, map[int64]string{before: "before", after: "after"}, "during 0", "during 1")
	t.Logf("read-only file: writes answered 503 (%d log entries), reads served, recovered without restart",
		srv.log.count("database unavailable"))
}

// TestDiskFull fills a small tmpfs under a running server: writes answer
// the 503 page, nothing half-written is kept, and writes work again by
// themselves once space is freed.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	requireRoot(t, "mounts a 4 MiB tmpfs")
	mnt := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=4m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	db := filepath.Join(mnt, "quire.db")
	srv := startServer(t, db, "--session-rotate", "1s", "--session-grace", "30s")
	a := author(t, srv.base, "Ada", "ada@example.com")
	before := mustCreate(t, a, "before")

	filler := filepath.Join(mnt, "filler")
	if err := fill(filler); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("All work and no play. ", 4000)
	for i, path := range []string{"/blog", "/blog", fmt.Sprintf("/blog/%d/edit", before)} {
		r, err := a.post(path, url.Values{"title": {fmt.Sprintf("during %d", i)}, "content": {big}})
		if err != nil || !unavailablePage(r) {
			t.Fatalf("POST %s on a full disk: %v %d", path, err, r.code)
		}
	}
	anon := newBrowser(srv.base)
	defer anon.close()
	if r, err := anon.get("/blog"); err != nil || r.code != http.StatusOK || !strings.Contains(r.body, "before") {
		t.Errorf("reading on a full disk: %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if r, err := a.get("/blog"); err != nil || !unavailablePage(r) {
		t.Errorf("signed-in read needing a rotation on a full disk: %v %+v", err, r)
	}
	if srv.log.count("database unavailable", "full") == 0 {
		t.Error("no database unavailable (full) log entry")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	var after int64
	if !waitFor(10*time.Second, func() bool {
		r, err := a.post("/blog", url.Values{"title": {"after"}, "content": {big}})
		if err != nil || r.code != http.StatusSeeOther {
			return false
		}
		after, _ = postID(r.location())
		return true
	}) {
		t.Fatal("writes did not recover after space was freed")
	}
	stopAndCheck(t, srv, db, map[int64]string{before: "before", after: "after"}, "during 0", "during 1", "during 2")
	t.Logf("disk full: writes answered 503 (%d log entries), reads served, recovered without restart",
		srv.log.count("database unavailable"))
}

// fill writes path until the file system is full.
func fill(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return err
		}
	}
}

func mustCreate(t *testing.T, b *browser, title string) int64 {
	t.Helper()
	r, err := b.post("/blog", url.Values{"title": {title}, "content": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	id, ok := postID(r.location())
	if r.code != http.StatusSeeOther || !ok {
		t.Fatalf("create %q: %d %q", title, r.code, r.location())
	}
	return id
}

// stopAndCheck stops the server cleanly, then checks the file: intact, the
// wanted posts with their titles, and none of the refused titles.
func stopAndCheck(t *testing.T, srv *server, db string, want map[int64]string, refused ...string) {
	t.Helper()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, ok := srv.exitCode(20 * time.Second); !ok || code != 0 {
		t.Errorf("exit after SIGTERM: code %d, exited %v", code, ok)
	}
	sdb := openSQLite(t, db)
	integrity(t, sdb)
	stored := titles(t, sdb)
	for id, title := range want {
		if stored[id] != title {
			t.Errorf("post %d = %q, want %q", id, stored[id], title)
		}
	}
	for _, title := range stored {
		for _, r := range refused {
			if title == r {
				t.Errorf("a refused write was stored: %q", r)
			}
		}
	}
}

// privatePG is a PostgreSQL cluster of this test alone, so it can be
// stopped and started without disturbing the shared one.
type privatePG struct {
	t         *testing.T
	bin, dir  string
	data, log string
	port      int
	cred      *syscall.Credential
}

func startPrivatePG(t *testing.T) *privatePG {
	t.Helper()
	requireRoot(t, "runs a private PostgreSQL as the postgres user")
	bin := "/usr/lib/postgresql/15/bin"
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		t.Fatalf("PostgreSQL 15 server binaries not found in %s: %v", bin, err)
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("", "quire-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	pg := &privatePG{t: t, bin: bin, dir: dir, data: filepath.Join(dir, "data"), log: filepath.Join(dir, "log"), port: port,
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	pg.run("initdb", "-D", pg.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
	pg.ctl("start")
	t.Cleanup(func() { _ = pg.exec("pg_ctl", "-D", pg.data, "-m", "immediate", "-w", "stop") })
	return pg
}

func (pg *privatePG) exec(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(pg.bin, name), args...)
	cmd.Dir = pg.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %w\n%s", name, args, err, out)
	}
	return nil
}

func (pg *privatePG) run(name string, args ...string) {
	pg.t.Helper()
	if err := pg.exec(name, args...); err != nil {
		pg.t.Fatal(err)
	}
}

// ctl starts or (fast) stops the cluster and waits until it is done.
func (pg *privatePG) ctl(action string) {
	pg.t.Helper()
	args := []string{"-D", pg.data, "-l", pg.log, "-w"}
	if action == "start" {
		args = append(args, "-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", pg.port, pg.dir))
	} else {
		args = append(args, "-m", "fast")
	}
	pg.run("pg_ctl", append(args, action)...)
}

func (pg *privatePG) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

// TestPostgresRestart stops and restarts a private PostgreSQL under load:
// while it is down every request answers the 503 page (never a 500), and
// quire recovers by itself when it is back, with every acknowledged write.
func TestPostgresRestart(t *testing.T) {
	t.Parallel()
	pg := startPrivatePG(t)
	srv := startServer(t, pg.dsn())
	a := author(t, srv.base, "Ada", "ada@example.com")
	mustCreate(t, a, "first")

	type sample struct {
		at   time.Time
		code int
		err  error
		body string
		path string
	}
	var (
		mu      sync.Mutex
		samples []sample
		acked   []int64
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	load := func(b *browser, write bool) {
		defer wg.Done()
		for n := 0; ctx.Err() == nil; n++ {
			var (
				r    *result
				err  error
				path = "/blog"
			)
			if write {
				r, err = b.post(path, url.Values{"title": {"load " + strconv.Itoa(n)}, "content": {"x"}})
			} else {
				r, err = b.get(path)
			}
			s := sample{at: time.Now(), err: err, path: path}
			if r != nil {
				s.code, s.body = r.code, r.body
				if id, ok := postID(r.location()); ok && r.code == http.StatusSeeOther {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
			mu.Lock()
			samples = append(samples, s)
			mu.Unlock()
			ctxSleep(ctx, 10*time.Millisecond)
		}
	}
	reader := newBrowser(srv.base)
	defer reader.close()
	wg.Add(3)
	go load(reader, false)
	go load(a, false)
	go load(a, true)

	time.Sleep(600 * time.Millisecond)
	downAt := time.Now()
	pg.ctl("stop")
	stoppedAt := time.Now()
	time.Sleep(1500 * time.Millisecond)
	hz, err := reader.get("/healthz")
	if err != nil || hz.code != http.StatusServiceUnavailable {
		t.Errorf("healthz while PostgreSQL is down: %v %+v", err, hz)
	}
	upAt := time.Now()
	pg.ctl("start")
	startedAt := time.Now()
	var recoveredAt time.Time
	if !waitFor(20*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for i := len(samples) - 1; i >= 0 && samples[i].at.After(startedAt); i-- {
			if samples[i].code == http.StatusSeeOther {
				recoveredAt = samples[i].at
				return true
			}
		}
		return false
	}) {
		t.Fatal("quire did not recover after PostgreSQL came back")
	}
	const settle = 2 * time.Second
	time.Sleep(settle + time.Second)
	cancel()
	wg.Wait()

	var okBefore, down503, other, okAfter int
	for _, s := range samples {
		switch {
		case s.err != nil:
			t.Errorf("%s: connection error (quire itself must stay up): %v", s.path, s.err)
		case s.code == http.StatusInternalServerError || s.code > 503:
			other++
			t.Errorf("%s at +%v: status %d", s.path, s.at.Sub(downAt).Round(time.Millisecond), s.code)
		case s.code == http.StatusServiceUnavailable:
			if !unavailablePage(&result{code: s.code, body: s.body}) {
				t.Errorf("503 without the page: %.300q", s.body)
			}
			// Pooled connections broken by the restart are discarded as they
			// are next used, so a few 503s may trail the first success;
			// past settle every answer must be a success again.
			if s.at.Before(downAt) || s.at.After(recoveredAt.Add(settle)) {
				t.Errorf("503 at +%v outside the outage", s.at.Sub(downAt).Round(time.Millisecond))
			}
			down503++
		case s.at.Before(downAt):
			okBefore++
		case s.at.After(recoveredAt):
			okAfter++
		case s.at.After(stoppedAt.Add(200*time.Millisecond)) && s.at.Before(upAt):
			t.Errorf("%s answered %d while PostgreSQL was stopped", s.path, s.code)
		}
	}
	if down503 < 10 {
		t.Errorf("only %d 503 answers during the outage", down503)
	}
	if okAfter == 0 {
		t.Error("no successful request after recovery")
	}
	// Every acknowledged write is in PostgreSQL.
	pdb, err := sql.Open("pgx", pg.dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	for _, id := range acked {
		var n int
		if err := pdb.QueryRow("SELECT count(*) FROM posts WHERE id = $1", id).Scan(&n); err != nil || n != 1 {
			t.Errorf("acknowledged post %d: count %d, %v", id, n, err)
		}
	}
	t.Logf("PostgreSQL restart: %d ok before, %d answered 503 during the %v outage, recovered %v after it was back, %d ok after; %d acknowledged writes present",
		okBefore, down503, startedAt.Sub(downAt).Round(time.Millisecond), recoveredAt.Sub(startedAt).Round(time.Millisecond), okAfter, len(acked))
}
