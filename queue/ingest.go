package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/codedesk/codedesk/internal/intake"
	"github.com/codedesk/codedesk/internal/mailparse"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/riverqueue/river"
)

// IngestWorker parses a stored message, decides whether it may be answered,
// threads it into a case and enqueues the analysis — all in one transaction
// with the job's completion.
type IngestWorker struct {
	river.WorkerDefaults[IngestArgs]
	w *Workers
}

// Work implements river.Worker.
func (iw *IngestWorker) Work(ctx context.Context, job *river.Job[IngestArgs]) error {
	d := iw.w.deps
	log := d.Logger.With("job_id", job.ID, "message_id", job.Args.MessageID)
	msg, err := store.GetMessage(ctx, d.DB, job.Args.MessageID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return river.JobCancel(fmt.Errorf("ingest: %w", err))
		}
		return err
	}
	if msg.Status != store.MessageReceived {
		log.InfoContext(ctx, "message already ingested", "status", msg.Status)
		return nil
	}
	parsed, perr := mailparse.Parse(msg.Raw, d.ParseOptions)

	var caseID int64
	var outcome string
	err = d.DB.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		var own store.Draft
		// The desk's copy of its own reply: our Message-ID, sent From us.
		// (A recipient can know the Message-ID; only our From makes it ours.)
		if perr == nil && parsed != nil && parsed.MessageID != "" &&
			(parsed.Auto.Kind == "own" || strings.EqualFold(parsed.From.Addr, d.Desk.Address)) {
			own, err = store.DraftByOutgoingMessageID(ctx, tx, parsed.MessageID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		switch {
		case own.ID != 0:
			outcome = "own_copy"
			caseID, err = iw.ownCopy(ctx, tx, &msg, parsed, own)
		case perr != nil || parsed == nil:
			outcome = "unparseable"
			caseID, err = iw.unparseable(ctx, tx, &msg, fmt.Sprintf("the message could not be parsed: %v", perr))
		case msg.Truncated:
			outcome = "oversized"
			caseID, err = iw.keepForStaff(ctx, tx, &msg, parsed, store.MessageUnparseable, store.StatusNeedsAttention,
				fmt.Sprintf("the message is %d bytes, over the size limit: only its header was kept", msg.Size))
		case parsed.Auto.Kind != "":
			outcome = "ignored"
			caseID, err = iw.ignored(ctx, tx, &msg, parsed)
		default:
			outcome = "question"
			caseID, err = iw.question(ctx, tx, &msg, parsed)
		}
		if err != nil {
			return err
		}
		return completeTx(ctx, tx, job)
	})
	if err != nil {
		return fmt.Errorf("ingesting message %d: %w", job.Args.MessageID, err)
	}
	d.Metrics.ingested(outcome)
	log.InfoContext(ctx, "message ingested", "case_id", caseID, "outcome", outcome)
	return nil
}

// question threads an answerable message into its case and enqueues the
// analysis.
func (iw *IngestWorker) question(ctx context.Context, tx *store.Tx, msg *store.Message, p *mailparse.Message) (int64, error) {
	from := p.From.Addr
	th, err := intake.Thread(ctx, tx, from, p.Subject, p.InReplyTo, p.References)
	if err != nil {
		return 0, err
	}
	caseID := th.CaseID
	if caseID == 0 {
		c := &store.Case{Subject: p.Subject, Requester: from, Status: store.StatusReceived}
		if th.LinkTo != 0 {
			c.LinkedCaseID = &th.LinkTo
		}
		if caseID, err = store.CreateCase(ctx, tx, c); err != nil {
			return 0, err
		}
		if err := store.AddEvent(ctx, tx, caseID, store.ActorSystem, "received", fmt.Sprintf("message_id=%d thread=%s", msg.ID, th.How)); err != nil {
			return 0, err
		}
	} else if err := store.AddEvent(ctx, tx, caseID, store.ActorSystem, "follow_up", fmt.Sprintf("message_id=%d thread=%s", msg.ID, th.How)); err != nil {
		return 0, err
	}
	if err := store.AddParticipant(ctx, tx, caseID, from); err != nil {
		return 0, err
	}
	if err := store.SetMessageParsed(ctx, tx, msg.ID, parsedRow(caseID, p, intakeQuestion(p), store.MessageParsed, "")); err != nil {
		return 0, err
	}
	if _, err := store.TransitionCase(ctx, tx, caseID, nil, store.StatusParsed, ""); err != nil {
		return 0, err
	}
	if err := iw.w.q.InsertTx(ctx, tx, AnalyseArgs{CaseID: caseID, MessageID: msg.ID}); err != nil {
		return 0, err
	}
	return caseID, nil
}

// ownCopy files the desk's own copy of one of its replies (BCC'd to the
// desk, see Delivery.CopyTo) on the reply's case. If the send of that
// reply was never recorded — the worker stopped between the SMTP server
// accepting it and the database recording it — the copy is the proof of
// delivery: the reply is recorded as sent now, and the send job's retry
// finds it sent and does not send it again.
func (iw *IngestWorker) ownCopy(ctx context.Context, tx *store.Tx, msg *store.Message, p *mailparse.Message, dr store.Draft) (int64, error) {
	reason := fmt.Sprintf("the desk's copy of its reply (draft %d)", dr.ID)
	if err := store.SetMessageParsed(ctx, tx, msg.ID, parsedRow(dr.CaseID, p, "", store.MessageIgnored, reason)); err != nil {
		return 0, err
	}
	if dr.Status != store.DraftApproved {
		return dr.CaseID, nil
	}
	question, err := store.GetMessage(ctx, tx, derefID(dr.ReplyToMessageID))
	if err != nil {
		return 0, err
	}
	refs := append(strings.Fields(question.References), question.MessageID)
	sentAt := iw.w.deps.now()
	if p.Date.Before(sentAt) && !p.Date.IsZero() {
		sentAt = p.Date
	}
	err = iw.w.recordSentTx(ctx, tx, dr, question, refs, dr.OutgoingMessageID, sentAt,
		"recorded from the desk's copy of the reply", nil, fmt.Sprintf("draft_id=%d confirmed_by_copy message_id=%d", dr.ID, msg.ID))
	if err != nil {
		return 0, err
	}
	iw.w.deps.Logger.WarnContext(ctx, "reply send recorded from the desk's copy", "draft_id", dr.ID, "case_id", dr.CaseID, "message_id", msg.ID)
	return dr.CaseID, nil
}

// ignored keeps a message that must not be answered (auto-reply, bounce,
// list mail, our own) in a case of its own with the reason, or — for a
// bounce of one of our replies — on the case of that reply.
func (iw *IngestWorker) ignored(ctx context.Context, tx *store.Tx, msg *store.Message, p *mailparse.Message) (int64, error) {
	reason := p.Auto.Kind
	if p.Auto.Reason != "" {
		reason += ": " + p.Auto.Reason
	}
	if p.Auto.Kind == "bounce" && p.Auto.OriginalMessageID != "" {
		if caseID, err := store.CaseByMessageIDs(ctx, tx, []string{p.Auto.OriginalMessageID}); err == nil {
			if err := store.SetMessageParsed(ctx, tx, msg.ID, parsedRow(caseID, p, "", store.MessageIgnored, reason)); err != nil {
				return 0, err
			}
			if err := store.AddEvent(ctx, tx, caseID, store.ActorSystem, "bounce", fmt.Sprintf("message_id=%d", msg.ID)); err != nil {
				return 0, err
			}
			_, err := store.TransitionCase(ctx, tx, caseID, []store.CaseStatus{store.StatusSent}, store.StatusNeedsAttention,
				"a reply bounced: "+p.Auto.Reason)
			return caseID, err
		} else if !errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
	}
	// An auto-reply (a vacation notice to one of our replies, say) in a
	// thread the sender takes part in is filed on that case, visible
	// there, without re-opening it or opening a case of its own.
	if p.Auto.Kind != "own" {
		th, err := intake.Thread(ctx, tx, p.From.Addr, p.Subject, p.InReplyTo, p.References)
		if err != nil {
			return 0, err
		}
		if th.CaseID != 0 {
			if err := store.SetMessageParsed(ctx, tx, msg.ID, parsedRow(th.CaseID, p, "", store.MessageIgnored, reason)); err != nil {
				return 0, err
			}
			return th.CaseID, store.AddEvent(ctx, tx, th.CaseID, store.ActorSystem, "ignored",
				fmt.Sprintf("message_id=%d kind=%s thread=%s", msg.ID, p.Auto.Kind, th.How))
		}
	}
	return iw.keepForStaff(ctx, tx, msg, p, store.MessageIgnored, store.StatusIgnored, reason)
}

// keepForStaff files a message in a new case in a side-exit state, with its
// reason, so staff see everything codedesk decided not to answer.
func (iw *IngestWorker) keepForStaff(ctx context.Context, tx *store.Tx, msg *store.Message, p *mailparse.Message,
	ms store.MessageStatus, cs store.CaseStatus, reason string) (int64, error) {
	c := &store.Case{Subject: p.Subject, Requester: p.From.Addr, Status: cs, StatusReason: reason}
	caseID, err := store.CreateCase(ctx, tx, c)
	if err != nil {
		return 0, err
	}
	if err := store.SetMessageParsed(ctx, tx, msg.ID, parsedRow(caseID, p, "", ms, reason)); err != nil {
		return 0, err
	}
	return caseID, store.AddEvent(ctx, tx, caseID, store.ActorSystem, string(cs), fmt.Sprintf("message_id=%d", msg.ID))
}

// unparseable keeps a message that is not a readable email for staff.
func (iw *IngestWorker) unparseable(ctx context.Context, tx *store.Tx, msg *store.Message, reason string) (int64, error) {
	c := &store.Case{Subject: "(unreadable message)", Status: store.StatusNeedsAttention, StatusReason: reason}
	caseID, err := store.CreateCase(ctx, tx, c)
	if err != nil {
		return 0, err
	}
	if err := store.SetMessageParsed(ctx, tx, msg.ID, store.ParsedMessage{CaseID: caseID, Subject: c.Subject,
		Status: store.MessageUnparseable, StatusReason: reason}); err != nil {
		return 0, err
	}
	return caseID, store.AddEvent(ctx, tx, caseID, store.ActorSystem, "needs_attention", fmt.Sprintf("message_id=%d unparseable", msg.ID))
}

func parsedRow(caseID int64, p *mailparse.Message, question string, st store.MessageStatus, reason string) store.ParsedMessage {
	pm := store.ParsedMessage{
		CaseID:       caseID,
		Subject:      p.Subject,
		From:         p.From.Addr,
		FromName:     p.From.Name,
		InReplyTo:    p.InReplyTo,
		References:   strings.Join(p.References, " "),
		BodyText:     p.Text,
		QuestionText: question,
		Status:       st,
		StatusReason: reason,
	}
	if !p.Date.IsZero() {
		t := p.Date
		pm.Date = &t
	}
	return pm
}

// maxAttachedText bounds what forwarded messages and text attachments add
// to a question.
const maxAttachedText = 64 << 10

// intakeQuestion is the text analysed for a message: its new text, then
// the text of each forwarded message (message/rfc822 parts; inline
// "Forwarded message" blocks are already part of the body) and of its text
// and CSV attachments — where coders often put the codes they ask about —
// each under a heading, up to maxAttachedText in all.
func intakeQuestion(p *mailparse.Message) string {
	var b strings.Builder
	b.WriteString(questionText(p))
	room := maxAttachedText
	add := func(heading, text string) {
		text = strings.TrimSpace(text)
		if text == "" || room <= 0 {
			return
		}
		if len(text) > room {
			text = strings.ToValidUTF8(text[:room], "")
		}
		room -= len(text)
		b.WriteString("\n\n" + heading + "\n" + text)
	}
	for _, f := range p.Forwarded {
		add("---------- Forwarded message ----------\nSubject: "+f.Subject, f.Text)
	}
	for _, a := range p.Attachments {
		add("---------- Attachment "+a.Name+" ----------", a.Text)
	}
	return b.String()
}
