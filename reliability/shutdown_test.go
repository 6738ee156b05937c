package reliability

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestGracefulShutdown sends SIGTERM under load while a request is half
// sent: that request completes and its write is kept, new connections are
// refused, no request gets a 5xx or a torn response, and the process exits
// 0 within --shutdown-timeout.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	const timeout = 6 * time.Second
	db := filepath.Join(t.TempDir(), "quire.db")
	srv := startServer(t, db, "--shutdown-timeout", timeout.String())
	a := author(t, srv.base, "Ada", "ada@example.com")
	writer := newBrowser(srv.base)
	t.Cleanup(writer.close)
	if err := writer.login("ada@example.com"); err != nil {
		t.Fatal(err)
	}

	// Background load: readers and a writer until the process is gone.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu              sync.Mutex
		ok, refused     int
		bad             []string
		acked           []int64
		wg              sync.WaitGroup
		lastOK, firstNo time.Time
	)
	record := func(r *result, err error, want int) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil && isConnErr(err):
			refused++
			if firstNo.IsZero() {
				firstNo = time.Now()
			}
		case err != nil:
			bad = append(bad, err.Error())
		case r.code != want:
			bad = append(bad, fmt.Sprintf("status %d", r.code))
		default:
			ok++
			lastOK = time.Now()
			if id, isPost := postID(r.location()); isPost {
				acked = append(acked, id)
			}
		}
	}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := newBrowser(srv.base)
			defer b.close()
			for ctx.Err() == nil {
				r, err := b.get("/blog")
				record(r, err, http.StatusOK)
				if err != nil {
					ctxSleep(ctx, 20*time.Millisecond)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ctx.Err() == nil; n++ {
			r, err := writer.post("/blog", url.Values{"title": {"load " + strconv.Itoa(n)}, "content": {"x"}})
			record(r, err, http.StatusSeeOther)
			if err != nil {
				ctxSleep(ctx, 20*time.Millisecond)
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)

	// A create whose body is half sent when SIGTERM arrives.
	u, _ := url.Parse(srv.base)
	form := url.Values{"csrf_token": {a.csrf}, "title": {"in flight"}, "content": {strings.Repeat("z", 4000)}}.Encode()
	var cookies []string
	for _, c := range a.hc.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	conn, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /blog HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nCookie: %s\r\n\r\n",
		srv.addr, len(form), strings.Join(cookies, "; "))
	half := len(form) / 2
	if _, err := conn.Write([]byte(form[:half])); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the handler is now reading the body

	start := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { return srv.log.count("shutting down") > 0 }) {
		t.Fatal("no shutdown log after SIGTERM")
	}
	// New connections are refused from now on.
	if !waitFor(3*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", srv.addr, time.Second)
		if err == nil {
			c.Close()
			return false
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	}) {
		t.Error("new connections still accepted after SIGTERM")
	}
	// The request in flight finishes normally.
	time.Sleep(500 * time.Millisecond)
	if _, err := conn.Write([]byte(form[half:])); err != nil {
		t.Fatalf("finishing the in-flight body: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight response: %v", err)
	}
	res.Body.Close()
	inflight, isPost := postID(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || !isPost {
		t.Fatalf("in-flight create = %d %q", res.StatusCode, res.Header.Get("Location"))
	}

	code, exited := srv.exitCode(timeout + 5*time.Second)
	took := time.Since(start)
	cancel()
	wg.Wait()
	switch {
	case !exited:
		t.Fatalf("still running %v after SIGTERM", took)
	case code != 0:
		t.Errorf("exit code %d after SIGTERM", code)
	case took > timeout+2*time.Second:
		t.Errorf("exit took %v, --shutdown-timeout is %v", took, timeout)
	}
	if srv.log.count("stopped") != 1 {
		t.Error("no clean stop logged")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("%d bad answers during shutdown, first: %s", len(bad), bad[0])
	}

	// Every acknowledged write is on disk.
	sdb := openSQLite(t, db)
	integrity(t, sdb)
	stored := titles(t, sdb)
	for _, id := range append(acked, inflight) {
		if _, ok := stored[id]; !ok {
			t.Errorf("acknowledged post %d lost", id)
		}
	}
	if stored[inflight] != "in flight" {
		t.Errorf("in-flight post = %q", stored[inflight])
	}
	t.Logf("SIGTERM under load: %d answered, %d refused after shutdown began (first refusal %v after SIGTERM, last answer %v after), exit %d in %v; %d acknowledged writes on disk",
		ok, refused, firstNo.Sub(start).Round(time.Millisecond), lastOK.Sub(start).Round(time.Millisecond), code, took.Round(time.Millisecond), len(acked)+1)
}
