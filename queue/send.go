package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/codedesk/codedesk/internal/mailer"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/riverqueue/river"
)

// SendWorker sends an approved draft, threaded on the question. It is
// idempotent: a draft already sent is not sent again, and the Message-ID is
// recorded before the first attempt so every retry reuses it.
type SendWorker struct {
	river.WorkerDefaults[SendArgs]
	w *Workers
}

// Work implements river.Worker.
func (sw *SendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	d := sw.w.deps
	log := d.Logger.With("job_id", job.ID, "draft_id", job.Args.DraftID, "attempt", job.Attempt)
	dr, err := store.GetDraft(ctx, d.DB, job.Args.DraftID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return river.JobCancel(err)
		}
		return err
	}
	switch dr.Status {
	case store.DraftSent:
		log.InfoContext(ctx, "draft already sent")
		return nil
	case store.DraftApproved:
	default:
		return river.JobCancel(fmt.Errorf("draft %d is %s, not approved", dr.ID, dr.Status))
	}
	question, err := store.GetMessage(ctx, d.DB, derefID(dr.ReplyToMessageID))
	if err != nil {
		return err
	}

	// Record the Message-ID (and the sending state) before talking to SMTP.
	var msgID string
	err = d.DB.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if msgID, err = store.SetOutgoingMessageID(ctx, tx, dr.ID, mailer.NewMessageID(domainOf(d.Desk.Address))); err != nil {
			return err
		}
		_, err = store.TransitionCase(ctx, tx, dr.CaseID, []store.CaseStatus{store.StatusApproved, store.StatusSending},
			store.StatusSending, "")
		return err
	})
	if err != nil {
		return err
	}

	refs := strings.Fields(question.References)
	refs = append(refs, question.MessageID)
	out := mailer.Outgoing{
		From:          mailer.Address{Name: d.Desk.Name, Addr: d.Desk.Address},
		To:            dr.To,
		Subject:       dr.Subject,
		MessageID:     msgID,
		InReplyTo:     question.MessageID,
		References:    refs,
		Text:          dr.BodyText,
		HTML:          dr.BodyHTML,
		AutoSubmitted: dr.Auto,
		Date:          d.now(),
	}
	res, serr := d.Sender.Send(ctx, out)
	if serr != nil {
		return sw.failed(ctx, job, dr, serr)
	}
	sentAt := d.now()
	err = d.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := store.MarkDraftSent(ctx, tx, dr.ID, sentAt, res.Response); err != nil {
			return err
		}
		caseID := dr.CaseID
		m := &store.Message{CaseID: &caseID, Direction: store.Outbound, MessageID: msgID,
			ContentHash: fmt.Sprintf("draft:%d", dr.ID), InReplyTo: question.MessageID, References: strings.Join(refs, " "),
			Subject: dr.Subject, From: d.Desk.Address, FromName: d.Desk.Name, Date: &sentAt, BodyText: dr.BodyText,
			Status: store.MessageSent, ReceivedAt: sentAt}
		if _, _, err := store.InsertMessage(ctx, tx, m); err != nil {
			return err
		}
		if _, err := store.TransitionCase(ctx, tx, dr.CaseID, nil, store.StatusSent, ""); err != nil {
			return err
		}
		if err := store.SetFirstResponse(ctx, tx, dr.CaseID, sentAt); err != nil {
			return err
		}
		if err := store.AddEvent(ctx, tx, dr.CaseID, store.ActorSystem, "sent", fmt.Sprintf("draft_id=%d attempt=%d", dr.ID, job.Attempt)); err != nil {
			return err
		}
		return completeTx(ctx, tx, job)
	})
	if err != nil {
		// The server has the reply; River retries this job, which finds the
		// Message-ID recorded and sends under the same ID.
		return fmt.Errorf("recording send of draft %d: %w", dr.ID, err)
	}
	d.Metrics.sent(sentAt.Sub(question.ReceivedAt))
	log.InfoContext(ctx, "reply sent")
	return nil
}

// failed handles a send error: temporary ones are retried by River until the
// last attempt, permanent ones (and the last attempt) mark the draft and the
// case failed with the server's answer, for staff to see.
func (sw *SendWorker) failed(ctx context.Context, job *river.Job[SendArgs], dr store.Draft, serr error) error {
	d := sw.w.deps
	var me *mailer.Error
	temporary := true
	if errors.As(serr, &me) {
		temporary = me.Temporary
	}
	if err := store.RecordSendAttempt(ctx, d.DB, dr.ID, serr.Error()); err != nil {
		return err
	}
	if temporary && job.Attempt < job.MaxAttempts {
		d.Metrics.sendError(true)
		d.Logger.WarnContext(ctx, "send failed, will retry", "job_id", job.ID, "draft_id", dr.ID, "attempt", job.Attempt, "error", serr)
		return fmt.Errorf("sending draft %d: %w", dr.ID, serr)
	}
	d.Metrics.sendError(false)
	reason := "the mail server refused the reply: " + serr.Error()
	if temporary {
		reason = fmt.Sprintf("the reply could not be sent after %d attempts: %v", job.Attempt, serr)
	}
	err := d.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := store.MarkDraftFailed(ctx, tx, dr.ID, serr.Error()); err != nil {
			return err
		}
		if _, err := store.TransitionCase(ctx, tx, dr.CaseID, nil, store.StatusFailed, reason); err != nil {
			return err
		}
		return store.AddEvent(ctx, tx, dr.CaseID, store.ActorSystem, "send_failed", fmt.Sprintf("draft_id=%d attempt=%d", dr.ID, job.Attempt))
	})
	if err != nil {
		return err
	}
	d.Logger.ErrorContext(ctx, "send failed permanently", "job_id", job.ID, "draft_id", dr.ID, "case_id", dr.CaseID, "error", serr)
	return river.JobCancel(serr)
}

func derefID(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "codedesk.invalid"
}
