package store

import (
	"context"
	"fmt"
	"time"
)

// Analysis is the stored result of analysing a case's question: the kind,
// the confidence, and the full evidence as JSON.
type Analysis struct {
	ID         int64
	CaseID     int64
	MessageID  int64
	Kind       string
	Confidence float64
	Result     []byte // JSON
	CreatedAt  time.Time
}

// InsertAnalysis stores an analysis.
func InsertAnalysis(ctx context.Context, q Querier, a *Analysis) (int64, error) {
	a.CreatedAt = time.Now()
	err := q.QueryRow(ctx, `INSERT INTO analyses (case_id, message_id, kind, confidence, result, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		a.CaseID, a.MessageID, a.Kind, a.Confidence, string(a.Result), a.CreatedAt).Scan(&a.ID)
	if err != nil {
		return 0, fmt.Errorf("storing analysis of case %d: %w", a.CaseID, err)
	}
	return a.ID, nil
}

// GetAnalysis loads an analysis by ID.
func GetAnalysis(ctx context.Context, q Querier, id int64) (Analysis, error) {
	var a Analysis
	var result string
	err := q.QueryRow(ctx, "SELECT id, case_id, message_id, kind, confidence, result, created_at FROM analyses WHERE id = ?", id).
		Scan(&a.ID, &a.CaseID, &a.MessageID, &a.Kind, &a.Confidence, &result, &a.CreatedAt)
	if err != nil {
		return a, fmt.Errorf("loading analysis %d: %w", id, err)
	}
	a.Result = []byte(result)
	return a, nil
}
