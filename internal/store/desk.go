package store

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// QueueFilter selects one page of the review queue.
type QueueFilter struct {
	Statuses []CaseStatus // any when empty
	// Search matches a case number ("123" or "#123"), a sender address
	// (or part of one), a code the analysis found ("E11.22", "E11" as a
	// prefix, "K0001") or words of the subject.
	Search string
	// Assignee: "" any, UnassignedOnly for cases nobody claimed, otherwise
	// that account's email.
	Assignee string
	// OldestFirst orders by case number ascending (working a queue in
	// arrival order); the default is newest first.
	OldestFirst bool
	// After is the keyset cursor: the last case number of the previous
	// page (0 for the first page).
	After int64
	Limit int // default 50, at most 500
}

// UnassignedOnly as QueueFilter.Assignee selects cases nobody has claimed.
const UnassignedOnly = "-"

var (
	caseNumberRe = regexp.MustCompile(`^#?\s*([0-9]{1,12})$`)
	// ICD-10-CM (A00–Z99 with optional subdivisions), HCPCS Level II
	// (A0000–V9999) and CPT (five digits, or four digits and F/T/U).
	codeRe = regexp.MustCompile(`^([A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{0,4})?|[A-Z][0-9]{4}|[0-9]{4}[0-9FTU])$`)
)

// ListQueue returns one page of cases for the desk and whether more follow.
// Pagination is by keyset on the case number, so every page costs the same
// however deep it is.
func ListQueue(ctx context.Context, q Querier, f QueueFilter) ([]Case, bool, error) {
	var where []string
	var args []any
	if len(f.Statuses) > 0 {
		where = append(where, "status IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.Statuses)), ",")+")")
		for _, s := range f.Statuses {
			args = append(args, s)
		}
	}
	switch f.Assignee {
	case "":
	case UnassignedOnly:
		where = append(where, "assignee = ''")
	default:
		where = append(where, "assignee = ?")
		args = append(args, NormalizeEmail(f.Assignee))
	}
	if s := strings.TrimSpace(f.Search); s != "" {
		w, a := searchClause(q.Dialect(), s)
		where = append(where, w)
		args = append(args, a...)
	}
	order := "DESC"
	if f.OldestFirst {
		order = "ASC"
	}
	if f.After > 0 {
		if f.OldestFirst {
			where = append(where, "id > ?")
		} else {
			where = append(where, "id < ?")
		}
		args = append(args, f.After)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	query := "SELECT " + caseCols + " FROM cases"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id " + order + " LIMIT ?"
	args = append(args, limit+1)
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("listing the queue: %w", err)
	}
	defer rows.Close()
	out := make([]Case, 0, limit)
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, false, fmt.Errorf("listing the queue: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("listing the queue: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// searchClause turns a desk search into a WHERE clause.
func searchClause(d Dialect, s string) (string, []any) {
	if m := caseNumberRe.FindStringSubmatch(s); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		// A number may also be a CPT code.
		return "(id = ? OR " + codeExists(d) + ")", []any{n, m[1] + "%"}
	}
	if strings.Contains(s, "@") {
		return "LOWER(requester) LIKE ? ESCAPE '\\'", []any{"%" + likeEscape(strings.ToLower(s)) + "%"}
	}
	up := strings.ToUpper(s)
	like := "%" + likeEscape(strings.ToLower(s)) + "%"
	if codeRe.MatchString(up) {
		return "(" + codeExists(d) + " OR LOWER(subject) LIKE ? ESCAPE '\\')", []any{likeEscape(up) + "%", like}
	}
	return "(LOWER(subject) LIKE ? ESCAPE '\\' OR LOWER(requester) LIKE ? ESCAPE '\\')", []any{like, like}
}

// codeExists is a condition true when one of the case's analyses found a
// code starting with the bound prefix (the codes of analysis.Result).
func codeExists(d Dialect) string {
	if d == Postgres {
		return `EXISTS (SELECT 1 FROM analyses a, jsonb_array_elements(CASE WHEN jsonb_typeof(a.result->'codes') = 'array'
			THEN a.result->'codes' ELSE '[]'::jsonb END) c WHERE a.case_id = cases.id AND c->>'code' LIKE ? ESCAPE '\')`
	}
	return `EXISTS (SELECT 1 FROM analyses a, json_each(a.result, '$.codes') c WHERE a.case_id = cases.id
		AND json_extract(c.value, '$.code') LIKE ? ESCAPE '\')`
}

// likeEscape escapes LIKE's wildcards so user input matches literally.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// AssignCase sets (or, with "", clears) a case's assignee and reports
// whether the case exists.
func AssignCase(ctx context.Context, q Querier, caseID int64, assignee string) (bool, error) {
	n, err := q.Exec(ctx, "UPDATE cases SET assignee = ?, updated_at = ? WHERE id = ?", NormalizeEmail(assignee), time.Now(), caseID)
	if err != nil {
		return false, fmt.Errorf("assigning case %d: %w", caseID, err)
	}
	return n > 0, nil
}

// LatestAnalysis loads the newest analysis of a case; ErrNotFound when the
// case was never analysed.
func LatestAnalysis(ctx context.Context, q Querier, caseID int64) (Analysis, error) {
	var a Analysis
	var result string
	err := q.QueryRow(ctx, "SELECT id, case_id, message_id, kind, confidence, result, created_at FROM analyses WHERE case_id = ? ORDER BY id DESC LIMIT 1", caseID).
		Scan(&a.ID, &a.CaseID, &a.MessageID, &a.Kind, &a.Confidence, &result, &a.CreatedAt)
	if err != nil {
		return a, fmt.Errorf("loading analysis of case %d: %w", caseID, err)
	}
	a.Result = []byte(result)
	return a, nil
}

// LatestInbound returns the newest parsed question of a case (the message a
// re-run of the analysis starts from); ErrNotFound when there is none.
func LatestInbound(ctx context.Context, q Querier, caseID int64) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, "SELECT id FROM messages WHERE case_id = ? AND direction = ? AND status = ? ORDER BY id DESC LIMIT 1",
		caseID, Inbound, MessageParsed).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("finding the question of case %d: %w", caseID, err)
	}
	return id, nil
}

// SupersedePendingDrafts marks a case's drafts that wait for review as
// superseded (a re-run of the analysis will draft anew) and returns how
// many there were.
func SupersedePendingDrafts(ctx context.Context, q Querier, caseID int64) (int64, error) {
	n, err := q.Exec(ctx, "UPDATE drafts SET status = ?, updated_at = ? WHERE case_id = ? AND status = ?",
		DraftSuperseded, time.Now(), caseID, DraftPending)
	if err != nil {
		return 0, fmt.Errorf("superseding drafts of case %d: %w", caseID, err)
	}
	return n, nil
}

// ClaimCase assigns an unassigned case to who and reports whether it did;
// false means someone else claimed it first (or the case does not exist).
func ClaimCase(ctx context.Context, q Querier, caseID int64, who string) (bool, error) {
	n, err := q.Exec(ctx, "UPDATE cases SET assignee = ?, updated_at = ? WHERE id = ? AND assignee = ''", NormalizeEmail(who), time.Now(), caseID)
	if err != nil {
		return false, fmt.Errorf("claiming case %d: %w", caseID, err)
	}
	return n > 0, nil
}
