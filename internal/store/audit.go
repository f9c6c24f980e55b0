package store

import (
	"context"
	"fmt"
	"strings"
)

// EventFilter selects one page of the audit trail, newest first.
type EventFilter struct {
	Actor  string // exact account email or "system"; any when empty
	Action string // exact action; any when empty
	CaseID int64  // any when 0
	Before int64  // keyset cursor: only events with id < Before
	Limit  int    // default 100, at most 1000
}

// ListEvents returns one page of the audit trail newest first and whether
// older events follow.
func ListEvents(ctx context.Context, q Querier, f EventFilter) ([]Event, bool, error) {
	var where []string
	var args []any
	if f.Actor != "" {
		where = append(where, "actor = ?")
		args = append(args, strings.TrimSpace(f.Actor))
	}
	if f.Action != "" {
		where = append(where, "action = ?")
		args = append(args, strings.TrimSpace(f.Action))
	}
	if f.CaseID > 0 {
		where = append(where, "case_id = ?")
		args = append(args, f.CaseID)
	}
	if f.Before > 0 {
		where = append(where, "id < ?")
		args = append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	query := "SELECT id, case_id, actor, action, detail, created_at FROM events"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit+1)
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("listing events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.CaseID, &e.Actor, &e.Action, &e.Detail, &e.CreatedAt); err != nil {
			return nil, false, fmt.Errorf("listing events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("listing events: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}
