package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/codedesk/codedesk/internal/analysis"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/riverqueue/river"
)

// AnalyseWorker analyses a case's newest question with the thread as
// context, stores the result and enqueues the draft.
type AnalyseWorker struct {
	river.WorkerDefaults[AnalyseArgs]
	w *Workers
}

// Work implements river.Worker.
func (aw *AnalyseWorker) Work(ctx context.Context, job *river.Job[AnalyseArgs]) error {
	d := aw.w.deps
	log := d.Logger.With("job_id", job.ID, "case_id", job.Args.CaseID, "message_id", job.Args.MessageID)
	msgs, err := store.CaseMessages(ctx, d.DB, job.Args.CaseID)
	if err != nil {
		return err
	}
	q := analysis.Question{CaseID: job.Args.CaseID}
	found := false
	for _, m := range msgs {
		if m.ID == job.Args.MessageID {
			found = true
			q.Subject, q.Text = m.Subject, m.QuestionText
			if q.Text == "" {
				q.Text = m.BodyText
			}
			q.Received = m.ReceivedAt
			if m.Date != nil {
				q.Received = *m.Date
			}
			break
		}
		if m.Direction == store.Inbound && m.Status == store.MessageParsed {
			q.Thread = append(q.Thread, m.QuestionText)
		}
	}
	if !found {
		return river.JobCancel(fmt.Errorf("analysing: message %d is not in case %d", job.Args.MessageID, job.Args.CaseID))
	}
	res, aerr := d.Analyser.Analyse(ctx, q)
	if aerr != nil {
		// A failure to analyse is retried by River; after the last attempt
		// the case is shown to staff instead of being dropped.
		if job.Attempt < job.MaxAttempts {
			return fmt.Errorf("analysing case %d: %w", job.Args.CaseID, aerr)
		}
		return d.DB.WithTx(ctx, func(tx *store.Tx) error {
			if _, err := store.TransitionCase(ctx, tx, job.Args.CaseID, nil, store.StatusNeedsAttention,
				"analysis failed: "+aerr.Error()); err != nil {
				return err
			}
			if err := store.AddEvent(ctx, tx, job.Args.CaseID, store.ActorSystem, "analysis_failed", fmt.Sprintf("message_id=%d", job.Args.MessageID)); err != nil {
				return err
			}
			return completeTx(ctx, tx, job)
		})
	}
	body, err := json.Marshal(res)
	if err != nil {
		return river.JobCancel(fmt.Errorf("encoding analysis: %w", err))
	}
	var analysisID int64
	err = d.DB.WithTx(ctx, func(tx *store.Tx) error {
		a := &store.Analysis{CaseID: job.Args.CaseID, MessageID: job.Args.MessageID, Kind: res.Kind, Confidence: res.Confidence, Result: body}
		var err error
		if analysisID, err = store.InsertAnalysis(ctx, tx, a); err != nil {
			return err
		}
		if err := store.SetCaseAnalysis(ctx, tx, job.Args.CaseID, res.Kind, res.Confidence); err != nil {
			return err
		}
		if _, err := store.TransitionCase(ctx, tx, job.Args.CaseID, nil, store.StatusAnalysed, ""); err != nil {
			return err
		}
		if err := store.AddEvent(ctx, tx, job.Args.CaseID, store.ActorSystem, "analysed",
			fmt.Sprintf("analysis_id=%d kind=%s confidence=%.2f", analysisID, res.Kind, res.Confidence)); err != nil {
			return err
		}
		if err := aw.w.q.InsertTx(ctx, tx, DraftArgs{CaseID: job.Args.CaseID, AnalysisID: analysisID}); err != nil {
			return err
		}
		return completeTx(ctx, tx, job)
	})
	if err != nil {
		return fmt.Errorf("recording analysis of case %d: %w", job.Args.CaseID, err)
	}
	log.InfoContext(ctx, "case analysed", "analysis_id", analysisID, "kind", res.Kind, "confidence", res.Confidence)
	return nil
}

var errNoAnalysis = errors.New("analysis not found")
