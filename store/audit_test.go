package store

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAuditLog(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		admin := mustUser(t, s, "admin@example.com", RoleAdmin)
		target := mustUser(t, s, "target@example.com", RoleAuthor)

		if _, err := s.AddAudit(ctx, AuditEntry{Action: AuditSuspend}); err == nil {
			t.Error("entry without an actor accepted")
		}
		if _, err := s.AddAudit(ctx, AuditEntry{ActorID: admin.ID}); err == nil {
			t.Error("entry without an action accepted")
		}

		var ids []int64
		for i := range 5 {
			e := AuditEntry{At: at(time.Duration(i) * time.Second), ActorID: admin.ID, Action: AuditPromote,
				TargetUserID: target.ID, Detail: "entry " + string(rune('a'+i))}
			if i == 4 {
				e = AuditEntry{At: at(time.Hour), ActorID: admin.ID, Action: AuditDeletePost, TargetPostID: 42,
					Detail: "gone"}
			}
			id, err := s.AddAudit(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) > 0 && id <= ids[len(ids)-1] {
				t.Fatalf("ids not increasing: %d after %d", id, ids[len(ids)-1])
			}
			ids = append(ids, id)
		}

		all, err := s.ListAudit(ctx, ListAuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 5 || all[0].ID != ids[4] || all[4].ID != ids[0] {
			t.Fatalf("ListAudit = %d entries starting %+v; want 5 newest first", len(all), all)
		}
		first := all[4]
		if first.ActorID != admin.ID || first.ActorEmail != "admin@example.com" || first.TargetEmail != "target@example.com" ||
			first.Action != AuditPromote || first.Detail != "entry a" || !first.At.Equal(at(0)) || first.TargetPostID != 0 {
			t.Errorf("oldest entry = %+v", first)
		}
		if p := all[0]; p.TargetPostID != 42 || p.TargetUserID != "" || p.TargetEmail != "" {
			t.Errorf("post entry = %+v", p)
		}

		tests := []struct {
			name string
			q    ListAuditQuery
			want []int64
		}{
			{"page 1", ListAuditQuery{Limit: 2}, []int64{ids[4], ids[3]}},
			{"page 2", ListAuditQuery{Limit: 2, Before: ids[3]}, []int64{ids[2], ids[1]}},
			{"last page", ListAuditQuery{Limit: 2, Before: ids[1]}, []int64{ids[0]}},
			{"by target", ListAuditQuery{TargetUserID: target.ID, Limit: 3}, []int64{ids[3], ids[2], ids[1]}},
			{"by other target", ListAuditQuery{TargetUserID: admin.ID}, nil},
		}
		for _, tt := range tests {
			got, err := s.ListAudit(ctx, tt.q)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			var gotIDs []int64
			for _, e := range got {
				gotIDs = append(gotIDs, e.ID)
			}
			if !equalIDs(gotIDs, tt.want) {
				t.Errorf("%s: ids %v, want %v", tt.name, gotIDs, tt.want)
			}
		}

		// Entries outlive the users they name.
		if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM users WHERE id = ?`), target.ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.ListAudit(ctx, ListAuditQuery{TargetUserID: target.ID})
		if err != nil || len(got) != 4 || got[0].TargetEmail != "" || got[0].TargetUserID != target.ID {
			t.Errorf("after deleting the target: %+v, %v", got, err)
		}
	})
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestChangeUser(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		admin := mustUser(t, s, "admin@example.com", RoleAdmin)
		author := mustUser(t, s, "author@example.com", RoleAuthor)
		audits := func() int {
			t.Helper()
			es, err := s.ListAudit(ctx, ListAuditQuery{Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			return len(es)
		}

		// Refusals change nothing and log nothing.
		refusals := []struct {
			name          string
			actor, target string
			ch            UserChange
			want          error
		}{
			{"author acts", author.ID, admin.ID, UserChange{Status: StatusSuspended}, ErrForbidden},
			{"unknown actor", "ghost", author.ID, UserChange{Role: RoleAdmin}, ErrForbidden},
			{"unknown target", admin.ID, "ghost", UserChange{Status: StatusSuspended}, ErrNotFound},
			{"last admin demotes self", admin.ID, admin.ID, UserChange{Role: RoleAuthor}, ErrLastAdmin},
			{"last admin suspends self", admin.ID, admin.ID, UserChange{Status: StatusSuspended}, ErrLastAdmin},
		}
		for _, tt := range refusals {
			if _, err := s.ChangeUser(ctx, tt.actor, tt.target, tt.ch, AuditEntry{Action: "x"}, at(0)); !errors.Is(err, tt.want) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
			}
		}
		if n := audits(); n != 0 {
			t.Errorf("refusals wrote %d audit entries", n)
		}
		if u, _ := s.UserByID(ctx, admin.ID); u.Role != RoleAdmin || u.Status != StatusActive {
			t.Fatalf("admin changed by a refusal: %+v", u)
		}

		// Suspend, unsuspend, promote, demote: each applied and logged.
		steps := []struct {
			action     string
			ch         UserChange
			role, stat string
		}{
			{AuditSuspend, UserChange{Status: StatusSuspended}, RoleAuthor, StatusSuspended},
			{AuditUnsuspend, UserChange{Status: StatusActive}, RoleAuthor, StatusActive},
			{AuditPromote, UserChange{Role: RoleAdmin}, RoleAdmin, StatusActive},
		}
		for i, st := range steps {
			now := at(time.Duration(i+1) * time.Minute)
			u, err := s.ChangeUser(ctx, admin.ID, author.ID, st.ch, AuditEntry{Action: st.action, Detail: "d"}, now)
			if err != nil {
				t.Fatalf("%s: %v", st.action, err)
			}
			stored, _ := s.UserByID(ctx, author.ID)
			if u.Role != st.role || u.Status != st.stat || stored != u || !stored.UpdatedAt.Equal(now) {
				t.Errorf("%s: returned %+v stored %+v", st.action, u, stored)
			}
			es, _ := s.ListAudit(ctx, ListAuditQuery{Limit: 1})
			if len(es) != 1 || es[0].Action != st.action || es[0].ActorID != admin.ID || es[0].TargetUserID != author.ID ||
				!es[0].At.Equal(now) || es[0].Detail != "d" {
				t.Errorf("%s: audit %+v", st.action, es)
			}
		}
		// With a second admin the first may step down; then the second is
		// the last and may not.
		if _, err := s.ChangeUser(ctx, admin.ID, admin.ID, UserChange{Role: RoleAuthor}, AuditEntry{Action: AuditDemote}, at(time.Hour)); err != nil {
			t.Fatalf("demote self with another admin: %v", err)
		}
		if _, err := s.ChangeUser(ctx, author.ID, author.ID, UserChange{Role: RoleAuthor}, AuditEntry{Action: AuditDemote}, at(time.Hour)); !errors.Is(err, ErrLastAdmin) {
			t.Errorf("new last admin demotes self: %v, want ErrLastAdmin", err)
		}
		// A suspended admin does not count and cannot act.
		third := mustUser(t, s, "third@example.com", RoleAdmin)
		if _, err := s.ChangeUser(ctx, author.ID, third.ID, UserChange{Status: StatusSuspended}, AuditEntry{Action: AuditSuspend}, at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ChangeUser(ctx, third.ID, author.ID, UserChange{Role: RoleAuthor}, AuditEntry{Action: AuditDemote}, at(time.Hour)); !errors.Is(err, ErrForbidden) {
			t.Errorf("suspended admin acted: %v, want ErrForbidden", err)
		}
		if _, err := s.ChangeUser(ctx, author.ID, author.ID, UserChange{Status: StatusSuspended}, AuditEntry{Action: AuditSuspend}, at(time.Hour)); !errors.Is(err, ErrLastAdmin) {
			t.Errorf("only active admin suspends self: %v, want ErrLastAdmin", err)
		}
		if n, err := s.CountAdmins(ctx); err != nil || n != 1 {
			t.Errorf("CountAdmins = %d, %v; want 1", n, err)
		}
	})
}

// Two admins demoting each other at the same moment: exactly one wins, and
// the site keeps an admin.
func TestChangeUserLastAdminRace(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		for round := range 5 {
			a := mustUser(t, s, "a"+string(rune('0'+round))+"@example.com", RoleAdmin)
			b := mustUser(t, s, "b"+string(rune('0'+round))+"@example.com", RoleAdmin)
			// Only these two are admins this round.
			if round > 0 {
				if _, err := s.w.ExecContext(t.Context(), s.q(`UPDATE users SET role = ? WHERE id <> ? AND id <> ?`),
					RoleAuthor, a.ID, b.ID); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, pair := range [][2]string{{a.ID, b.ID}, {b.ID, a.ID}} {
				wg.Go(func() {
					_, errs[i] = s.ChangeUser(t.Context(), pair[0], pair[1], UserChange{Role: RoleAuthor},
						AuditEntry{Action: AuditDemote}, at(0))
				})
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrForbidden), errors.Is(err, ErrLastAdmin):
				default:
					t.Fatalf("round %d: unexpected error %v", round, err)
				}
			}
			n, err := s.CountAdmins(t.Context())
			if ok != 1 || err != nil || n != 1 {
				t.Fatalf("round %d: %d demotions succeeded (%v), %d admins left (%v); want 1 and 1", round, ok, errs, n, err)
			}
		}
	})
}

func TestAdminDeletePost(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		admin := mustUser(t, s, "admin@example.com", RoleAdmin)
		author := mustUser(t, s, "author@example.com", RoleAuthor)
		other := mustUser(t, s, "other@example.com", RoleAuthor)
		p, err := s.CreatePost(ctx, author.ID, PostInput{Title: "Hello", Content: "x", ContentHTML: "<p>x</p>"}, at(0))
		if err != nil {
			t.Fatal(err)
		}

		for _, actor := range []string{other.ID, author.ID, "ghost"} {
			if _, err := s.AdminDeletePost(ctx, actor, p.ID, at(time.Minute)); !errors.Is(err, ErrForbidden) {
				t.Errorf("non-admin %s: err = %v, want ErrForbidden", actor, err)
			}
		}
		if _, err := s.PostByID(ctx, p.ID); err != nil {
			t.Fatalf("post gone after refused deletes: %v", err)
		}
		if _, err := s.AdminDeletePost(ctx, admin.ID, p.ID+1000, at(time.Minute)); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown post: %v, want ErrNotFound", err)
		}
		if es, _ := s.ListAudit(ctx, ListAuditQuery{}); len(es) != 0 {
			t.Errorf("refusals logged: %+v", es)
		}

		got, err := s.AdminDeletePost(ctx, admin.ID, p.ID, at(time.Minute))
		if err != nil || got.ID != p.ID || got.Title != "Hello" {
			t.Fatalf("AdminDeletePost = %+v, %v", got, err)
		}
		if _, err := s.PostByID(ctx, p.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("post still there: %v", err)
		}
		es, err := s.ListAudit(ctx, ListAuditQuery{})
		if err != nil || len(es) != 1 {
			t.Fatalf("audit = %+v, %v", es, err)
		}
		e := es[0]
		if e.Action != AuditDeletePost || e.ActorID != admin.ID || e.TargetUserID != author.ID || e.TargetPostID != p.ID ||
			!strings.Contains(e.Detail, "Hello") || !strings.Contains(e.Detail, author.FirstName) || !e.At.Equal(at(time.Minute)) {
			t.Errorf("audit entry = %+v", e)
		}
	})
}
