package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MessageStatus is what became of one stored email.
type MessageStatus string

// Message states.
const (
	MessageReceived    MessageStatus = "received"    // stored, ingest pending
	MessageParsed      MessageStatus = "parsed"      // threaded into a case
	MessageIgnored     MessageStatus = "ignored"     // kept, not a question (auto-reply, bounce, list…)
	MessageUnparseable MessageStatus = "unparseable" // kept raw, shown to staff
	MessageSent        MessageStatus = "sent"        // one of our replies
)

// Direction of a message.
const (
	Inbound  = "in"
	Outbound = "out"
)

// Message is one email, inbound or outbound. Raw holds the bytes exactly as
// fetched (or, for an oversized inbound message, its header only, with
// Truncated set).
type Message struct {
	ID           int64
	CaseID       *int64
	Direction    string
	Mailbox      string
	UIDValidity  *int64
	UID          *int64
	MessageID    string // without angle brackets
	ContentHash  string
	InReplyTo    string // without angle brackets
	References   string // space-separated, without angle brackets
	Subject      string
	From         string // address only
	FromName     string // display name
	Date         *time.Time
	Size         int64
	Raw          []byte
	Truncated    bool
	BodyText     string
	QuestionText string
	Status       MessageStatus
	StatusReason string
	ReceivedAt   time.Time
	ParsedAt     *time.Time
}

const messageCols = `id, case_id, direction, mailbox, uid_validity, uid, message_id, content_hash,
	in_reply_to, refs, subject, from_addr, from_name, date, size, raw, truncated, body_text, question_text,
	status, status_reason, received_at, parsed_at`

func scanMessage(r Row) (Message, error) {
	var m Message
	err := r.Scan(&m.ID, &m.CaseID, &m.Direction, &m.Mailbox, &m.UIDValidity, &m.UID, &m.MessageID,
		&m.ContentHash, &m.InReplyTo, &m.References, &m.Subject, &m.From, &m.FromName, &m.Date, &m.Size, &m.Raw,
		&m.Truncated, &m.BodyText, &m.QuestionText, &m.Status, &m.StatusReason, &m.ReceivedAt, &m.ParsedAt)
	return m, err
}

// InsertMessage stores a message. A message already stored under the same
// (mailbox, UIDVALIDITY, UID) or the same (mailbox, Message-ID, content hash)
// is not stored again: inserted is false and id is the existing row's.
func InsertMessage(ctx context.Context, q Querier, m *Message) (id int64, inserted bool, err error) {
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = time.Now()
	}
	if m.Status == "" {
		m.Status = MessageReceived
	}
	if m.Direction == "" {
		m.Direction = Inbound
	}
	if m.MessageID == "" || m.ContentHash == "" {
		return 0, false, errors.New("storing message: Message-ID and content hash are required")
	}
	err = q.QueryRow(ctx, `INSERT INTO messages (case_id, direction, mailbox, uid_validity, uid, message_id,
		content_hash, in_reply_to, refs, subject, from_addr, from_name, date, size, raw, truncated, body_text,
		question_text, status, status_reason, received_at, parsed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING RETURNING id`,
		m.CaseID, m.Direction, m.Mailbox, m.UIDValidity, m.UID, m.MessageID, m.ContentHash, m.InReplyTo,
		m.References, m.Subject, m.From, m.FromName, m.Date, m.Size, m.Raw, m.Truncated, m.BodyText, m.QuestionText,
		m.Status, m.StatusReason, m.ReceivedAt, m.ParsedAt).Scan(&m.ID)
	if err == nil {
		return m.ID, true, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return 0, false, fmt.Errorf("storing message: %w", err)
	}
	// A duplicate: find the row that absorbed it.
	var existing int64
	err = q.QueryRow(ctx, `SELECT id FROM messages WHERE (mailbox = ? AND uid_validity = ? AND uid = ?)
		OR (mailbox = ? AND message_id = ? AND content_hash = ?) ORDER BY id LIMIT 1`,
		m.Mailbox, m.UIDValidity, m.UID, m.Mailbox, m.MessageID, m.ContentHash).Scan(&existing)
	if err != nil {
		return 0, false, fmt.Errorf("finding duplicate message: %w", err)
	}
	m.ID = existing
	return existing, false, nil
}

// GetMessage loads a message by ID.
func GetMessage(ctx context.Context, q Querier, id int64) (Message, error) {
	m, err := scanMessage(q.QueryRow(ctx, "SELECT "+messageCols+" FROM messages WHERE id = ?", id))
	if err != nil {
		return m, fmt.Errorf("loading message %d: %w", id, err)
	}
	return m, nil
}

// CaseMessages returns a case's messages oldest first.
func CaseMessages(ctx context.Context, q Querier, caseID int64) ([]Message, error) {
	rows, err := q.Query(ctx, "SELECT "+messageCols+" FROM messages WHERE case_id = ? ORDER BY id", caseID)
	if err != nil {
		return nil, fmt.Errorf("loading messages of case %d: %w", caseID, err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("loading messages of case %d: %w", caseID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ParsedMessage is what ingest learned from a message.
type ParsedMessage struct {
	CaseID       int64
	Subject      string
	From         string
	FromName     string
	Date         *time.Time
	InReplyTo    string
	References   string
	BodyText     string
	QuestionText string
	Status       MessageStatus
	StatusReason string
}

// SetMessageParsed records the result of parsing a message.
func SetMessageParsed(ctx context.Context, q Querier, id int64, p ParsedMessage) error {
	var caseID *int64
	if p.CaseID != 0 {
		caseID = &p.CaseID
	}
	_, err := q.Exec(ctx, `UPDATE messages SET case_id = ?, subject = ?, from_addr = ?, from_name = ?, date = ?, in_reply_to = ?,
		refs = ?, body_text = ?, question_text = ?, status = ?, status_reason = ?, parsed_at = ? WHERE id = ?`,
		caseID, p.Subject, p.From, p.FromName, p.Date, p.InReplyTo, p.References, p.BodyText, p.QuestionText,
		p.Status, p.StatusReason, time.Now(), id)
	if err != nil {
		return fmt.Errorf("recording parse of message %d: %w", id, err)
	}
	return nil
}

// CaseByMessageIDs returns the case of the newest stored message whose
// Message-ID is one of ids (In-Reply-To and References of a new message);
// ErrNotFound when none is known.
func CaseByMessageIDs(ctx context.Context, q Querier, ids []string) (int64, error) {
	if len(ids) == 0 {
		return 0, ErrNotFound
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = strings.Trim(id, "<> ")
	}
	var caseID int64
	err := q.QueryRow(ctx, "SELECT case_id FROM messages WHERE case_id IS NOT NULL AND message_id IN ("+
		strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+") ORDER BY id DESC LIMIT 1", args...).Scan(&caseID)
	return caseID, err
}
