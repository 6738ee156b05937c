package session

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	ginsessions "github.com/gin-contrib/sessions"
	gsessions "github.com/gorilla/sessions"

	"quire/store"
)

// StateStore backs gin-contrib/sessions with the database: the browser holds
// only a random id; values (flash messages) live in the web_state table, so
// any instance can read what another wrote. The id doubles as the CSRF anchor
// of a visitor who is not signed in.
type StateStore struct {
	st      *store.Store
	opts    *gsessions.Options
	ttl     time.Duration
	now     func() time.Time
	maxSize int
}

// NewStateStore returns a gin-contrib/sessions Store over st.
func NewStateStore(st *store.Store, secure bool, now func() time.Time) *StateStore {
	if now == nil {
		now = time.Now
	}
	return &StateStore{
		st:      st,
		opts:    &gsessions.Options{Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode},
		ttl:     24 * time.Hour,
		now:     now,
		maxSize: 16 << 10,
	}
}

var _ ginsessions.Store = (*StateStore)(nil)

// Options implements ginsessions.Store.
func (s *StateStore) Options(o ginsessions.Options) { s.opts = o.ToGorillaOptions() }

// Get implements gorilla's Store, caching per request.
func (s *StateStore) Get(r *http.Request, name string) (*gsessions.Session, error) {
	return gsessions.GetRegistry(r).Get(s, name)
}

// New loads the session named by the cookie, or starts a fresh one with a new
// random id when the cookie is missing, malformed or unknown.
func (s *StateStore) New(r *http.Request, name string) (*gsessions.Session, error) {
	sess := gsessions.NewSession(s, name)
	o := *s.opts
	sess.Options = &o
	sess.IsNew = true
	if c, err := r.Cookie(name); err == nil && validStateID(c.Value) {
		sess.ID = c.Value
		data, err := s.st.StateGet(r.Context(), c.Value, s.now())
		switch {
		case err == nil:
			var vals map[string]any
			if json.Unmarshal(data, &vals) == nil {
				for k, v := range vals {
					sess.Values[k] = v
				}
			}
			sess.IsNew = false
		case errors.Is(err, store.ErrNotFound):
			// Cookie from an expired or value-less state: keep the id so the
			// CSRF anchor stays stable.
			sess.IsNew = false
		default:
			return sess, fmt.Errorf("session: load state: %w", err)
		}
		return sess, nil
	}
	id, err := newStateID()
	if err != nil {
		return sess, err
	}
	sess.ID = id
	return sess, nil
}

// Save writes the values (or removes the row when there are none) and sets
// the cookie. Only string keys are kept.
func (s *StateStore) Save(r *http.Request, w http.ResponseWriter, sess *gsessions.Session) error {
	ctx := r.Context()
	if sess.Options != nil && sess.Options.MaxAge < 0 {
		if err := s.st.StateDelete(ctx, sess.ID); err != nil {
			return fmt.Errorf("session: delete state: %w", err)
		}
		http.SetCookie(w, gsessions.NewCookie(sess.Name(), "", sess.Options))
		return nil
	}
	if sess.ID == "" {
		id, err := newStateID()
		if err != nil {
			return err
		}
		sess.ID = id
	}
	vals := make(map[string]any, len(sess.Values))
	for k, v := range sess.Values {
		if ks, ok := k.(string); ok {
			vals[ks] = v
		}
	}
	if len(vals) == 0 {
		// A brand-new visitor with nothing to keep costs no write.
		if !sess.IsNew {
			if err := s.st.StateDelete(ctx, sess.ID); err != nil {
				return fmt.Errorf("session: delete state: %w", err)
			}
		}
	} else {
		data, err := json.Marshal(vals)
		if err != nil {
			return fmt.Errorf("session: encode state: %w", err)
		}
		if len(data) > s.maxSize {
			return errors.New("session: state too large")
		}
		if err := s.st.StatePut(ctx, sess.ID, data, s.now().Add(s.ttl)); err != nil {
			return fmt.Errorf("session: save state: %w", err)
		}
	}
	if !hasCookie(r, sess.Name(), sess.ID) {
		http.SetCookie(w, gsessions.NewCookie(sess.Name(), sess.ID, sess.Options))
	}
	return nil
}

// Renew gives the visitor a new state id (at sign-in and sign-out) so a
// pre-login CSRF anchor cannot be carried over; values are kept.
func (s *StateStore) Renew(r *http.Request, w http.ResponseWriter, sess *gsessions.Session) error {
	old := sess.ID
	id, err := newStateID()
	if err != nil {
		return err
	}
	sess.ID, sess.IsNew = id, true
	if old != "" {
		if err := s.st.StateDelete(r.Context(), old); err != nil {
			return fmt.Errorf("session: renew state: %w", err)
		}
	}
	return s.Save(r, w, sess)
}

func hasCookie(r *http.Request, name, value string) bool {
	c, err := r.Cookie(name)
	return err == nil && c.Value == value
}

func newStateID() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session: state id: %w", err)
	}
	return b64.EncodeToString(b), nil
}

func validStateID(v string) bool {
	if len(v) != 24 {
		return false
	}
	b, err := b64.DecodeString(v)
	return err == nil && len(b) == 18
}
