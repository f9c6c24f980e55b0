package store

import (
	"context"
	"fmt"
	"time"
)

// DraftRevision is one text a draft had.
type DraftRevision struct {
	ID        int64
	DraftID   int64
	Author    string // "system" for the drafted text, else the reviewer
	BodyText  string
	CreatedAt time.Time
}

// AddDraftRevision records a text of a draft.
func AddDraftRevision(ctx context.Context, q Querier, r *DraftRevision) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	err := q.QueryRow(ctx, "INSERT INTO draft_revisions (draft_id, author, body_text, created_at) VALUES (?, ?, ?, ?) RETURNING id",
		r.DraftID, r.Author, r.BodyText, r.CreatedAt).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("recording a revision of draft %d: %w", r.DraftID, err)
	}
	return nil
}

// DraftRevisions returns a draft's recorded texts oldest first.
func DraftRevisions(ctx context.Context, q Querier, draftID int64) ([]DraftRevision, error) {
	rows, err := q.Query(ctx, "SELECT id, draft_id, author, body_text, created_at FROM draft_revisions WHERE draft_id = ? ORDER BY id", draftID)
	if err != nil {
		return nil, fmt.Errorf("loading revisions of draft %d: %w", draftID, err)
	}
	defer rows.Close()
	var out []DraftRevision
	for rows.Next() {
		var r DraftRevision
		if err := rows.Scan(&r.ID, &r.DraftID, &r.Author, &r.BodyText, &r.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
