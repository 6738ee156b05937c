package session

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
)

// Token sizes: a 128-bit id (the lookup key) and a 256-bit secret (only its
// hash is stored), both base64url without padding.
const (
	idBytes     = 16
	secretBytes = 32
	idLen       = 22 // base64.RawURLEncoding.EncodedLen(idBytes)
	secretLen   = 43 // base64.RawURLEncoding.EncodedLen(secretBytes)
)

var b64 = base64.RawURLEncoding

// errMalformed is returned for any value that cannot be a token.
var errMalformed = errors.New("session: malformed token")

// token is the parsed form of a cookie or refresh-token value "id.secret".
type token struct {
	id     string
	secret []byte
}

func (t token) String() string { return t.id + "." + b64.EncodeToString(t.secret) }

func newToken() (token, error) {
	buf := make([]byte, idBytes+secretBytes)
	if _, err := rand.Read(buf); err != nil {
		return token{}, err
	}
	return token{id: b64.EncodeToString(buf[:idBytes]), secret: buf[idBytes:]}, nil
}

// parseToken accepts exactly "<22 chars>.<43 chars>" of base64url; anything
// else is malformed, so garbage never reaches the database.
func parseToken(v string) (token, error) {
	if len(v) != idLen+1+secretLen || v[idLen] != '.' {
		return token{}, errMalformed
	}
	id, sec := v[:idLen], v[idLen+1:]
	rawID, err := b64.DecodeString(id)
	if err != nil || len(rawID) != idBytes {
		return token{}, errMalformed
	}
	secret, err := b64.DecodeString(sec)
	if err != nil || len(secret) != secretBytes {
		return token{}, errMalformed
	}
	// Reject non-canonical encodings (set padding bits, or CR/LF, which the
	// decoder skips) so one token has one spelling.
	if b64.EncodeToString(rawID) != id || b64.EncodeToString(secret) != sec {
		return token{}, errMalformed
	}
	return token{id: id, secret: secret}, nil
}

func hashSecret(secret []byte) []byte {
	h := sha256.Sum256(secret)
	return h[:]
}

func secretMatches(secret, stored []byte) bool {
	return subtle.ConstantTimeCompare(hashSecret(secret), stored) == 1
}

// successor derives the next token of a rotation chain from the current one
// and a server key. Deriving (instead of drawing fresh randomness) means every
// request or instance that rotates the same token computes the same successor,
// so concurrent rotations agree without storing any plaintext secret.
func successor(key []byte, cur token) token {
	mac := func(label string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(label))
		m.Write([]byte{0})
		m.Write([]byte(cur.id))
		m.Write([]byte{0})
		m.Write(cur.secret)
		return m.Sum(nil)
	}
	return token{id: b64.EncodeToString(mac("quire rotate id")[:idBytes]), secret: mac("quire rotate secret")[:secretBytes]}
}
