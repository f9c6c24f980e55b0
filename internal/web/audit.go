package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/codedesk/codedesk/internal/store"
)

type auditView struct {
	Events  []store.Event
	Actor   string
	Action  string
	CaseID  string
	NextURL string
}

// auditPage is the admin view of the whole audit trail, newest first.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	v := auditView{Actor: qs.Get("actor"), Action: qs.Get("action"), CaseID: qs.Get("case")}
	f := store.EventFilter{Actor: v.Actor, Action: v.Action, Limit: 100}
	if id, err := strconv.ParseInt(v.CaseID, 10, 64); err == nil {
		f.CaseID = id
	}
	if b, err := strconv.ParseInt(qs.Get("before"), 10, 64); err == nil {
		f.Before = b
	}
	evs, more, err := store.ListEvents(r.Context(), s.cfg.DB, f)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "The audit trail could not be read.", err)
		return
	}
	v.Events = evs
	if more && len(evs) > 0 {
		q := url.Values{}
		for k, val := range map[string]string{"actor": v.Actor, "action": v.Action, "case": v.CaseID} {
			if val != "" {
				q.Set(k, val)
			}
		}
		q.Set("before", strconv.FormatInt(evs[len(evs)-1].ID, 10))
		v.NextURL = "/admin/audit?" + q.Encode()
	}
	s.render(w, r, http.StatusOK, "audit", "Audit trail", v)
}

// usersPage lists the staff accounts (they are managed with "codedesk
// users").
func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) {
	users, err := store.ListUsers(r.Context(), s.cfg.DB)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "The accounts could not be read.", err)
		return
	}
	s.render(w, r, http.StatusOK, "users", "Accounts", users)
}

// staticFile serves the desk's stylesheet.
func (s *Server) staticFile(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeFileFS(w, r, s.static, r.PathValue("file"))
}
