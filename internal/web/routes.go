package web

import (
	"net/http"
)

// Access is who may use a route.
type Access int

// Access levels.
const (
	Public   Access = iota // anyone, signed in or not
	Reviewer               // any signed-in account
	Admin                  // signed-in admins only
)

func (a Access) String() string {
	switch a {
	case Public:
		return "public"
	case Reviewer:
		return "reviewer"
	case Admin:
		return "admin"
	}
	return "unknown"
}

// Route is one registered route of the desk.
type Route struct {
	Method  string // GET or POST; "" for any method (a mounted handler)
	Pattern string // net/http ServeMux path pattern
	Access  Access
	Handler http.HandlerFunc
}

// Routes is the desk's route table: every route, in one place, with the
// access it requires. The access test walks it.
func (s *Server) Routes() []Route {
	rs := []Route{
		{"GET", "/login", Public, s.loginForm},
		{"POST", "/login", Public, s.login},
		{"GET", "/static/{file}", Public, s.staticFile},
		{"POST", "/logout", Reviewer, s.logout},
		{"GET", "/{$}", Reviewer, s.home},
		{"GET", "/queue", Reviewer, s.queuePage},
		{"GET", "/cases/{id}", Reviewer, s.casePage},
		{"GET", "/cases/{id}/messages/{mid}/html", Reviewer, s.messageHTML},
		{"GET", "/cases/{id}/messages/{mid}/raw", Reviewer, s.messageRaw},
		{"GET", "/cases/{id}/messages/{mid}/attachments/{part}", Reviewer, s.attachment},
		{"GET", "/cases/{id}/drafts/{did}/preview", Reviewer, s.draftPreview},
		{"POST", "/cases/{id}/draft", Reviewer, s.saveDraft},
		{"POST", "/cases/{id}/approve", Reviewer, s.approve},
		{"POST", "/cases/{id}/reject", Reviewer, s.reject},
		{"POST", "/cases/{id}/reanalyse", Reviewer, s.reanalyse},
		{"POST", "/cases/{id}/notes", Reviewer, s.addNote},
		{"POST", "/cases/{id}/assign", Reviewer, s.assign},
		{"GET", "/admin/audit", Admin, s.auditPage},
		{"GET", "/admin/users", Admin, s.usersPage},
	}
	if s.cfg.Jobs != nil {
		rs = append(rs, Route{"", "/admin/jobs/", Admin, s.cfg.Jobs.ServeHTTP})
	}
	return rs
}

// buildHandler mounts every route behind its access check, then wraps the
// mux in the session loader, cross-origin protection and security headers.
func (s *Server) buildHandler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		pattern := rt.Pattern
		if rt.Method != "" {
			pattern = rt.Method + " " + pattern
		}
		mux.Handle(pattern, s.require(rt.Access, rt.Handler))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if userFrom(r.Context()) == nil {
			s.toLogin(w, r)
			return
		}
		s.fail(w, r, http.StatusNotFound, "There is no such page.", nil)
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.WarnContext(r.Context(), "cross-origin request refused", "method", r.Method, "path", r.URL.Path)
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	return securityHeaders(cop.Handler(s.sessions(mux)))
}
