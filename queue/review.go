package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/codedesk/codedesk/internal/store"
)

// ErrNotPending is returned when a review action finds the draft no longer
// waiting for review (someone else acted first, or a newer draft exists).
var ErrNotPending = errors.New("draft is not waiting for review")

// Approve approves a pending draft as reviewer and enqueues its send, in one
// transaction with the state change.
func (q *Queue) Approve(ctx context.Context, draftID int64, reviewer string) error {
	return q.db.WithTx(ctx, func(tx *store.Tx) error {
		dr, err := store.GetDraft(ctx, tx, draftID)
		if err != nil {
			return err
		}
		return q.approveTx(ctx, tx, dr.CaseID, draftID, reviewer)
	})
}

// approveTx marks a pending draft approved, moves its case to approved,
// records the audit event and enqueues the send, all in tx.
func (q *Queue) approveTx(ctx context.Context, tx *store.Tx, caseID, draftID int64, reviewer string) error {
	ok, err := store.ApproveDraft(ctx, tx, draftID, reviewer, false)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("approving draft %d: %w", draftID, ErrNotPending)
	}
	if _, err := store.TransitionCase(ctx, tx, caseID, nil, store.StatusApproved, ""); err != nil {
		return err
	}
	if err := store.AddEvent(ctx, tx, caseID, reviewer, "approved", fmt.Sprintf("draft_id=%d", draftID)); err != nil {
		return err
	}
	return q.InsertTx(ctx, tx, SendArgs{DraftID: draftID})
}

// Reject declines a pending draft with a reason; the case is closed as
// rejected and nothing is sent.
func (q *Queue) Reject(ctx context.Context, draftID int64, reviewer, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return errors.New("rejecting: a reason is required")
	}
	return q.db.WithTx(ctx, func(tx *store.Tx) error {
		dr, err := store.GetDraft(ctx, tx, draftID)
		if err != nil {
			return err
		}
		ok, err := store.RejectDraft(ctx, tx, draftID, reviewer, reason)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("rejecting draft %d: %w", draftID, ErrNotPending)
		}
		if _, err := store.TransitionCase(ctx, tx, dr.CaseID, nil, store.StatusRejected, reason); err != nil {
			return err
		}
		return store.AddEvent(ctx, tx, dr.CaseID, reviewer, "rejected", fmt.Sprintf("draft_id=%d", draftID))
	})
}
