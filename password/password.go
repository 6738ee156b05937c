// Package password hashes passwords with argon2id and checks new passwords
// against a length policy and a list of common passwords.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Bounds on argon2id parameters, applied both to the Hasher's own Params and
// to parameters read back from a stored hash, so that a corrupt or hostile
// hash string cannot make Verify allocate terabytes or run for hours, and so
// that Hash never writes a string that Verify would refuse.
const (
	minSaltLen = 8       // PHC string format minimum.
	maxSaltLen = 64      // generous; 16 is the norm.
	minKeyLen  = 16      // shorter tags make guessing a match feasible.
	maxKeyLen  = 128     // generous; 32 is the norm.
	maxMemory  = 1 << 20 // KiB, i.e. 1 GiB.
	maxTime    = 64      // passes over memory.
	minMemPerP = 8       // KiB per lane, the argon2 minimum (2 * sync points).
)

// b64 is the PHC string format's base64: standard alphabet, no padding, and
// strict so that a string has exactly one accepted spelling.
var b64 = base64.RawStdEncoding.Strict()

// ErrMalformedHash is returned by Verify when the stored string is not an
// argon2id PHC string this package can check.
var ErrMalformedHash = errors.New("password: malformed argon2id hash")

// Params are argon2id cost parameters. Memory is in KiB.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams returns the OWASP-recommended argon2id minimum
// (m=19 MiB, t=2, p=1) with a 16-byte salt and a 32-byte key.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// validate reports whether p is within the bounds this package accepts.
func (p Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("time %d outside 1..%d", p.Time, maxTime)
	case p.Threads < 1:
		return errors.New("threads must be at least 1")
	case p.Memory < minMemPerP*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("memory %d KiB outside %d..%d", p.Memory, minMemPerP*uint32(p.Threads), maxMemory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length %d outside %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length %d outside %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// Hasher hashes and verifies passwords. It is safe for concurrent use; a
// semaphore bounds how many argon2 computations run at once, because each
// one holds Params.Memory KiB and a flood of logins must not exhaust memory.
type Hasher struct {
	params Params
	sem    chan struct{}
	// dummy is a well-formed hash with the Hasher's params whose key is
	// random bytes, so no password matches it; VerifyDummy checks against it.
	dummy string
	// held, when set (tests only), runs while a hashing slot is held.
	held func()
}

// NewHasher returns a Hasher that makes new hashes with p and runs at most
// maxConcurrent argon2 computations at once (runtime.NumCPU() if
// maxConcurrent <= 0). Invalid params are reported by Hash, not here.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.NumCPU()
	}
	h := &Hasher{params: p, sem: make(chan struct{}, maxConcurrent)}
	if p.validate() != nil {
		return h // Hash will report the params; VerifyDummy fails fast.
	}
	salt := make([]byte, p.SaltLen)
	key := make([]byte, p.KeyLen)
	// crypto/rand.Read never fails on supported platforms; a zero salt or
	// key would still make a dummy that no real password matches in practice.
	_, _ = rand.Read(salt)
	_, _ = rand.Read(key)
	h.dummy = encode(p, salt, key)
	return h
}

// Params returns the parameters the Hasher uses for new hashes.
func (h *Hasher) Params() Params { return h.params }

// Hash returns an argon2id PHC string for pw with a fresh random salt, e.g.
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>. It waits for a free hashing
// slot and gives up with the context's error if ctx ends first.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := h.params.validate(); err != nil {
		return "", fmt.Errorf("password: hash: invalid params: %w", err)
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: hash: read salt: %w", err)
	}
	key, err := h.derive(ctx, pw, salt, h.params)
	if err != nil {
		return "", fmt.Errorf("password: hash: %w", err)
	}
	return encode(h.params, salt, key), nil
}

// Verify reports whether pw matches the PHC string phc, computed with the
// parameters recorded in phc so that hashes made with older settings keep
// working. needsRehash is true when pw matched but phc's parameters differ
// from the Hasher's, so the caller can store a fresh Hash while it has the
// plaintext. A malformed phc gives an error wrapping ErrMalformedHash.
func (h *Hasher) Verify(ctx context.Context, pw, phc string) (ok bool, needsRehash bool, err error) {
	p, salt, want, err := decode(phc)
	if err != nil {
		return false, false, fmt.Errorf("password: verify: %w", err)
	}
	got, err := h.derive(ctx, pw, salt, p)
	if err != nil {
		return false, false, fmt.Errorf("password: verify: %w", err)
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// VerifyDummy does the work of one Verify with the Hasher's params against
// a hash no password matches. Call it when the account is unknown so the
// response takes as long as for a known account with a wrong password.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) {
	_, _, _ = h.Verify(ctx, pw, h.dummy)
}

// derive runs argon2id while holding one of the Hasher's slots.
func (h *Hasher) derive(ctx context.Context, pw string, salt []byte, p Params) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("wait for hashing slot: %w", err)
	}
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for hashing slot: %w", ctx.Err())
	}
	defer func() { <-h.sem }()
	if h.held != nil {
		h.held()
	}
	return argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// encode formats an argon2id PHC string.
func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode parses an argon2id PHC string strictly: the fields must be in the
// canonical order and spelling that encode writes, and within the bounds.
func decode(phc string) (Params, []byte, []byte, error) {
	fail := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, why)
	}
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" {
		return fail("want $argon2id$v=..$m=..,t=..,p=..$salt$key")
	}
	if parts[1] != "argon2id" {
		return fail("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return fail("unsupported version")
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return fail("want m=..,t=..,p=..")
	}
	m, err := field(kv[0], "m", 32)
	if err != nil {
		return fail(err.Error())
	}
	t, err := field(kv[1], "t", 32)
	if err != nil {
		return fail(err.Error())
	}
	th, err := field(kv[2], "p", 8)
	if err != nil {
		return fail(err.Error())
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return fail("salt is not unpadded base64")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return fail("key is not unpadded base64")
	}
	p := Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(th), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := p.validate(); err != nil {
		return fail(err.Error())
	}
	return p, salt, key, nil
}

// field parses "name=decimal" with no sign or leading zeros.
func field(s, name string, bits int) (uint64, error) {
	v, ok := strings.CutPrefix(s, name+"=")
	if !ok {
		return 0, fmt.Errorf("want %s=", name)
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil || strconv.FormatUint(n, 10) != v {
		return 0, fmt.Errorf("bad %s value %q", name, v)
	}
	return n, nil
}
