package handlers

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAccessTokenSignParse(t *testing.T) {
	t.Parallel()
	key := []byte(strings.Repeat("k", 32))
	now := time.Unix(2_000_000_000, 0)
	good := accessClaims{ID: "u1", Role: AuthorRoleID, AppAccess: true, IssuedAt: now.Unix(), Expires: now.Unix() + 60,
		Issuer: "directus", SessionID: "fam"}
	sign := func(cl accessClaims) string {
		tok, err := signAccessToken(key, cl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tok := sign(good)
	parts := strings.Split(tok, ".")
	wrongIssuer, noSession := good, good
	wrongIssuer.Issuer = "someone"
	noSession.SessionID = ""
	tests := []struct {
		name string
		tok  string
		at   time.Time
		want error
	}{
		{"valid", tok, now, nil},
		{"valid until the last second", tok, now.Add(59 * time.Second), nil},
		{"expired at exp", tok, now.Add(60 * time.Second), errTokenExpired},
		{"other key", func() string { t2, _ := signAccessToken([]byte(strings.Repeat("x", 32)), good); return t2 }(), now, errTokenSignature},
		{"signature of another payload", parts[0] + "." + strings.Split(sign(wrongIssuer), ".")[1] + "." + parts[2], now, errTokenMalformed},
		{"alg none", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + ".", now, errTokenSignature},
		{"alg HS512 header", "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9." + parts[1] + "." + parts[2], now, errTokenSignature},
		{"issuer not directus", sign(wrongIssuer), now, errTokenMalformed},
		{"no session id", sign(noSession), now, errTokenMalformed},
		{"two parts", parts[0] + "." + parts[1], now, errTokenMalformed},
		{"not base64", "a.b.c!", now, errTokenMalformed},
		{"empty", "", now, errTokenMalformed},
		{"huge", strings.Repeat("a", maxJWTBytes+1), now, errTokenMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, err := parseAccessToken(key, tt.tok, tt.at)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && cl != good {
				t.Fatalf("claims %+v, want %+v", cl, good)
			}
		})
	}
}
