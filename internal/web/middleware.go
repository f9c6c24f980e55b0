package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/store"
)

// Content Security Policies. The desk's pages run no script at all and load
// nothing from elsewhere; frames may only show the desk's own sandboxed
// message views. River's UI is a single-page app and needs its own scripts.
const (
	cspDesk = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	// cspFrame is for sanitised mail and reply previews inside a sandboxed
	// iframe: no script, no remote images or styles, no forms.
	cspFrame = "default-src 'none'; style-src 'self'; img-src data:; font-src 'none'; " +
		"form-action 'none'; frame-ancestors 'self'; base-uri 'none'; sandbox allow-popups allow-popups-to-escape-sandbox"
	cspJobs = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'"
)

// securityHeaders sets the headers every response carries; handlers that
// serve framed content replace the CSP.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if strings.HasPrefix(r.URL.Path, "/admin/jobs/") {
			h.Set("Content-Security-Policy", cspJobs)
		} else {
			h.Set("Content-Security-Policy", cspDesk)
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		// Patient details must not linger in shared caches or the back
		// button of a signed-out browser.
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

const sessionCookie = "codedesk_session"

type ctxKey int

const (
	userKey ctxKey = iota
	sessionKey
)

func userFrom(ctx context.Context) *store.User {
	u, _ := ctx.Value(userKey).(*store.User)
	return u
}

func sessionFrom(ctx context.Context) string {
	s, _ := ctx.Value(sessionKey).(string)
	return s
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// sessions loads the signed-in account from the session cookie. A session
// past its idle timeout or absolute end, or of a disabled account, is
// removed and the request continues signed out.
func (s *Server) sessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" || len(c.Value) > 100 {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		th := hashToken(c.Value)
		sess, u, err := store.SessionUser(ctx, s.cfg.DB, th)
		now := s.now()
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.clearCookie(w, r, sessionCookie)
			next.ServeHTTP(w, r)
			return
		case err != nil:
			s.fail(w, r, http.StatusServiceUnavailable, "The database is not answering; try again shortly.", err)
			return
		}
		if u.Disabled || now.After(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) > s.cfg.IdleTimeout {
			if err := store.DeleteSession(ctx, s.cfg.DB, th); err != nil {
				s.log.WarnContext(ctx, "removing expired session", "user_id", u.ID, "error", err)
			}
			s.clearCookie(w, r, sessionCookie)
			if r.Method == http.MethodGet {
				s.setFlash(w, r, "warn", "Your session ended after a period of inactivity; please sign in again.")
			}
			next.ServeHTTP(w, r)
			return
		}
		// Record activity at most once a minute to spare the writer.
		if now.Sub(sess.LastSeenAt) > time.Minute {
			if err := store.TouchSession(ctx, s.cfg.DB, th, now); err != nil {
				s.log.WarnContext(ctx, "touching session", "user_id", u.ID, "error", err)
			}
		}
		ctx = context.WithValue(ctx, userKey, &u)
		ctx = context.WithValue(ctx, sessionKey, th)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// require refuses a request without the access a route needs: signed-out
// page views go to the sign-in page (and come back after), other signed-out
// requests get 401, and a reviewer asking for an admin page gets 403.
func (s *Server) require(a Access, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a == Public {
			h(w, r)
			return
		}
		u := userFrom(r.Context())
		if u == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				s.toLogin(w, r)
				return
			}
			s.signedOutPost(w, r)
			return
		}
		if a == Admin && u.Role != store.RoleAdmin {
			s.fail(w, r, http.StatusForbidden, "This page is for administrators.", nil)
			return
		}
		h(w, r)
	})
}

func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.URL.Path != "/" && r.URL.Path != "/login" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// secure tells whether cookies must be marked Secure.
func (s *Server) secure(r *http.Request) bool {
	return s.cfg.SecureCookies || r.TLS != nil
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
}

func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// flash is a one-time notice shown on the next page.
type flash struct {
	Kind string // ok, warn, error
	Text string
}

const flashCookie = "codedesk_flash"

func (s *Server) setFlash(w http.ResponseWriter, r *http.Request, kind, text string) {
	if len(text) > 600 {
		text = text[:600]
	}
	s.setCookie(w, r, flashCookie, kind+":"+base64.RawURLEncoding.EncodeToString([]byte(text)), time.Minute)
}

func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	s.clearCookie(w, r, flashCookie)
	kind, enc, ok := strings.Cut(c.Value, ":")
	if !ok {
		return nil
	}
	text, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return nil
	}
	switch kind {
	case "ok", "warn", "error":
	default:
		return nil
	}
	return &flash{Kind: kind, Text: string(text)}
}

// keptText is text a signed-out POST carried, shown back so nothing typed
// is lost.
type keptText struct {
	Name, Label, Text string
}

// signedOutPost answers a state-changing request whose session has ended:
// 401, and when the form carried text a reviewer typed (a reply, a note, a
// reason), a page that gives it back to copy, with a sign-in link that
// returns to the case.
func (s *Server) signedOutPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	_ = r.ParseForm()
	var kept []keptText
	for _, f := range []struct{ name, label string }{{"body", "reply"}, {"note", "note"}, {"reason", "reason for rejecting"}} {
		if v := strings.TrimSpace(r.PostForm.Get(f.name)); v != "" {
			kept = append(kept, keptText{Name: f.name, Label: f.label, Text: r.PostForm.Get(f.name)})
		}
	}
	if len(kept) == 0 {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	login := "/login"
	if parts := strings.Split(r.URL.Path, "/"); len(parts) > 2 && parts[1] == "cases" {
		login += "?next=" + url.QueryEscape("/cases/"+parts[2])
	}
	s.render(w, r, http.StatusUnauthorized, "expired", "Signed out", map[string]any{"Texts": kept, "Login": login})
}
