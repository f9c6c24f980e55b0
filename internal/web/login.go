package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/codedesk/codedesk/internal/store"
)

// dummyHash is verified against when no account matches, so a wrong email
// costs as long as a wrong password and does not reveal which accounts
// exist.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("codedesk-no-such-account")
	return h
})

type loginForm struct {
	Email string
	Next  string
	Error string
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if userFrom(r.Context()) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", "Sign in", loginForm{Next: r.URL.Query().Get("next")})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.", nil)
		return
	}
	email := store.NormalizeEmail(r.PostForm.Get("email"))
	if len(email) > 254 { // RFC 5321's longest address
		email = email[:254]
	}
	pw := r.PostForm.Get("password")
	form := loginForm{Email: email, Next: r.PostForm.Get("next")}
	ip := clientIP(r, s.cfg.TrustedProxies)
	wait, err := s.limiter.blocked(ctx, email, ip, s.now())
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "The database is not answering; try again shortly.", err)
		return
	}
	if wait > 0 {
		form.Error = "Too many failed attempts. Try again in " + wait.Round(time.Minute).String() + "."
		_ = store.AddEvent(ctx, s.cfg.DB, 0, email, "sign_in_throttled", "")
		s.render(w, r, http.StatusTooManyRequests, "login", "Sign in", form)
		return
	}
	u, err := store.GetUserByEmail(ctx, s.cfg.DB, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusServiceUnavailable, "The database is not answering; try again shortly.", err)
		return
	}
	hash := dummyHash()
	if err == nil {
		hash = u.PasswordHash
	}
	ok, verr := VerifyPassword(hash, pw)
	if verr != nil {
		s.log.ErrorContext(ctx, "verifying password", "user_id", u.ID, "error", verr)
	}
	if err != nil || !ok || u.Disabled {
		if err := s.limiter.fail(ctx, email, ip, s.now()); err != nil {
			s.log.ErrorContext(ctx, "recording a failed sign-in", "error", err)
		}
		actor := email
		if err != nil {
			actor = "unknown account"
		}
		_ = store.AddEvent(ctx, s.cfg.DB, 0, actor, "sign_in_failed", "")
		s.log.InfoContext(ctx, "sign-in failed", "user_id", u.ID)
		form.Error = "The email or password is not right."
		s.render(w, r, http.StatusUnauthorized, "login", "Sign in", form)
		return
	}
	if err := s.limiter.reset(ctx, email); err != nil {
		s.log.WarnContext(ctx, "clearing failed sign-ins", "error", err)
	}
	token, err := newToken()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Could not start a session.", err)
		return
	}
	now := s.now()
	// A new token at every sign-in: a session fixed before it is useless.
	if old, err := r.Cookie(sessionCookie); err == nil {
		_ = store.DeleteSession(ctx, s.cfg.DB, hashToken(old.Value))
	}
	err = s.cfg.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := store.CreateSession(ctx, tx, store.Session{TokenHash: hashToken(token), UserID: u.ID, CreatedAt: now,
			LastSeenAt: now, ExpiresAt: now.Add(s.cfg.SessionMaxAge)}); err != nil {
			return err
		}
		if err := store.RecordLogin(ctx, tx, u.ID, now); err != nil {
			return err
		}
		return store.AddEvent(ctx, tx, 0, u.Email, "signed_in", "")
	})
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Could not start a session.", err)
		return
	}
	if n, err := store.DeleteExpiredSessions(ctx, s.cfg.DB, now, now.Add(-s.cfg.IdleTimeout)); err == nil && n > 0 {
		s.log.DebugContext(ctx, "expired sessions removed", "count", n)
	}
	s.log.InfoContext(ctx, "signed in", "user_id", u.ID)
	s.setCookie(w, r, sessionCookie, token, s.cfg.SessionMaxAge)
	http.Redirect(w, r, safeNext(form.Next), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := userFrom(ctx)
	if err := store.DeleteSession(ctx, s.cfg.DB, sessionFrom(ctx)); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "Could not sign out.", err)
		return
	}
	_ = store.AddEvent(ctx, s.cfg.DB, 0, u.Email, "signed_out", "")
	s.clearCookie(w, r, sessionCookie)
	s.setFlash(w, r, "ok", "You are signed out.")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/queue", http.StatusSeeOther)
}

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") {
		return "/queue"
	}
	return next
}

// clientIP is the address of the browser: the connection's peer, or, when
// the peer is a trusted proxy, the rightmost address in X-Forwarded-For
// that is not a trusted proxy (the leftmost entries are whatever the client
// chose to send).
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(trusted) == 0 {
		return host
	}
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	if !isTrusted(host) {
		return host
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(h); err != nil {
			break // garbage: stop at the last address we can vouch for
		}
		if !isTrusted(h) {
			return h
		}
		host = h
	}
	return host
}

// loginLimiter refuses sign-in for an account, or from an address, after
// max failures within window, until the window has passed. Failures are
// counted in the database, so every node behind a load balancer sees them.
type loginLimiter struct {
	db     *store.DB
	max    int
	window time.Duration
}

func newLoginLimiter(db *store.DB, max int, window time.Duration) *loginLimiter {
	return &loginLimiter{db: db, max: max, window: window}
}

func (l *loginLimiter) keys(email, ip string) []string {
	// An address gets more room than an account: several staff may share
	// an office's address.
	return []string{"email:" + email, "ip:" + ip}
}

// blocked returns how long sign-in stays refused (0: allowed).
func (l *loginLimiter) blocked(ctx context.Context, email, ip string, now time.Time) (time.Duration, error) {
	var wait time.Duration
	for i, k := range l.keys(email, ip) {
		limit := l.max
		if i == 1 {
			limit = l.max * 4
		}
		ts, err := store.RecentSignInFailures(ctx, l.db, k, now.Add(-l.window), limit)
		if err != nil {
			return 0, err
		}
		if len(ts) >= limit {
			wait = max(wait, l.window-now.Sub(ts[len(ts)-1]))
		}
	}
	return wait, nil
}

func (l *loginLimiter) fail(ctx context.Context, email, ip string, now time.Time) error {
	return store.AddSignInFailure(ctx, l.db, l.keys(email, ip), now, now.Add(-l.window))
}

func (l *loginLimiter) reset(ctx context.Context, email string) error {
	return store.ClearSignInFailures(ctx, l.db, "email:"+email)
}
