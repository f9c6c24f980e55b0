package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Delivery bookkeeping for the send worker (issue #5): the "send in doubt"
// marker that closes the window between the SMTP server accepting a reply
// and codedesk recording it, and the counts behind the reply rate limit.

// MarkSendStarted records that draft id is about to be handed to the SMTP
// server. Until ClearSendStarted (a definite failure) or the draft is
// marked sent, a retry treats the outcome of that attempt as unknown.
func MarkSendStarted(ctx context.Context, q Querier, id int64, at time.Time) error {
	if _, err := q.Exec(ctx, "UPDATE drafts SET smtp_started_at = ?, updated_at = ? WHERE id = ?", at, time.Now(), id); err != nil {
		return fmt.Errorf("marking send of draft %d started: %w", id, err)
	}
	return nil
}

// ClaimDraftSent marks an approved draft sent (with the server's reply) and
// clears its send marker, and reports whether it was still approved. Two
// recorders racing — the send worker and ingest meeting the desk's copy —
// cannot both claim it: on PostgreSQL the second waits for the first's row
// lock and then finds the draft no longer approved.
func ClaimDraftSent(ctx context.Context, q Querier, id int64, at time.Time, smtpReply string) (bool, error) {
	n, err := q.Exec(ctx, `UPDATE drafts SET status = ?, sent_at = ?, smtp_reply = ?, error = '', smtp_started_at = NULL, updated_at = ?
		WHERE id = ? AND status = ?`, DraftSent, at, smtpReply, time.Now(), id, DraftApproved)
	if err != nil {
		return false, fmt.Errorf("marking draft %d sent: %w", id, err)
	}
	return n > 0, nil
}

// ClearSendStarted records that the last attempt's outcome is known (the
// server refused or could not be reached), so a retry may simply send.
func ClearSendStarted(ctx context.Context, q Querier, id int64) error {
	if _, err := q.Exec(ctx, "UPDATE drafts SET smtp_started_at = NULL, updated_at = ? WHERE id = ?", time.Now(), id); err != nil {
		return fmt.Errorf("clearing send marker of draft %d: %w", id, err)
	}
	return nil
}

// SendStartedAt returns when an attempt whose outcome was never recorded
// handed draft id to the SMTP server, or nil when there is none.
func SendStartedAt(ctx context.Context, q Querier, id int64) (*time.Time, error) {
	var at *time.Time
	if err := q.QueryRow(ctx, "SELECT smtp_started_at FROM drafts WHERE id = ?", id).Scan(&at); err != nil {
		return nil, fmt.Errorf("loading send marker of draft %d: %w", id, err)
	}
	return at, nil
}

// RepliesSentTo counts the replies sent to address (case-insensitively)
// since the given time.
func RepliesSentTo(ctx context.Context, q Querier, address string, since time.Time) (int, error) {
	var n int
	err := q.QueryRow(ctx, "SELECT COUNT(*) FROM drafts WHERE LOWER(to_addr) = ? AND status = ? AND sent_at >= ?",
		strings.ToLower(strings.TrimSpace(address)), DraftSent, since).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting replies sent to an address: %w", err)
	}
	return n, nil
}

// RepliesSentInCase counts the replies sent on a case since the given time.
func RepliesSentInCase(ctx context.Context, q Querier, caseID int64, since time.Time) (int, error) {
	var n int
	err := q.QueryRow(ctx, "SELECT COUNT(*) FROM drafts WHERE case_id = ? AND status = ? AND sent_at >= ?",
		caseID, DraftSent, since).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting replies sent on case %d: %w", caseID, err)
	}
	return n, nil
}

// HoldDraft takes an approved draft off the send path and puts a copy of
// it up for review (the reply rate limit held it): the approved draft is
// superseded, and the new pending draft, not marked as approved by policy,
// is returned. It returns 0 when the draft was no longer approved.
func HoldDraft(ctx context.Context, q Querier, id int64) (int64, error) {
	d, err := GetDraft(ctx, q, id)
	if err != nil {
		return 0, err
	}
	n, err := q.Exec(ctx, "UPDATE drafts SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
		DraftSuperseded, time.Now(), id, DraftApproved)
	if err != nil {
		return 0, fmt.Errorf("holding draft %d for review: %w", id, err)
	}
	if n == 0 {
		return 0, nil
	}
	held := &Draft{CaseID: d.CaseID, AnalysisID: d.AnalysisID, ReplyToMessageID: d.ReplyToMessageID, To: d.To,
		Subject: d.Subject, BodyText: d.BodyText, BodyHTML: d.BodyHTML, Status: DraftPending}
	return CreateDraft(ctx, q, held)
}

// CountMessagesByStatus returns how many inbound messages are in each
// state (for /healthz and metrics: pending, unprocessable, oversized).
func CountMessagesByStatus(ctx context.Context, q Querier) (map[MessageStatus]int, error) {
	rows, err := q.Query(ctx, "SELECT status, COUNT(*) FROM messages WHERE direction = ? GROUP BY status", Inbound)
	if err != nil {
		return nil, fmt.Errorf("counting messages: %w", err)
	}
	defer rows.Close()
	out := map[MessageStatus]int{}
	for rows.Next() {
		var s MessageStatus
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("counting messages: %w", err)
		}
		out[s] = n
	}
	return out, rows.Err()
}

// CountOversizedMessages counts inbound messages kept as header only.
func CountOversizedMessages(ctx context.Context, q Querier) (int, error) {
	var n int
	if err := q.QueryRow(ctx, "SELECT COUNT(*) FROM messages WHERE direction = ? AND truncated = ?", Inbound, true).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting oversized messages: %w", err)
	}
	return n, nil
}
