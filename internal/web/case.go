package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/codedesk/codedesk/internal/analysis"
	"github.com/codedesk/codedesk/internal/mailparse"
	"github.com/codedesk/codedesk/internal/store"
)

// parseOptions bound what the desk reads of a stored message.
var parseOptions = mailparse.Options{MaxSize: 25 << 20}

type messageView struct {
	store.Message
	Inbound     bool
	HasHTML     bool
	HTMLDoc     string // sanitised, for the sandboxed frame's srcdoc
	Attachments []mailparse.Attachment
	Problems    []string
}

type caseView struct {
	Case         store.Case
	Messages     []messageView
	Analysis     *analysis.Result
	AnalysisAt   *time.Time
	Draft        *store.Draft
	Editable     bool
	DraftText    string
	PreviewDoc   string
	Revisions    []store.DraftRevision
	Notes        []store.Note
	Events       []store.Event
	Users        []store.User
	Age          string
	AgeClass     string
	AgeTitle     string
	CanReanalyse bool
}

// caseID reads the {id} path value.
func caseID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// loadCase reads {id} and loads the case, answering 404 itself when there is
// none.
func (s *Server) loadCase(w http.ResponseWriter, r *http.Request) (store.Case, bool) {
	id, ok := caseID(r)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "There is no such case.", nil)
		return store.Case{}, false
	}
	c, err := store.GetCase(r.Context(), s.cfg.DB, id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("There is no case #%d.", id), nil)
		return c, false
	}
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "The case could not be read.", err)
		return c, false
	}
	return c, true
}

func (s *Server) casePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := userFrom(ctx)
	c, ok := s.loadCase(w, r)
	if !ok {
		return
	}
	// Reading a case is recorded: who saw which patient details, when.
	if err := store.AddEvent(ctx, s.cfg.DB, c.ID, u.Email, "viewed", ""); err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "The case could not be opened.", err)
		return
	}
	v, err := s.buildCaseView(ctx, c)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "The case could not be read.", err)
		return
	}
	s.render(w, r, http.StatusOK, "case", fmt.Sprintf("Case #%d", c.ID), v)
}

func (s *Server) buildCaseView(ctx context.Context, c store.Case) (*caseView, error) {
	v := &caseView{Case: c}
	v.Age, v.AgeClass, v.AgeTitle = ageOf(c, s.now(), s.cfg.FirstResponseTarget)
	msgs, err := store.CaseMessages(ctx, s.cfg.DB, c.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		mv := messageView{Message: m, Inbound: m.Direction == store.Inbound}
		if mv.Inbound && len(m.Raw) > 0 {
			if p, err := mailparse.Parse(m.Raw, parseOptions); err == nil {
				mv.HasHTML = p.HTML != ""
				if mv.HasHTML {
					doc, err := s.frameDoc(frameView{Title: "Message", Body: template.HTML(sanitizeMail(p.HTML)), Note: remoteNote(p.HTML)}) //nolint:gosec // sanitised
					if err != nil {
						return nil, err
					}
					mv.HTMLDoc = doc
				}
				mv.Attachments = p.Attachments
				mv.Problems = p.Problems
			}
		}
		mv.Raw = nil // not needed by the page
		v.Messages = append(v.Messages, mv)
	}
	if a, err := store.LatestAnalysis(ctx, s.cfg.DB, c.ID); err == nil {
		var res analysis.Result
		if err := json.Unmarshal(a.Result, &res); err == nil {
			v.Analysis = &res
			v.AnalysisAt = &a.CreatedAt
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if d, err := store.LatestDraft(ctx, s.cfg.DB, c.ID); err == nil {
		v.Draft = &d
		v.Editable = d.Status == store.DraftPending
		v.DraftText = d.BodyText
		if v.Revisions, err = store.DraftRevisions(ctx, s.cfg.DB, d.ID); err != nil {
			return nil, err
		}
		if v.PreviewDoc, err = s.frameDoc(frameView{Title: "Reply preview", Body: template.HTML(sanitizeMail(d.BodyHTML))}); err != nil { //nolint:gosec // sanitised
			return nil, err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	switch c.Status {
	case store.StatusAwaitingReview, store.StatusNeedsAttention, store.StatusRejected, store.StatusFailed:
		v.CanReanalyse = true
	}
	if v.Notes, err = store.CaseNotes(ctx, s.cfg.DB, c.ID); err != nil {
		return nil, err
	}
	if v.Events, err = store.CaseEvents(ctx, s.cfg.DB, c.ID); err != nil {
		return nil, err
	}
	if v.Users, err = store.ListUsers(ctx, s.cfg.DB); err != nil {
		return nil, err
	}
	return v, nil
}

// loadMessage reads {id} and {mid} and loads the message, which must belong
// to the case.
func (s *Server) loadMessage(w http.ResponseWriter, r *http.Request) (store.Message, bool) {
	id, ok1 := caseID(r)
	mid, err := strconv.ParseInt(r.PathValue("mid"), 10, 64)
	if !ok1 || err != nil {
		s.fail(w, r, http.StatusNotFound, "There is no such message.", nil)
		return store.Message{}, false
	}
	m, err := store.GetMessage(r.Context(), s.cfg.DB, mid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (m.CaseID == nil || *m.CaseID != id)) {
		s.fail(w, r, http.StatusNotFound, "There is no such message in this case.", nil)
		return m, false
	}
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "The message could not be read.", err)
		return m, false
	}
	return m, true
}
