package session

import (
	"bytes"
	"strings"
	"testing"
)

func mustToken(t testing.TB) token {
	t.Helper()
	tk, err := newToken()
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestParseToken(t *testing.T) {
	t.Parallel()
	valid := mustToken(t).String()
	id, sec := valid[:idLen], valid[idLen+1:]
	// The last character of each part carries unused low bits: flipping
	// them gives a second spelling of the same bytes, which must be refused.
	nonCanonical := func(s string) string {
		last := s[len(s)-1]
		i := strings.IndexByte(b64Alphabet, last)
		return s[:len(s)-1] + string(b64Alphabet[i^1])
	}
	tests := []struct {
		name  string
		value string
		ok    bool
	}{
		{"valid", valid, true},
		{"all A", strings.Repeat("A", idLen) + "." + strings.Repeat("A", secretLen), true},
		{"empty", "", false},
		{"garbage", "hello world", false},
		{"no dot", id + sec + "x", false},
		{"dot elsewhere", id[:idLen-1] + "." + id[idLen-1:] + sec, false},
		{"short id", id[1:] + "." + sec, false},
		{"long id", id + "A." + sec, false},
		{"short secret", id + "." + sec[1:], false},
		{"long secret", id + "." + sec + "A", false},
		{"padding in secret", id + "." + sec[:secretLen-1] + "=", false},
		{"std alphabet in id", strings.Repeat("+", idLen) + "." + sec, false},
		{"std alphabet in secret", id + "." + strings.Repeat("/", secretLen), false},
		{"non-canonical secret", id + "." + nonCanonical(sec), false},
		{"non-canonical id", nonCanonical(id) + "." + sec, false},
		{"newlines in id", id[:4] + "\r\n" + id[4:idLen-2] + "." + sec, false},
		{"newlines in secret", id + "." + sec[:10] + "\n\n" + sec[10:secretLen-2], false},
		{"spaces", " " + valid[1:], false},
		{"two dots", id + "." + sec[:20] + "." + sec[21:], false},
		{"unicode", strings.Repeat("é", idLen/2) + "." + sec, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseToken(tt.value)
			if (err == nil) != tt.ok {
				t.Fatalf("parseToken(%q) err = %v, want ok=%v", tt.value, err, tt.ok)
			}
			if tt.ok && got.String() != tt.value {
				t.Errorf("round trip: %q -> %q", tt.value, got.String())
			}
		})
	}
}

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func TestNewTokenShape(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		tk := mustToken(t)
		s := tk.String()
		if len(s) != idLen+1+secretLen || len(tk.secret) != secretBytes {
			t.Fatalf("token %q has the wrong shape", s)
		}
		if _, err := parseToken(s); err != nil {
			t.Fatalf("new token %q does not parse: %v", s, err)
		}
		if seen[tk.id] {
			t.Fatalf("duplicate id %q", tk.id)
		}
		seen[tk.id] = true
	}
}

func TestSuccessor(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, 32)
	cur := mustToken(t)
	a, b := successor(key, cur), successor(key, cur)
	if a.String() != b.String() {
		t.Fatal("successor is not deterministic")
	}
	if a.id == cur.id || bytes.Equal(a.secret, cur.secret) {
		t.Fatal("successor equals its token")
	}
	if _, err := parseToken(a.String()); err != nil {
		t.Fatalf("successor %q is not a valid token: %v", a, err)
	}
	if successor(bytes.Repeat([]byte{8}, 32), cur).String() == a.String() {
		t.Error("successor ignores the key")
	}
	if successor(key, mustToken(t)).String() == a.String() {
		t.Error("successor ignores the token")
	}
	// The chain keeps moving: no fixed point within a few steps.
	seen := map[string]bool{cur.String(): true}
	for n, tk := 0, cur; n < 10; n++ {
		tk = successor(key, tk)
		if seen[tk.String()] {
			t.Fatalf("chain repeats after %d steps", n+1)
		}
		seen[tk.String()] = true
	}
	// The secret alone changes the successor (the id is public in logs).
	forged := token{id: cur.id, secret: bytes.Repeat([]byte{1}, secretBytes)}
	if successor(key, forged).String() == a.String() {
		t.Error("successor does not depend on the secret")
	}
}

func TestSecretMatches(t *testing.T) {
	t.Parallel()
	tk := mustToken(t)
	stored := hashSecret(tk.secret)
	if !secretMatches(tk.secret, stored) {
		t.Fatal("own secret does not match")
	}
	other := mustToken(t)
	if secretMatches(other.secret, stored) || secretMatches(tk.secret, stored[:16]) || secretMatches(nil, stored) {
		t.Fatal("wrong secret matches")
	}
	if bytes.Contains(stored, tk.secret) {
		t.Fatal("hash contains the secret")
	}
}

// FuzzParseToken: parseToken never panics, and whatever it accepts is the
// one canonical spelling of a 16-byte id and a 32-byte secret.
func FuzzParseToken(f *testing.F) {
	f.Add(mustToken(f).String())
	f.Add(strings.Repeat("A", idLen) + "." + strings.Repeat("A", secretLen))
	f.Add(strings.Repeat("A", idLen-1) + "B." + strings.Repeat("A", secretLen))
	f.Add(strings.Repeat("A", idLen) + "." + strings.Repeat("A", secretLen-1) + "B")
	f.Add("AAAA\r\nAAAAAAAAAAAAAAAAAAAA." + strings.Repeat("A", secretLen))
	f.Add("")
	f.Add(".")
	f.Fuzz(func(t *testing.T, v string) {
		tk, err := parseToken(v)
		if err != nil {
			return
		}
		if tk.String() != v {
			t.Fatalf("accepted %q but it prints as %q", v, tk.String())
		}
		id, err := b64.DecodeString(tk.id)
		if err != nil || len(id) != idBytes || b64.EncodeToString(id) != tk.id {
			t.Fatalf("accepted non-canonical id %q", tk.id)
		}
		if len(tk.secret) != secretBytes || b64.EncodeToString(tk.secret) != v[idLen+1:] {
			t.Fatalf("accepted non-canonical secret in %q", v)
		}
	})
}
