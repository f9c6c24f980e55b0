package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
	refs := strings.Fields(question.References)
	refs = append(refs, question.MessageID)
	dl := &d.Delivery

	// An earlier attempt handed this reply to the SMTP server and never
	// recorded the outcome (the process died, or the connection dropped
	// after the message was written): the server may have it. Look for
	// the desk's copy before sending again.
	startedAt, err := store.SendStartedAt(ctx, d.DB, dr.ID)
	if err != nil {
		return err
	}
	if startedAt != nil && dr.OutgoingMessageID != "" {
		found, where, err := sw.findCopy(ctx, dr.OutgoingMessageID)
		if err != nil {
			if job.Attempt >= job.MaxAttempts {
				return sw.unconfirmed(ctx, job, dr, err)
			}
			return err
		}
		if found {
			d.Metrics.sendInDoubt("copy_found")
			log.WarnContext(ctx, "previous attempt was accepted by the server: not sending again", "copy_in", where)
			return sw.record(ctx, job, dr, question, refs, dr.OutgoingMessageID, d.now(),
				"not sent again: the server had accepted it (copy found in "+where+")", nil)
		}
		if wait := dl.copyGrace() - d.now().Sub(*startedAt); dl.verifies() && wait > 0 {
			// The copy may still be on its way through the server's queue.
			d.Metrics.sendInDoubt("waiting")
			log.InfoContext(ctx, "previous attempt's outcome unknown: waiting for the desk's copy", "wait", wait.Round(time.Second))
			return river.JobSnooze(wait)
		}
		d.Metrics.sendInDoubt("resent")
		log.WarnContext(ctx, "previous attempt's outcome unknown and no copy found: sending again under the same Message-ID")
	} else if dr.Auto && !sw.withinRateLimit(ctx, job, dr) {
		return nil
	}

	// Record the Message-ID (and the sending state) before talking to SMTP.
	var msgID string
	err = d.DB.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if msgID, err = store.SetOutgoingMessageID(ctx, tx, dr.ID, mailer.NewMessageID(domainOf(d.Desk.Address))); err != nil {
			return err
		}
		if err := store.MarkSendStarted(ctx, tx, dr.ID, d.now()); err != nil {
			return err
		}
		_, err = store.TransitionCase(ctx, tx, dr.CaseID, []store.CaseStatus{store.StatusApproved, store.StatusSending},
			store.StatusSending, "")
		return err
	})
	if err != nil {
		return err
	}

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
	if dl.CopyTo != "" {
		out.Bcc = []string{dl.CopyTo}
	}
	res, serr := d.Sender.Send(ctx, out)
	if serr != nil {
		return sw.failed(ctx, job, dr, serr)
	}
	if dl.afterAccept != nil {
		if err := dl.afterAccept(dr.ID); err != nil {
			// Tests: the process "dies" between the server accepting the
			// reply and the database recording it.
			return err
		}
	}
	if err := sw.record(ctx, job, dr, question, refs, msgID, d.now(), res.Response, res.Raw); err != nil {
		// The server has the reply; River retries this job, which finds the
		// send marker and looks for the desk's copy before sending again.
		return err
	}
	log.InfoContext(ctx, "reply sent")
	return nil
}

// unconfirmed surfaces a reply whose delivery could never be confirmed or
// ruled out (the desk's mailbox stayed unreachable through every retry):
// sending again could duplicate it, so a person decides. The case fails
// with the reason; nothing is sent.
func (sw *SendWorker) unconfirmed(ctx context.Context, job *river.Job[SendArgs], dr store.Draft, cause error) error {
	d := sw.w.deps
	reason := fmt.Sprintf("the reply may have been sent: its first attempt's outcome is unknown and the desk's copy could not be looked for (%v); check the recipient's mailbox or the Sent folder before sending again", cause)
	err := d.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := store.MarkDraftFailed(ctx, tx, dr.ID, cause.Error()); err != nil {
			return err
		}
		if _, err := store.TransitionCase(ctx, tx, dr.CaseID, nil, store.StatusFailed, reason); err != nil {
			return err
		}
		return store.AddEvent(ctx, tx, dr.CaseID, store.ActorSystem, "send_unconfirmed", fmt.Sprintf("draft_id=%d attempt=%d", dr.ID, job.Attempt))
	})
	if err != nil {
		return err
	}
	d.Metrics.sendInDoubt("unconfirmed")
	d.Logger.ErrorContext(ctx, "reply delivery could not be confirmed", "job_id", job.ID, "draft_id", dr.ID, "case_id", dr.CaseID, "error", cause)
	return river.JobCancel(cause)
}

// findCopy looks for a reply by its Message-ID: first among the stored
// messages (the poller may already have fetched the desk's BCC copy), then
// over IMAP in the configured folders.
func (sw *SendWorker) findCopy(ctx context.Context, msgID string) (bool, string, error) {
	d := sw.w.deps
	var n int
	if err := d.DB.QueryRow(ctx, "SELECT COUNT(*) FROM messages WHERE message_id = ? AND direction = ?", msgID, store.Inbound).Scan(&n); err != nil {
		return false, "", fmt.Errorf("looking for a stored copy of a reply: %w", err)
	}
	if n > 0 {
		return true, "the desk's mailbox (already fetched)", nil
	}
	if d.Delivery.Copies == nil {
		return false, "", nil
	}
	found, folder, err := d.Delivery.Copies.FindMessageID(ctx, msgID)
	if err != nil {
		return false, "", err
	}
	return found, "IMAP folder " + folder, nil
}

// withinRateLimit applies the per-sender and per-thread reply limits to a
// draft approved by policy. Over a limit, the draft goes back to waiting
// for review with the reason (the last line of defence against a reply
// loop with an autoresponder that slipped past detection), the job
// completes, and it reports false.
func (sw *SendWorker) withinRateLimit(ctx context.Context, job *river.Job[SendArgs], dr store.Draft) bool {
	d := sw.w.deps
	dl := &d.Delivery
	since := d.now().Add(-dl.window())
	var reason string
	if dl.ReplyLimitPerSender > 0 {
		n, err := store.RepliesSentTo(ctx, d.DB, dr.To, since)
		if err != nil {
			d.Logger.WarnContext(ctx, "checking the reply rate limit", "draft_id", dr.ID, "error", err)
			return true // the send itself will meet the same database and retry
		}
		if n >= dl.ReplyLimitPerSender {
			reason = fmt.Sprintf("held for review: %d automatic replies already sent to this sender in the last %s (limit %d)",
				n, dl.window(), dl.ReplyLimitPerSender)
		}
	}
	if reason == "" && dl.ReplyLimitPerThread > 0 {
		n, err := store.RepliesSentInCase(ctx, d.DB, dr.CaseID, since)
		if err != nil {
			d.Logger.WarnContext(ctx, "checking the reply rate limit", "draft_id", dr.ID, "error", err)
			return true
		}
		if n >= dl.ReplyLimitPerThread {
			reason = fmt.Sprintf("held for review: %d replies already sent in this thread in the last %s (limit %d)",
				n, dl.window(), dl.ReplyLimitPerThread)
		}
	}
	if reason == "" {
		return true
	}
	err := d.DB.WithTx(ctx, func(tx *store.Tx) error {
		held, err := store.HoldDraft(ctx, tx, dr.ID)
		if err != nil {
			return err
		}
		if held != 0 {
			if _, err := store.TransitionCase(ctx, tx, dr.CaseID, nil, store.StatusAwaitingReview, reason); err != nil {
				return err
			}
			if err := store.AddEvent(ctx, tx, dr.CaseID, store.ActorSystem, "rate_limited",
				fmt.Sprintf("draft_id=%d held_draft_id=%d", dr.ID, held)); err != nil {
				return err
			}
		}
		return completeTx(ctx, tx, job)
	})
	if err != nil {
		d.Logger.WarnContext(ctx, "holding a rate-limited reply", "draft_id", dr.ID, "error", err)
		return true
	}
	d.Metrics.rateLimited()
	d.Logger.WarnContext(ctx, "reply held by the rate limit", "draft_id", dr.ID, "case_id", dr.CaseID)
	return false
}

// record stores a send the server accepted: the draft sent, the outgoing
// message on the case (so replies to it thread), the case sent, the audit
// event, the Sent-folder copy job and the job's completion, in one
// transaction.
func (sw *SendWorker) record(ctx context.Context, job *river.Job[SendArgs], dr store.Draft, question store.Message,
	refs []string, msgID string, sentAt time.Time, response string, raw []byte) error {
	d := sw.w.deps
	err := d.DB.WithTx(ctx, func(tx *store.Tx) error {
		if err := sw.w.recordSentTx(ctx, tx, dr, question, refs, msgID, sentAt, response, raw,
			fmt.Sprintf("draft_id=%d attempt=%d", dr.ID, job.Attempt)); err != nil {
			return err
		}
		return completeTx(ctx, tx, job)
	})
	if err != nil {
		return fmt.Errorf("recording send of draft %d: %w", dr.ID, err)
	}
	d.Metrics.sent(sentAt.Sub(question.ReceivedAt))
	return nil
}

// recordSentTx records, in tx, that the server accepted draft dr under
// msgID. It is shared by the send worker and by ingest, which may meet the
// desk's BCC copy of a reply whose send was never recorded.
func (w *Workers) recordSentTx(ctx context.Context, tx *store.Tx, dr store.Draft, question store.Message,
	refs []string, msgID string, sentAt time.Time, response string, raw []byte, detail string) error {
	d := w.deps
	claimed, err := store.ClaimDraftSent(ctx, tx, dr.ID, sentAt, response)
	if err != nil {
		return err
	}
	if !claimed {
		// Already recorded (by the other of the send worker and ingest).
		return nil
	}
	caseID := dr.CaseID
	m := &store.Message{CaseID: &caseID, Direction: store.Outbound, MessageID: msgID,
		ContentHash: fmt.Sprintf("draft:%d", dr.ID), InReplyTo: question.MessageID, References: strings.Join(refs, " "),
		Subject: dr.Subject, From: d.Desk.Address, FromName: d.Desk.Name, Date: &sentAt, BodyText: dr.BodyText,
		Raw: raw, Size: int64(len(raw)), Status: store.MessageSent, ReceivedAt: sentAt}
	id, inserted, err := store.InsertMessage(ctx, tx, m)
	if err != nil {
		return err
	}
	if _, err := store.TransitionCase(ctx, tx, dr.CaseID, nil, store.StatusSent, ""); err != nil {
		return err
	}
	if err := store.SetFirstResponse(ctx, tx, dr.CaseID, sentAt); err != nil {
		return err
	}
	if err := store.AddEvent(ctx, tx, dr.CaseID, store.ActorSystem, "sent", detail); err != nil {
		return err
	}
	if inserted && len(raw) > 0 && d.Delivery.Sent != nil {
		return w.q.InsertTx(ctx, tx, SentCopyArgs{MessageID: id})
	}
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
	if me == nil || !me.InDoubt() {
		// The server refused or never got the message: a retry may send.
		// (After a dropped connection at the end of DATA the marker stays:
		// the server may have accepted it.)
		if err := store.ClearSendStarted(ctx, d.DB, dr.ID); err != nil {
			return err
		}
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
