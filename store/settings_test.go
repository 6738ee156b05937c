package store

import (
	"bytes"
	"sync"
	"testing"
)

func TestSecret(t *testing.T) {
	t.Parallel()
	forEachDSN(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		a, b := openTestStore(t, dsn), openTestStore(t, dsn)
		if err := a.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		// Two instances asking at once get the same secret.
		var (
			wg  sync.WaitGroup
			got [2][]byte
			err [2]error
		)
		for i, s := range []*Store{a, b} {
			wg.Go(func() { got[i], err[i] = s.Secret(ctx, "cookie", 32) })
		}
		wg.Wait()
		if err[0] != nil || err[1] != nil {
			t.Fatal(err)
		}
		if len(got[0]) != 32 || !bytes.Equal(got[0], got[1]) {
			t.Fatalf("instances got different secrets: %x vs %x", got[0], got[1])
		}
		if bytes.Equal(got[0], make([]byte, 32)) {
			t.Fatal("secret is all zeros")
		}
		again, e := a.Secret(ctx, "cookie", 32)
		if e != nil || !bytes.Equal(again, got[0]) {
			t.Fatalf("second call = %x, %v; want stable %x", again, e, got[0])
		}
		other, e := a.Secret(ctx, "csrf", 32)
		if e != nil || bytes.Equal(other, got[0]) {
			t.Fatalf("different names share a secret: %x, %v", other, e)
		}
		for _, size := range []int{16, 0} {
			if _, e := a.Secret(ctx, "cookie", size); e == nil {
				t.Errorf("Secret(size %d) of a 32-byte secret succeeded", size)
			}
		}
	})
}
