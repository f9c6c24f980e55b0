package store

import (
	"context"
	"fmt"
	"time"
)

// Event is one line of the append-only audit trail.
type Event struct {
	ID        int64
	CaseID    *int64
	Actor     string // "system" or a staff account's email
	Action    string // e.g. "received", "drafted", "approved", "sent"
	Detail    string // IDs and reasons only; never message bodies
	CreatedAt time.Time
}

// ActorSystem is the actor of events caused by codedesk itself.
const ActorSystem = "system"

// AddEvent appends an event to the audit trail.
func AddEvent(ctx context.Context, q Querier, caseID int64, actor, action, detail string) error {
	var cid *int64
	if caseID != 0 {
		cid = &caseID
	}
	_, err := q.Exec(ctx, "INSERT INTO events (case_id, actor, action, detail, created_at) VALUES (?, ?, ?, ?, ?)",
		cid, actor, action, detail, time.Now())
	if err != nil {
		return fmt.Errorf("recording event %s: %w", action, err)
	}
	return nil
}

// CaseEvents returns a case's audit trail oldest first.
func CaseEvents(ctx context.Context, q Querier, caseID int64) ([]Event, error) {
	rows, err := q.Query(ctx, "SELECT id, case_id, actor, action, detail, created_at FROM events WHERE case_id = ? ORDER BY id", caseID)
	if err != nil {
		return nil, fmt.Errorf("loading events of case %d: %w", caseID, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.CaseID, &e.Actor, &e.Action, &e.Detail, &e.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
