package store

import (
	"context"
	"fmt"
	"time"
)

// Note is an internal note staff leave on a case; it is never sent.
type Note struct {
	ID        int64
	CaseID    int64
	Author    string
	Body      string
	CreatedAt time.Time
}

// AddNote stores a note.
func AddNote(ctx context.Context, q Querier, n *Note) (int64, error) {
	n.CreatedAt = time.Now()
	err := q.QueryRow(ctx, "INSERT INTO notes (case_id, author, body, created_at) VALUES (?, ?, ?, ?) RETURNING id",
		n.CaseID, n.Author, n.Body, n.CreatedAt).Scan(&n.ID)
	if err != nil {
		return 0, fmt.Errorf("adding note to case %d: %w", n.CaseID, err)
	}
	return n.ID, nil
}

// CaseNotes returns a case's notes oldest first.
func CaseNotes(ctx context.Context, q Querier, caseID int64) ([]Note, error) {
	rows, err := q.Query(ctx, "SELECT id, case_id, author, body, created_at FROM notes WHERE case_id = ? ORDER BY id", caseID)
	if err != nil {
		return nil, fmt.Errorf("loading notes of case %d: %w", caseID, err)
	}
	defer rows.Close()
	var out []Note
	for rows.Next() {
		var n Note
		if err := rows.Scan(&n.ID, &n.CaseID, &n.Author, &n.Body, &n.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
