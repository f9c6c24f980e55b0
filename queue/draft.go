package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/codedesk/codedesk/internal/analysis"
	"github.com/codedesk/codedesk/internal/reply"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/riverqueue/river"
)

// DraftWorker renders the reply for an analysis and either queues it for
// review or, when policy allows, approves it and enqueues the send.
type DraftWorker struct {
	river.WorkerDefaults[DraftArgs]
	w *Workers
}

// Work implements river.Worker.
func (dw *DraftWorker) Work(ctx context.Context, job *river.Job[DraftArgs]) error {
	d := dw.w.deps
	log := d.Logger.With("job_id", job.ID, "case_id", job.Args.CaseID, "analysis_id", job.Args.AnalysisID)
	a, err := store.GetAnalysis(ctx, d.DB, job.Args.AnalysisID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return river.JobCancel(fmt.Errorf("drafting: %w: %w", errNoAnalysis, err))
		}
		return err
	}
	var res analysis.Result
	if err := json.Unmarshal(a.Result, &res); err != nil {
		return river.JobCancel(fmt.Errorf("drafting: decoding analysis %d: %w", a.ID, err))
	}
	c, err := store.GetCase(ctx, d.DB, job.Args.CaseID)
	if err != nil {
		return err
	}
	question, err := store.GetMessage(ctx, d.DB, a.MessageID)
	if err != nil {
		return err
	}
	subject := reply.Subject(question.Subject, c.ID)
	auto, held := d.Policy.allows(res)
	out, err := compose(d.Renderer, d.Desk, c.ID, question.FromName, res, !auto)
	if err != nil {
		return river.JobCancel(err)
	}

	var draftID int64
	var next store.CaseStatus
	err = d.DB.WithTx(ctx, func(tx *store.Tx) error {
		dr := &store.Draft{CaseID: c.ID, AnalysisID: &a.ID, ReplyToMessageID: &question.ID, To: question.From,
			Subject: subject, BodyText: out.Text, BodyHTML: out.HTML}
		var err error
		if draftID, err = store.CreateDraft(ctx, tx, dr); err != nil {
			return err
		}
		if err := store.AddEvent(ctx, tx, c.ID, store.ActorSystem, "drafted", fmt.Sprintf("draft_id=%d", draftID)); err != nil {
			return err
		}
		switch {
		case res.Kind == analysis.KindNotAQuestion:
			next = store.StatusNeedsAttention
			_, err = store.TransitionCase(ctx, tx, c.ID, nil, next, "no coding question found")
		case auto:
			next = store.StatusApproved
			if _, err = store.ApproveDraft(ctx, tx, draftID, store.ActorSystem, true); err != nil {
				return err
			}
			if _, err = store.TransitionCase(ctx, tx, c.ID, nil, next, "auto-send"); err != nil {
				return err
			}
			if err = store.AddEvent(ctx, tx, c.ID, store.ActorSystem, "approved", fmt.Sprintf("draft_id=%d auto", draftID)); err != nil {
				return err
			}
			err = dw.w.q.InsertTx(ctx, tx, SendArgs{DraftID: draftID})
		default:
			next = store.StatusAwaitingReview
			_, err = store.TransitionCase(ctx, tx, c.ID, nil, next, held)
		}
		if err != nil {
			return err
		}
		return completeTx(ctx, tx, job)
	})
	if err != nil {
		return fmt.Errorf("recording draft of case %d: %w", c.ID, err)
	}
	d.Metrics.drafted(string(next))
	log.InfoContext(ctx, "reply drafted", "draft_id", draftID, "next", next)
	return nil
}
