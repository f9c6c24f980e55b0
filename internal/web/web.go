// Package web is codedesk's staff desk: server-rendered pages (html/template,
// embedded from templates/web, parsed at start-up) to sign in, work the
// review queue, read a case with its evidence, edit and approve the draft,
// and read the audit trail. There is no JavaScript on the desk's own pages.
//
// Every route is declared once in routes.go with the access it needs
// (public, reviewer, admin); the access test walks that table. Sessions are
// random tokens in an HttpOnly, SameSite=Strict cookie whose SHA-256 is
// stored; state-changing requests also pass net/http's
// CrossOriginProtection; every response carries a Content Security Policy
// that forbids scripts and remote loads. HTML mail is sanitised with
// bluemonday and shown in a sandboxed frame with a CSP of its own.
//
// The package does not import the queue: it declares the Actions it needs
// and cmd/codedesk wires queue.Queue in.
package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/templates"
)

// Actions are the desk actions that move a case and enqueue its next job in
// one transaction (implemented by queue.Queue).
type Actions interface {
	SaveDraft(ctx context.Context, draftID int64, reviewer, text string) error
	ApproveText(ctx context.Context, draftID int64, reviewer, text string) error
	Reject(ctx context.Context, draftID int64, reviewer, reason string) error
	Reanalyse(ctx context.Context, caseID int64, actor string) error
}

// Config configures the desk.
type Config struct {
	DB      *store.DB
	Actions Actions
	// Jobs, when set, is River's UI, served to admins under /admin/jobs/.
	Jobs   http.Handler
	Logger *slog.Logger
	// FirstResponseTarget colours a case's age in the queue: green below
	// half of it, amber below it, red above it (default 4h).
	FirstResponseTarget time.Duration
	// IdleTimeout ends a session after this long without a request
	// (default 30m); SessionMaxAge ends it regardless (default 12h).
	IdleTimeout   time.Duration
	SessionMaxAge time.Duration
	// SecureCookies marks cookies Secure even on plain HTTP (for a desk
	// behind a TLS-terminating proxy). Cookies on a TLS connection are
	// always Secure.
	SecureCookies bool
	// TrustedProxies are the load balancers whose X-Forwarded-For header
	// names the client (nil: the header is ignored).
	TrustedProxies []netip.Prefix
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Server is the staff desk.
type Server struct {
	cfg     Config
	log     *slog.Logger
	pages   map[string]*template.Template
	static  fs.FS
	handler http.Handler
	limiter *loginLimiter
}

// New parses the templates and builds the desk's handler.
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil || cfg.Actions == nil {
		return nil, errors.New("web: DB and Actions are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.FirstResponseTarget <= 0 {
		cfg.FirstResponseTarget = 4 * time.Hour
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.SessionMaxAge <= 0 {
		cfg.SessionMaxAge = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger, limiter: newLoginLimiter(cfg.DB, 5, 15*time.Minute)}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(templates.FS, "web/static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	s.static = static
	s.handler = s.buildHandler()
	return s, nil
}

// Handler returns the desk's HTTP handler (all routes of Routes).
func (s *Server) Handler() http.Handler { return s.handler }

// pageFiles maps each page to its template file under templates/web; each
// is parsed together with layout.html.
var pageFiles = map[string]string{
	"login":   "login.html",
	"queue":   "queue.html",
	"case":    "case.html",
	"audit":   "audit.html",
	"users":   "users.html",
	"error":   "error.html",
	"expired": "expired.html",
}

func (s *Server) parseTemplates() error {
	s.pages = map[string]*template.Template{}
	declared := map[string]bool{"layout.html": true, "frame.html": true}
	for name, file := range pageFiles {
		declared[file] = true
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templates.FS, "web/layout.html", "web/"+file)
		if err != nil {
			return fmt.Errorf("web: parsing %s: %w", file, err)
		}
		s.pages[name] = t
	}
	t, err := template.New("frame.html").Funcs(funcs).ParseFS(templates.FS, "web/frame.html")
	if err != nil {
		return fmt.Errorf("web: parsing frame.html: %w", err)
	}
	s.pages["frame"] = t
	// Fail fast on a template file nobody declared (a typo'd page).
	entries, err := fs.ReadDir(templates.FS, "web")
	if err != nil {
		return fmt.Errorf("web: reading templates: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".html") && !declared[e.Name()] {
			return fmt.Errorf("web: template %s is not declared in pageFiles", e.Name())
		}
	}
	return nil
}

// page is what every page template gets.
type page struct {
	Title   string
	User    *store.User
	Flash   *flash
	Active  string // nav item
	Data    any
	Request *http.Request
}

// render writes a page with status code.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name, title string, data any) {
	t := s.pages[name]
	p := page{Title: title, User: userFrom(r.Context()), Flash: s.takeFlash(w, r), Data: data, Request: r, Active: name}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.log.ErrorContext(r.Context(), "rendering page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(buf.String()))
}

// fail shows an error page; internal errors are logged and not detailed.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, msg string, err error) {
	if err != nil {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	s.render(w, r, code, "error", http.StatusText(code), map[string]any{"Code": code, "Message": msg})
}

func (s *Server) now() time.Time { return s.cfg.Now() }
