package store

import (
	"database/sql"
	"testing"
	"time"
)

func TestRebind(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"x LIKE ? ESCAPE '\\' OR y = ?", "x LIKE $1 ESCAPE '\\' OR y = $2"},
		{"s = '?' AND t = ?", "s = '?' AND t = $1"},
		{`"we?ird" = ? AND 'it''s?' = ?`, `"we?ird" = $1 AND 'it''s?' = $2`},
		{"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
	}
	for _, tt := range tests {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	pg := &Store{dialect: DialectPostgres}
	if got := pg.q("a = ?"); got != "a = $1" || pg.q("a = ?") != got {
		t.Errorf("postgres q = %q", got)
	}
	if _, ok := pg.rebound.Load("a = ?"); !ok {
		t.Error("rebound statement not cached")
	}
	lite := &Store{dialect: DialectSQLite}
	if got := lite.q("a = ?"); got != "a = ?" {
		t.Errorf("sqlite q = %q", got)
	}
}

func TestMillis(t *testing.T) {
	t.Parallel()
	local := time.FixedZone("X", 5*3600)
	tests := []struct {
		in   time.Time
		want any
	}{
		{time.Time{}, nil},
		{time.UnixMilli(0).UTC(), int64(0)},
		{time.Date(2025, 1, 2, 3, 4, 5, 678_999_999, local), time.Date(2025, 1, 2, 3, 4, 5, 678_999_999, local).UnixMilli()},
	}
	for _, tt := range tests {
		got := ms(tt.in)
		if got != tt.want {
			t.Errorf("ms(%v) = %v, want %v", tt.in, got, tt.want)
		}
		var v sql.NullInt64
		if got != nil {
			v = sql.NullInt64{Int64: got.(int64), Valid: true}
		}
		back := fromMS(v)
		if !back.Equal(tt.in.Truncate(time.Millisecond)) || (!back.IsZero() && back.Location() != time.UTC) {
			t.Errorf("fromMS(ms(%v)) = %v", tt.in, back)
		}
	}
}
