package password

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// cheap keeps tests that hash many times fast; it is valid but weak.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := NewHasher(DefaultParams(), 0)
	ctx := context.Background()
	tests := []struct {
		name, pw, wrong string
	}{
		{"ascii", "correct horse battery staple", "correct horse battery stapler"},
		{"case differs", "Tr0ub4dor&3", "tr0ub4dor&3"},
		{"unicode", "пароль-日本語-🔑🔑", "пароль-日本語-🔑"},
		{"max length", strings.Repeat("é", MaxBytes/2), strings.Repeat("é", MaxBytes/2-1) + "e"},
		{"empty", "", " "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			phc, err := h.Hash(ctx, tc.pw)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			ok, rehash, err := h.Verify(ctx, tc.pw, phc)
			if err != nil || !ok || rehash {
				t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
			ok, rehash, err = h.Verify(ctx, tc.wrong, phc)
			if err != nil || ok || rehash {
				t.Fatalf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestHashSaltsDiffer(t *testing.T) {
	h := NewHasher(cheap, 1)
	a, err := h.Hash(context.Background(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(context.Background(), "same password")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two hashes of one password are equal: %s", a)
	}
}

func TestHashPHCFormat(t *testing.T) {
	const pw = "hunter2hunter2"
	phc, err := NewHasher(DefaultParams(), 1).Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$`)
	m := re.FindStringSubmatch(phc)
	if m == nil {
		t.Fatalf("hash %q does not match %s", phc, re)
	}
	p, salt, key, err := decode(phc)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if p != DefaultParams() {
		t.Errorf("decoded params %+v, want %+v", p, DefaultParams())
	}
	// The key must be real argon2id of pw with the encoded salt and params.
	want := argon2.IDKey([]byte(pw), salt, 2, 19456, 1, 32)
	if string(key) != string(want) {
		t.Errorf("encoded key is not argon2id(pw, salt)")
	}
}

// Vectors made by the reference implementation's CLI (Debian package argon2):
// echo -n "correct horse battery staple" | argon2 somesaltsomesalt -id -t 1 -m 13 -p N -l 32 -e
func TestVerifyReferenceVectors(t *testing.T) {
	const pw = "correct horse battery staple"
	tests := []struct {
		name string
		phc  string
		p    Params
	}{
		{"p=1", "$argon2id$v=19$m=8192,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$EstMPFmPwEV1ZKsYgQUv5J+Zg0iQylaykGB5kmbPnSE",
			Params{Memory: 8192, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"p=2", "$argon2id$v=19$m=8192,t=1,p=2$c29tZXNhbHRzb21lc2FsdA$IaWzT/iVuOoqI7M3wXYByeM0NlUqu4mgO/2jyWkcym0",
			Params{Memory: 8192, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := NewHasher(DefaultParams(), 1).Verify(ctx, pw, tc.phc)
			if err != nil || !ok || !rehash {
				t.Errorf("default hasher: Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			ok, rehash, err = NewHasher(tc.p, 1).Verify(ctx, pw, tc.phc)
			if err != nil || !ok || rehash {
				t.Errorf("same-params hasher: Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
			ok, _, err = NewHasher(tc.p, 1).Verify(ctx, pw+".", tc.phc)
			if err != nil || ok {
				t.Errorf("wrong password: Verify = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func TestVerifyOldParamsNeedsRehash(t *testing.T) {
	const pw = "an old but fine password"
	ctx := context.Background()
	current := NewHasher(DefaultParams(), 1)
	d := DefaultParams()
	tests := []struct {
		name string
		old  Params
	}{
		{"m=8192,t=1", Params{Memory: 8192, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"more time", Params{Memory: d.Memory, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"two threads", Params{Memory: d.Memory, Time: d.Time, Threads: 2, SaltLen: 16, KeyLen: 32}},
		{"short salt", Params{Memory: d.Memory, Time: d.Time, Threads: 1, SaltLen: 8, KeyLen: 32}},
		{"short key", Params{Memory: d.Memory, Time: d.Time, Threads: 1, SaltLen: 16, KeyLen: 16}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			phc, err := NewHasher(tc.old, 1).Hash(ctx, pw)
			if err != nil {
				t.Fatal(err)
			}
			ok, rehash, err := current.Verify(ctx, pw, phc)
			if err != nil || !ok || !rehash {
				t.Fatalf("Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			// The upgrade a caller would do: rehash and verify again.
			fresh, err := current.Hash(ctx, pw)
			if err != nil {
				t.Fatal(err)
			}
			if ok, rehash, err := current.Verify(ctx, pw, fresh); err != nil || !ok || rehash {
				t.Fatalf("Verify(fresh) = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	const valid = "$argon2id$v=19$m=8192,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$EstMPFmPwEV1ZKsYgQUv5J+Zg0iQylaykGB5kmbPnSE"
	const salt, key = "c29tZXNhbHRzb21lc2FsdA", "EstMPFmPwEV1ZKsYgQUv5J+Zg0iQylaykGB5kmbPnSE"
	tests := []struct{ name, phc string }{
		{"empty", ""},
		{"plain text", "correct horse battery staple"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", strings.Replace(valid, "argon2id", "argon2i", 1)},
		{"argon2d", strings.Replace(valid, "argon2id", "argon2d", 1)},
		{"no leading dollar", valid[1:]},
		{"version 16", strings.Replace(valid, "v=19", "v=16", 1)},
		{"version missing", "$argon2id$m=8192,t=1,p=1$" + salt + "$" + key},
		{"params out of order", "$argon2id$v=19$t=1,m=8192,p=1$" + salt + "$" + key},
		{"param missing", "$argon2id$v=19$m=8192,t=1$" + salt + "$" + key},
		{"extra param", "$argon2id$v=19$m=8192,t=1,p=1,k=1$" + salt + "$" + key},
		{"m not a number", "$argon2id$v=19$m=lots,t=1,p=1$" + salt + "$" + key},
		{"m empty", "$argon2id$v=19$m=,t=1,p=1$" + salt + "$" + key},
		{"m leading zero", "$argon2id$v=19$m=08192,t=1,p=1$" + salt + "$" + key},
		{"m plus sign", "$argon2id$v=19$m=+8192,t=1,p=1$" + salt + "$" + key},
		{"m overflows uint32", "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key},
		{"m huge", "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key},
		{"m below 8 per lane", "$argon2id$v=19$m=15,t=1,p=2$" + salt + "$" + key},
		{"t zero", "$argon2id$v=19$m=8192,t=0,p=1$" + salt + "$" + key},
		{"t negative", "$argon2id$v=19$m=8192,t=-1,p=1$" + salt + "$" + key},
		{"t huge", "$argon2id$v=19$m=8192,t=4294967295,p=1$" + salt + "$" + key},
		{"p zero", "$argon2id$v=19$m=8192,t=1,p=0$" + salt + "$" + key},
		{"p overflows uint8", "$argon2id$v=19$m=8192,t=1,p=256$" + salt + "$" + key},
		{"salt missing", "$argon2id$v=19$m=8192,t=1,p=1$$" + key},
		{"salt not base64", "$argon2id$v=19$m=8192,t=1,p=1$!!!!!!!!!!!!$" + key},
		{"salt padded", "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "==$" + key},
		{"salt too short", "$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$" + key},
		{"salt non-canonical bits", "$argon2id$v=19$m=8192,t=1,p=1$c29tZXNhbHRzb21lc2FsdB$" + key},
		{"key missing", "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$"},
		{"key too short", "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$EstMPFmP"},
		{"key url alphabet", "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + strings.ReplaceAll(key, "+", "-")},
		{"no key field", "$argon2id$v=19$m=8192,t=1,p=1$" + salt},
		{"trailing field", valid + "$x"},
		{"trailing dollar", valid + "$"},
		{"only dollars", "$$$$$"},
	}
	h := NewHasher(DefaultParams(), 1)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), "correct horse battery staple", tc.phc)
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify(%q) err = %v, want ErrMalformedHash", tc.phc, err)
			}
			if ok || rehash {
				t.Fatalf("Verify(%q) = %v, %v with an error", tc.phc, ok, rehash)
			}
		})
	}
	// The unmodified string must pass, or every case above proves nothing.
	if ok, _, err := h.Verify(context.Background(), "correct horse battery staple", valid); err != nil || !ok {
		t.Fatalf("Verify(valid) = %v, %v", ok, err)
	}
}

func TestHashInvalidParams(t *testing.T) {
	tests := []struct {
		name string
		p    Params
	}{
		{"zero", Params{}},
		{"time zero", Params{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"threads zero", Params{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32}},
		{"memory below minimum", Params{Memory: 15, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}},
		{"memory above maximum", Params{Memory: maxMemory + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"salt too short", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32}},
		{"key too short", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8}},
		{"key too long", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: maxKeyLen + 1}},
		{"lengths huge", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 1 << 31, KeyLen: 1 << 31}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHasher(tc.p, 1)
			if phc, err := h.Hash(context.Background(), "whatever password"); err == nil {
				t.Fatalf("Hash with %+v = %q, want error", tc.p, phc)
			}
			h.VerifyDummy(context.Background(), "must not panic")
		})
	}
}

// waitSpy is a context that reports when someone starts waiting on Done,
// so a test can cancel only once a call is really blocked.
type waitSpy struct {
	context.Context
	waiting chan struct{}
	once    sync.Once
}

func (w *waitSpy) Done() <-chan struct{} {
	w.once.Do(func() { close(w.waiting) })
	return w.Context.Done()
}

func TestWaitHonoursContext(t *testing.T) {
	h := NewHasher(cheap, 1)
	phc, err := h.Hash(context.Background(), "a password here")
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Hash", func(ctx context.Context) error { _, err := h.Hash(ctx, "a password here"); return err }},
		{"Verify", func(ctx context.Context) error { _, _, err := h.Verify(ctx, "a password here", phc); return err }},
	}
	for _, c := range calls {
		t.Run(c.name+"/cancelled while waiting", func(t *testing.T) {
			h.sem <- struct{}{} // the only slot is busy
			defer func() { <-h.sem }()
			inner, cancel := context.WithCancel(context.Background())
			defer cancel()
			ctx := &waitSpy{Context: inner, waiting: make(chan struct{})}
			done := make(chan error, 1)
			go func() { done <- c.call(ctx) }()
			select {
			case <-ctx.waiting:
			case err := <-done:
				t.Fatalf("call returned %v without waiting for the busy slot", err)
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		})
		t.Run(c.name+"/proceeds when slot frees", func(t *testing.T) {
			h.sem <- struct{}{}
			done := make(chan error, 1)
			go func() { done <- c.call(context.Background()) }()
			<-h.sem // free the slot; the waiting call must now run
			if err := <-done; err != nil {
				t.Fatalf("err = %v, want nil", err)
			}
		})
		t.Run(c.name+"/already cancelled", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := c.call(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		})
	}
}

func TestConcurrencyBound(t *testing.T) {
	const slots, workers = 2, 8
	h := NewHasher(cheap, slots)
	var inFlight, maxSeen atomic.Int32
	gate := make(chan struct{})
	h.held = func() {
		n := inFlight.Add(1)
		for {
			m := maxSeen.Load()
			if n <= m || maxSeen.CompareAndSwap(m, n) {
				break
			}
		}
		<-gate
		inFlight.Add(-1)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			_, err := h.Hash(context.Background(), "flood of logins")
			errs <- err
		})
	}
	for inFlight.Load() < slots {
		time.Sleep(time.Millisecond)
	}
	// Give a broken semaphore the chance to let more in before opening the gate.
	time.Sleep(20 * time.Millisecond)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := maxSeen.Load(); got != slots {
		t.Fatalf("max in flight = %d, want %d", got, slots)
	}
}

func TestVerifyDummy(t *testing.T) {
	h := NewHasher(cheap, 1)
	var calls atomic.Int32
	h.held = func() { calls.Add(1) }
	h.VerifyDummy(context.Background(), "nobody's password")
	if calls.Load() != 1 {
		t.Fatalf("VerifyDummy ran %d hashes, want 1", calls.Load())
	}
	p, _, _, err := decode(h.dummy)
	if err != nil {
		t.Fatalf("dummy hash does not decode: %v", err)
	}
	if p != h.params {
		t.Fatalf("dummy params %+v, want the hasher's %+v so it costs the same", p, h.params)
	}
	if ok, _, err := h.Verify(context.Background(), "", h.dummy); err != nil || ok {
		t.Fatalf("Verify(dummy) = %v, %v; want false, nil", ok, err)
	}
	if NewHasher(cheap, 1).dummy == h.dummy {
		t.Fatal("two hashers share a dummy hash")
	}
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams(), 1)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
