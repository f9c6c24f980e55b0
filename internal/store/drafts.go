package store

import (
	"context"
	"fmt"
	"time"
)

// DraftStatus is where one drafted reply stands.
type DraftStatus string

// Draft states.
const (
	DraftPending    DraftStatus = "pending_review"
	DraftApproved   DraftStatus = "approved" // send job queued
	DraftSent       DraftStatus = "sent"
	DraftRejected   DraftStatus = "rejected"
	DraftFailed     DraftStatus = "failed"
	DraftSuperseded DraftStatus = "superseded" // a newer draft replaced it
)

// Draft is one reply drafted for a case.
type Draft struct {
	ID                int64
	CaseID            int64
	AnalysisID        *int64
	ReplyToMessageID  *int64 // the inbound message answered
	Status            DraftStatus
	To                string
	Subject           string
	BodyText          string
	BodyHTML          string
	Auto              bool // approved by policy, not by a person
	OutgoingMessageID string
	Attempts          int
	SentAt            *time.Time
	SMTPReply         string
	Error             string
	ReviewedBy        string
	ReviewedAt        *time.Time
	RejectReason      string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

const draftCols = `id, case_id, analysis_id, reply_to_message_id, status, to_addr, subject, body_text,
	body_html, auto, outgoing_message_id, attempts, sent_at, smtp_reply, error, reviewed_by, reviewed_at,
	reject_reason, created_at, updated_at`

func scanDraft(r Row) (Draft, error) {
	var d Draft
	err := r.Scan(&d.ID, &d.CaseID, &d.AnalysisID, &d.ReplyToMessageID, &d.Status, &d.To, &d.Subject,
		&d.BodyText, &d.BodyHTML, &d.Auto, &d.OutgoingMessageID, &d.Attempts, &d.SentAt, &d.SMTPReply,
		&d.Error, &d.ReviewedBy, &d.ReviewedAt, &d.RejectReason, &d.CreatedAt, &d.UpdatedAt)
	return d, err
}

// CreateDraft stores a new draft for a case and supersedes the case's
// earlier drafts that were still waiting for review.
func CreateDraft(ctx context.Context, q Querier, d *Draft) (int64, error) {
	now := time.Now()
	d.CreatedAt, d.UpdatedAt = now, now
	if d.Status == "" {
		d.Status = DraftPending
	}
	if _, err := q.Exec(ctx, "UPDATE drafts SET status = ?, updated_at = ? WHERE case_id = ? AND status = ?",
		DraftSuperseded, now, d.CaseID, DraftPending); err != nil {
		return 0, fmt.Errorf("superseding drafts of case %d: %w", d.CaseID, err)
	}
	err := q.QueryRow(ctx, `INSERT INTO drafts (case_id, analysis_id, reply_to_message_id, status, to_addr,
		subject, body_text, body_html, auto, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		d.CaseID, d.AnalysisID, d.ReplyToMessageID, d.Status, d.To, d.Subject, d.BodyText, d.BodyHTML,
		d.Auto, d.CreatedAt, d.UpdatedAt).Scan(&d.ID)
	if err != nil {
		return 0, fmt.Errorf("creating draft for case %d: %w", d.CaseID, err)
	}
	return d.ID, nil
}

// GetDraft loads a draft by ID.
func GetDraft(ctx context.Context, q Querier, id int64) (Draft, error) {
	d, err := scanDraft(q.QueryRow(ctx, "SELECT "+draftCols+" FROM drafts WHERE id = ?", id))
	if err != nil {
		return d, fmt.Errorf("loading draft %d: %w", id, err)
	}
	return d, nil
}

// LatestDraft loads the newest draft of a case.
func LatestDraft(ctx context.Context, q Querier, caseID int64) (Draft, error) {
	d, err := scanDraft(q.QueryRow(ctx, "SELECT "+draftCols+" FROM drafts WHERE case_id = ? ORDER BY id DESC LIMIT 1", caseID))
	if err != nil {
		return d, fmt.Errorf("loading draft of case %d: %w", caseID, err)
	}
	return d, nil
}

// DraftByOutgoingMessageID finds the draft sent (or being sent) under an
// outgoing Message-ID.
func DraftByOutgoingMessageID(ctx context.Context, q Querier, msgID string) (Draft, error) {
	return scanDraft(q.QueryRow(ctx, "SELECT "+draftCols+" FROM drafts WHERE outgoing_message_id = ? AND outgoing_message_id <> ''", msgID))
}

// ApproveDraft marks a pending draft approved by reviewer (or by policy when
// auto is set) and reports whether it was pending.
func ApproveDraft(ctx context.Context, q Querier, id int64, reviewer string, auto bool) (bool, error) {
	now := time.Now()
	n, err := q.Exec(ctx, `UPDATE drafts SET status = ?, reviewed_by = ?, reviewed_at = ?, auto = ?, updated_at = ?
		WHERE id = ? AND status = ?`, DraftApproved, reviewer, now, auto, now, id, DraftPending)
	if err != nil {
		return false, fmt.Errorf("approving draft %d: %w", id, err)
	}
	return n > 0, nil
}

// RejectDraft marks a pending draft rejected with a reason.
func RejectDraft(ctx context.Context, q Querier, id int64, reviewer, reason string) (bool, error) {
	now := time.Now()
	n, err := q.Exec(ctx, `UPDATE drafts SET status = ?, reviewed_by = ?, reviewed_at = ?, reject_reason = ?, updated_at = ?
		WHERE id = ? AND status = ?`, DraftRejected, reviewer, now, reason, now, id, DraftPending)
	if err != nil {
		return false, fmt.Errorf("rejecting draft %d: %w", id, err)
	}
	return n > 0, nil
}

// UpdateDraftBody replaces the text of a pending draft (a reviewer's edit).
func UpdateDraftBody(ctx context.Context, q Querier, id int64, text, html string) (bool, error) {
	n, err := q.Exec(ctx, "UPDATE drafts SET body_text = ?, body_html = ?, updated_at = ? WHERE id = ? AND status = ?",
		text, html, time.Now(), id, DraftPending)
	if err != nil {
		return false, fmt.Errorf("editing draft %d: %w", id, err)
	}
	return n > 0, nil
}

// SetOutgoingMessageID records the Message-ID a draft will be sent under,
// before the first attempt, so a retry can recognise a send that already
// happened. It keeps an ID already recorded and returns the one in force.
func SetOutgoingMessageID(ctx context.Context, q Querier, id int64, msgID string) (string, error) {
	if _, err := q.Exec(ctx, "UPDATE drafts SET outgoing_message_id = ?, updated_at = ? WHERE id = ? AND outgoing_message_id = ''",
		msgID, time.Now(), id); err != nil {
		return "", fmt.Errorf("recording Message-ID of draft %d: %w", id, err)
	}
	var got string
	if err := q.QueryRow(ctx, "SELECT outgoing_message_id FROM drafts WHERE id = ?", id).Scan(&got); err != nil {
		return "", fmt.Errorf("recording Message-ID of draft %d: %w", id, err)
	}
	return got, nil
}

// RecordSendAttempt counts an attempt and the SMTP server's answer.
func RecordSendAttempt(ctx context.Context, q Querier, id int64, errText string) error {
	_, err := q.Exec(ctx, "UPDATE drafts SET attempts = attempts + 1, error = ?, updated_at = ? WHERE id = ?",
		errText, time.Now(), id)
	if err != nil {
		return fmt.Errorf("recording send attempt of draft %d: %w", id, err)
	}
	return nil
}

// MarkDraftSent records a successful send.
func MarkDraftSent(ctx context.Context, q Querier, id int64, at time.Time, smtpReply string) error {
	_, err := q.Exec(ctx, "UPDATE drafts SET status = ?, sent_at = ?, smtp_reply = ?, error = '', updated_at = ? WHERE id = ?",
		DraftSent, at, smtpReply, time.Now(), id)
	if err != nil {
		return fmt.Errorf("marking draft %d sent: %w", id, err)
	}
	return nil
}

// MarkDraftFailed records a permanent send failure with the server's reply.
func MarkDraftFailed(ctx context.Context, q Querier, id int64, errText string) error {
	_, err := q.Exec(ctx, "UPDATE drafts SET status = ?, error = ?, updated_at = ? WHERE id = ?",
		DraftFailed, errText, time.Now(), id)
	if err != nil {
		return fmt.Errorf("marking draft %d failed: %w", id, err)
	}
	return nil
}
