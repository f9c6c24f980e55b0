package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/codedesk/codedesk/internal/store"
)

// Limits on what staff submit.
const (
	maxFormBytes   = 512 << 10
	maxNoteBytes   = 16 << 10
	maxReasonBytes = 2 << 10
)

// actionForm parses a POST form on a case and loads the case; it answers the
// request itself when it cannot.
func (s *Server) actionForm(w http.ResponseWriter, r *http.Request) (store.Case, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusRequestEntityTooLarge, "The form is too large or could not be read.", nil)
		return store.Case{}, false
	}
	return s.loadCase(w, r)
}

// pendingDraft reads the draft_id the page was showing; an action on a
// draft that is no longer the case's newest is refused, so nobody approves
// text they did not see.
func (s *Server) pendingDraft(w http.ResponseWriter, r *http.Request, c store.Case) (int64, bool) {
	did, err := strconv.ParseInt(r.PostForm.Get("draft_id"), 10, 64)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form names no draft.", nil)
		return 0, false
	}
	d, err := store.LatestDraft(r.Context(), s.cfg.DB, c.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusServiceUnavailable, "The draft could not be read.", err)
		return 0, false
	}
	if err != nil || d.ID != did || d.Status != store.DraftPending {
		s.backToCase(w, r, c.ID, "warn", "The draft changed while you were reading it (someone else acted, or a newer draft arrived). Check the case again.")
		return 0, false
	}
	return did, true
}

func (s *Server) backToCase(w http.ResponseWriter, r *http.Request, id int64, kind, text string) {
	if text != "" {
		s.setFlash(w, r, kind, text)
	}
	http.Redirect(w, r, fmt.Sprintf("/cases/%d", id), http.StatusSeeOther)
}

// actionFailed reports a failed desk action on the case page.
func (s *Server) actionFailed(w http.ResponseWriter, r *http.Request, id int64, what string, err error) {
	s.log.WarnContext(r.Context(), "desk action failed", "action", what, "case_id", id, "error", err)
	s.backToCase(w, r, id, "error", fmt.Sprintf("Could not %s: %v", what, err))
}

func (s *Server) saveDraft(w http.ResponseWriter, r *http.Request) {
	c, ok := s.actionForm(w, r)
	if !ok {
		return
	}
	did, ok := s.pendingDraft(w, r, c)
	if !ok {
		return
	}
	if err := s.cfg.Actions.SaveDraft(r.Context(), did, userFrom(r.Context()).Email, r.PostForm.Get("body")); err != nil {
		s.actionFailed(w, r, c.ID, "save the draft", err)
		return
	}
	s.backToCase(w, r, c.ID, "ok", "Draft saved. The preview shows the reply as it will be sent.")
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request) {
	c, ok := s.actionForm(w, r)
	if !ok {
		return
	}
	did, ok := s.pendingDraft(w, r, c)
	if !ok {
		return
	}
	if err := s.cfg.Actions.ApproveText(r.Context(), did, userFrom(r.Context()).Email, r.PostForm.Get("body")); err != nil {
		s.actionFailed(w, r, c.ID, "approve", err)
		return
	}
	s.log.InfoContext(r.Context(), "draft approved", "case_id", c.ID, "draft_id", did, "user_id", userFrom(r.Context()).ID)
	s.setFlash(w, r, "ok", fmt.Sprintf("Case #%d approved; the reply is being sent.", c.ID))
	http.Redirect(w, r, "/queue", http.StatusSeeOther)
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request) {
	c, ok := s.actionForm(w, r)
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	if reason == "" || len(reason) > maxReasonBytes {
		s.backToCase(w, r, c.ID, "error", fmt.Sprintf("Say why the draft is rejected (at most %d characters).", maxReasonBytes))
		return
	}
	did, ok := s.pendingDraft(w, r, c)
	if !ok {
		return
	}
	if err := s.cfg.Actions.Reject(r.Context(), did, userFrom(r.Context()).Email, reason); err != nil {
		s.actionFailed(w, r, c.ID, "reject", err)
		return
	}
	s.setFlash(w, r, "ok", fmt.Sprintf("Case #%d rejected; nothing was sent.", c.ID))
	http.Redirect(w, r, "/queue", http.StatusSeeOther)
}

func (s *Server) reanalyse(w http.ResponseWriter, r *http.Request) {
	c, ok := s.actionForm(w, r)
	if !ok {
		return
	}
	if err := s.cfg.Actions.Reanalyse(r.Context(), c.ID, userFrom(r.Context()).Email); err != nil {
		s.actionFailed(w, r, c.ID, "re-run the analysis", err)
		return
	}
	s.backToCase(w, r, c.ID, "ok", "The analysis is running again; a new draft replaces the old one in a moment.")
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request) {
	c, ok := s.actionForm(w, r)
	if !ok {
		return
	}
	body := strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("note"), "\r\n", "\n"))
	if body == "" || len(body) > maxNoteBytes {
		s.backToCase(w, r, c.ID, "error", fmt.Sprintf("A note needs text (at most %d KiB).", maxNoteBytes>>10))
		return
	}
	u := userFrom(r.Context())
	err := s.cfg.DB.WithTx(r.Context(), func(tx *store.Tx) error {
		id, err := store.AddNote(r.Context(), tx, &store.Note{CaseID: c.ID, Author: u.Email, Body: body})
		if err != nil {
			return err
		}
		return store.AddEvent(r.Context(), tx, c.ID, u.Email, "noted", fmt.Sprintf("note_id=%d", id))
	})
	if err != nil {
		s.actionFailed(w, r, c.ID, "add the note", err)
		return
	}
	s.backToCase(w, r, c.ID, "ok", "Note added.")
}

// assign claims a case (assignee "me"), hands it to another account, or
// releases it (assignee "").
func (s *Server) assign(w http.ResponseWriter, r *http.Request) {
	c, ok := s.actionForm(w, r)
	if !ok {
		return
	}
	u := userFrom(r.Context())
	to := strings.TrimSpace(r.PostForm.Get("assignee"))
	if to == "me" {
		to = u.Email
	}
	if to != "" {
		target, err := store.GetUserByEmail(r.Context(), s.cfg.DB, to)
		if err != nil || target.Disabled {
			s.backToCase(w, r, c.ID, "error", "There is no active account with that email.")
			return
		}
		to = target.Email
	}
	// A claim from the queue only takes a case nobody has: of two
	// reviewers clicking at once, the second is told, not overruled.
	claim := r.PostForm.Get("return") == "queue" && to == u.Email
	taken := false
	err := s.cfg.DB.WithTx(r.Context(), func(tx *store.Tx) error {
		if claim {
			ok, err := store.ClaimCase(r.Context(), tx, c.ID, to)
			if err != nil {
				return err
			}
			if !ok {
				taken = true
				return nil
			}
		} else if _, err := store.AssignCase(r.Context(), tx, c.ID, to); err != nil {
			return err
		}
		action, detail := "assigned", "to="+to
		if to == "" {
			action, detail = "unassigned", "from="+c.Assignee
		}
		return store.AddEvent(r.Context(), tx, c.ID, u.Email, action, detail)
	})
	if err == nil && taken {
		cur, _ := store.GetCase(r.Context(), s.cfg.DB, c.ID)
		s.setFlash(w, r, "warn", fmt.Sprintf("Case #%d was claimed by %s first.", c.ID, cur.Assignee))
		http.Redirect(w, r, "/queue", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.actionFailed(w, r, c.ID, "assign the case", err)
		return
	}
	msg := "Case released."
	switch to {
	case "":
	case u.Email:
		msg = "You have claimed this case."
	default:
		msg = "Case assigned to " + to + "."
	}
	if r.PostForm.Get("return") == "queue" {
		s.setFlash(w, r, "ok", fmt.Sprintf("Case #%d: %s", c.ID, msg))
		http.Redirect(w, r, "/queue", http.StatusSeeOther)
		return
	}
	s.backToCase(w, r, c.ID, "ok", msg)
}
