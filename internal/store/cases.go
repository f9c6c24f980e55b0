package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CaseStatus is where a case stands; see docs/design.md for the flow.
type CaseStatus string

// The case states. The main line runs received → … → sent; the side exits
// (ignored, needs_attention, rejected, failed) are always visible to staff.
const (
	StatusReceived       CaseStatus = "received"
	StatusParsed         CaseStatus = "parsed"
	StatusAnalysed       CaseStatus = "analysed"
	StatusDrafted        CaseStatus = "drafted"
	StatusAwaitingReview CaseStatus = "awaiting_review"
	StatusApproved       CaseStatus = "approved"
	StatusSending        CaseStatus = "sending"
	StatusSent           CaseStatus = "sent"
	StatusIgnored        CaseStatus = "ignored"
	StatusNeedsAttention CaseStatus = "needs_attention"
	StatusRejected       CaseStatus = "rejected"
	StatusFailed         CaseStatus = "failed"
)

// AllStatuses lists every case state in flow order.
var AllStatuses = []CaseStatus{
	StatusReceived, StatusParsed, StatusAnalysed, StatusDrafted, StatusAwaitingReview,
	StatusApproved, StatusSending, StatusSent, StatusIgnored, StatusNeedsAttention,
	StatusRejected, StatusFailed,
}

// Terminal reports whether no job is pending for a case in this state.
func (s CaseStatus) Terminal() bool {
	switch s {
	case StatusSent, StatusIgnored, StatusNeedsAttention, StatusRejected, StatusFailed, StatusAwaitingReview:
		return true
	}
	return false
}

// Case is one consultation: a question and everything that followed it.
// Its ID is the case number quoted in subjects as [Case #N].
type Case struct {
	ID              int64
	Subject         string
	Requester       string
	Status          CaseStatus
	StatusReason    string
	Kind            string
	Confidence      *float64
	Assignee        string
	LinkedCaseID    *int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
	FirstResponseAt *time.Time
}

const caseCols = `id, subject, requester, status, status_reason, kind, confidence, assignee,
	linked_case_id, created_at, updated_at, first_response_at`

func scanCase(r Row) (Case, error) {
	var c Case
	err := r.Scan(&c.ID, &c.Subject, &c.Requester, &c.Status, &c.StatusReason, &c.Kind,
		&c.Confidence, &c.Assignee, &c.LinkedCaseID, &c.CreatedAt, &c.UpdatedAt, &c.FirstResponseAt)
	return c, err
}

// CreateCase inserts a case and returns its number.
func CreateCase(ctx context.Context, q Querier, c *Case) (int64, error) {
	now := time.Now()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	c.UpdatedAt = c.CreatedAt
	if c.Status == "" {
		c.Status = StatusReceived
	}
	err := q.QueryRow(ctx, `INSERT INTO cases (subject, requester, status, status_reason, kind, confidence,
		assignee, linked_case_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		c.Subject, c.Requester, c.Status, c.StatusReason, c.Kind, c.Confidence, c.Assignee, c.LinkedCaseID,
		c.CreatedAt, c.UpdatedAt).Scan(&c.ID)
	if err != nil {
		return 0, fmt.Errorf("creating case: %w", err)
	}
	return c.ID, nil
}

// GetCase loads a case by number; ErrNotFound when there is none.
func GetCase(ctx context.Context, q Querier, id int64) (Case, error) {
	c, err := scanCase(q.QueryRow(ctx, "SELECT "+caseCols+" FROM cases WHERE id = ?", id))
	if err != nil {
		return c, fmt.Errorf("loading case %d: %w", id, err)
	}
	return c, nil
}

// TransitionCase moves a case to status `to` when it is in one of `from`
// (any state when from is empty), and reports whether it moved. Workers use
// it so that a retried job does not move a case backwards.
func TransitionCase(ctx context.Context, q Querier, id int64, from []CaseStatus, to CaseStatus, reason string) (bool, error) {
	query := "UPDATE cases SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?"
	args := []any{to, reason, time.Now(), id}
	if len(from) > 0 {
		query += " AND status IN (" + strings.TrimSuffix(strings.Repeat("?,", len(from)), ",") + ")"
		for _, s := range from {
			args = append(args, s)
		}
	}
	n, err := q.Exec(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("moving case %d to %s: %w", id, to, err)
	}
	return n > 0, nil
}

// SetCaseAnalysis records the kind and confidence of the latest analysis.
func SetCaseAnalysis(ctx context.Context, q Querier, id int64, kind string, confidence float64) error {
	_, err := q.Exec(ctx, "UPDATE cases SET kind = ?, confidence = ?, updated_at = ? WHERE id = ?",
		kind, confidence, time.Now(), id)
	if err != nil {
		return fmt.Errorf("recording analysis of case %d: %w", id, err)
	}
	return nil
}

// SetFirstResponse records when the first reply went out, once.
func SetFirstResponse(ctx context.Context, q Querier, id int64, at time.Time) error {
	_, err := q.Exec(ctx, "UPDATE cases SET first_response_at = ? WHERE id = ? AND first_response_at IS NULL", at, id)
	if err != nil {
		return fmt.Errorf("recording first response of case %d: %w", id, err)
	}
	return nil
}

// CaseFilter selects cases for a list.
type CaseFilter struct {
	Statuses []CaseStatus // any when empty
	Limit    int          // default 50
	BeforeID int64        // keyset pagination: only cases with id < BeforeID
}

// ListCases returns cases newest first.
func ListCases(ctx context.Context, q Querier, f CaseFilter) ([]Case, error) {
	query := "SELECT " + caseCols + " FROM cases WHERE 1=1"
	var args []any
	if len(f.Statuses) > 0 {
		query += " AND status IN (" + strings.TrimSuffix(strings.Repeat("?,", len(f.Statuses)), ",") + ")"
		for _, s := range f.Statuses {
			args = append(args, s)
		}
	}
	if f.BeforeID > 0 {
		query += " AND id < ?"
		args = append(args, f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing cases: %w", err)
	}
	defer rows.Close()
	var out []Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, fmt.Errorf("listing cases: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CountCasesByStatus returns how many cases are in each state.
func CountCasesByStatus(ctx context.Context, q Querier) (map[CaseStatus]int, error) {
	rows, err := q.Query(ctx, "SELECT status, COUNT(*) FROM cases GROUP BY status")
	if err != nil {
		return nil, fmt.Errorf("counting cases: %w", err)
	}
	defer rows.Close()
	out := map[CaseStatus]int{}
	for rows.Next() {
		var s CaseStatus
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// AddParticipant records that an address takes part in a case. Threading
// by subject tag only joins messages from participants.
func AddParticipant(ctx context.Context, q Querier, caseID int64, address string) error {
	address = strings.ToLower(strings.TrimSpace(address))
	if address == "" {
		return nil
	}
	_, err := q.Exec(ctx, "INSERT INTO case_participants (case_id, address) VALUES (?, ?) ON CONFLICT DO NOTHING", caseID, address)
	if err != nil {
		return fmt.Errorf("adding participant to case %d: %w", caseID, err)
	}
	return nil
}

// IsParticipant reports whether address takes part in the case.
func IsParticipant(ctx context.Context, q Querier, caseID int64, address string) (bool, error) {
	var n int
	err := q.QueryRow(ctx, "SELECT COUNT(*) FROM case_participants WHERE case_id = ? AND address = ?",
		caseID, strings.ToLower(strings.TrimSpace(address))).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("checking participant of case %d: %w", caseID, err)
	}
	return n > 0, nil
}
