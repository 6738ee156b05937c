package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// browser is a cookie-keeping HTTP client that does not follow redirects,
// used to sign in and to check each scenario's request once before the
// load generator repeats it.
type browser struct {
	base string
	c    *http.Client
}

func newBrowser(addr string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{base: "http://" + addr, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// csrfRe finds the token in the layout's hx-headers attribute.
var csrfRe = regexp.MustCompile(`"X-CSRF-Token": "([A-Za-z0-9_-]+)"`)

// get fetches path and returns status and body.
func (b *browser) get(path string) (int, string, error) {
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// csrf loads path and returns the page's CSRF token.
func (b *browser) csrf(path string) (string, error) {
	code, body, err := b.get(path)
	if err != nil {
		return "", err
	}
	m := csrfRe.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		return "", fmt.Errorf("GET %s: status %d, no CSRF token", path, code)
	}
	return m[1], nil
}

// postForm sends a form with the Sec-Fetch-Site header a browser would.
func (b *browser) postForm(path string, v url.Values) (*http.Response, string, error) {
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// login signs in through the real form and returns the page CSRF token of
// the signed-in session.
func (b *browser) login(email, password string) (string, error) {
	tok, err := b.csrf("/login")
	if err != nil {
		return "", err
	}
	resp, _, err := b.postForm("/login", url.Values{"email": {email}, "password": {password}, "csrf_token": {tok}})
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("POST /login as %s: status %d, want 303", email, resp.StatusCode)
	}
	return b.csrf("/blog")
}

// cookie returns the value of the named cookie the browser holds.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.base + "/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// cookieHeader is the Cookie header this browser would send.
func (b *browser) cookieHeader() string {
	u, _ := url.Parse(b.base + "/")
	var parts []string
	for _, c := range b.c.Jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// rawRequest builds one HTTP/1.1 request as wrk sends it.
func rawRequest(addr, method, path string, headers [][2]string, body string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: quirebench\r\nAccept: */*\r\n", method, path, addr)
	for _, h := range headers {
		if h[1] != "" {
			fmt.Fprintf(&sb, "%s: %s\r\n", h[0], h[1])
		}
	}
	if method != http.MethodGet {
		fmt.Fprintf(&sb, "Content-Length: %d\r\n", len(body))
	}
	sb.WriteString("\r\n")
	sb.WriteString(body)
	return sb.String()
}

// replay sends a raw request once over a fresh connection and returns the
// status, headers and body, so each scenario is checked before the load.
func replay(addr, raw string) (*http.Response, string, error) {
	req, err := http.ReadRequest(bufioReader(raw))
	if err != nil {
		return nil, "", err
	}
	req.RequestURI = ""
	req.URL.Scheme, req.URL.Host = "http", addr
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// errCheck marks a scenario whose request does not do what it should.
var errCheck = errors.New("scenario check failed")
