package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"quire/store"
)

// Fixed role ids. Quire stores "author"/"admin" in users.role; the API shows
// these UUIDs, like Directus role ids, so a client configured with the
// author role id (the tutorial's USER_ROLE) keeps working. They never change.
const (
	AuthorRoleID = "2b0c3f64-7a1e-4c2d-9f5b-a0e1d2c3b4a5"
	AdminRoleID  = "9d8e7f60-5a4b-4c3d-8e2f-1a0b9c8d7e6f"
)

// roleID maps a stored role to its API id.
func roleID(role string) string {
	if role == store.RoleAdmin {
		return AdminRoleID
	}
	return AuthorRoleID
}

// accessClaims is the payload of an API access token: Directus's claims
// plus sid, the session family the token was issued for, so that ending the
// session (logout, revocation, reuse detection) stops its access tokens at
// once instead of when they expire.
type accessClaims struct {
	ID          string `json:"id"`
	Role        string `json:"role"`
	AppAccess   bool   `json:"app_access"`
	AdminAccess bool   `json:"admin_access"`
	IssuedAt    int64  `json:"iat"`
	Expires     int64  `json:"exp"`
	Issuer      string `json:"iss"`
	SessionID   string `json:"sid"`
}

const (
	jwtIssuer = "directus"
	// jwtHeader is base64url({"alg":"HS256","typ":"JWT"}); tokens are only
	// ever made with it, and only it is accepted.
	jwtHeader   = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
	maxJWTBytes = 4096
)

// Reasons an access token is refused; the API answers 401 INVALID_CREDENTIALS,
// 403 INVALID_TOKEN and 401 TOKEN_EXPIRED, as Directus does.
var (
	errTokenMalformed = errors.New("api: token is not a Quire JWT")
	errTokenSignature = errors.New("api: token signature invalid")
	errTokenExpired   = errors.New("api: token expired")
)

var jwtB64 = base64.RawURLEncoding

func jwtMAC(key []byte, signingInput string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signingInput))
	return m.Sum(nil)
}

// signAccessToken makes an HS256 JWT. It is written by hand (a header, a
// JSON payload and an HMAC) to avoid a dependency for 30 lines.
func signAccessToken(key []byte, cl accessClaims) (string, error) {
	payload, err := json.Marshal(cl)
	if err != nil {
		return "", err
	}
	in := jwtHeader + "." + jwtB64.EncodeToString(payload)
	return in + "." + jwtB64.EncodeToString(jwtMAC(key, in)), nil
}

// parseAccessToken verifies a token's header, signature, issuer and expiry,
// in that order, and returns its claims.
func parseAccessToken(key []byte, tok string, now time.Time) (accessClaims, error) {
	var cl accessClaims
	if len(tok) > maxJWTBytes {
		return cl, errTokenMalformed
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return cl, errTokenMalformed
	}
	hdr, err1 := jwtB64.DecodeString(parts[0])
	payload, err2 := jwtB64.DecodeString(parts[1])
	sig, err3 := jwtB64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return cl, errTokenMalformed
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hdr, &h) != nil || json.Unmarshal(payload, &cl) != nil || cl.Issuer != jwtIssuer {
		return accessClaims{}, errTokenMalformed
	}
	// Only HS256 is ever accepted: "none" or another algorithm named by the
	// token itself must not change how it is checked.
	if h.Alg != "HS256" || !hmac.Equal(sig, jwtMAC(key, parts[0]+"."+parts[1])) {
		return accessClaims{}, errTokenSignature
	}
	if cl.ID == "" || cl.SessionID == "" {
		return accessClaims{}, errTokenMalformed
	}
	if now.Unix() >= cl.Expires {
		return accessClaims{}, errTokenExpired
	}
	return cl, nil
}

// issueAccessToken makes the access token of a session for u.
func (a *App) issueAccessToken(u store.User, familyID string) (string, error) {
	now := a.Now().UTC()
	ttl := max(int64(a.cfg.AccessTokenTTL/time.Second), 1)
	return signAccessToken(a.JWTKey, accessClaims{
		ID: u.ID, Role: roleID(u.Role), AppAccess: true, AdminAccess: u.Role == store.RoleAdmin,
		IssuedAt: now.Unix(), Expires: now.Unix() + ttl, Issuer: jwtIssuer, SessionID: familyID,
	})
}
