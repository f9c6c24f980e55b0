package store

import (
	"context"
	"fmt"
	"time"
)

// Session is a signed-in browser. Only the SHA-256 of its cookie token is
// stored.
type Session struct {
	TokenHash  string
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end, whatever the activity
}

// CreateSession stores a new session.
func CreateSession(ctx context.Context, q Querier, s Session) error {
	_, err := q.Exec(ctx, "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)",
		s.TokenHash, s.UserID, s.CreatedAt, s.LastSeenAt, s.ExpiresAt)
	if err != nil {
		return fmt.Errorf("creating session: %w", err)
	}
	return nil
}

// SessionUser loads a session and its account by token hash; ErrNotFound
// when there is no such session.
func SessionUser(ctx context.Context, q Querier, tokenHash string) (Session, User, error) {
	var s Session
	var u User
	err := q.QueryRow(ctx, `SELECT s.token_hash, s.user_id, s.created_at, s.last_seen_at, s.expires_at,
		u.id, u.email, u.name, u.role, u.password_hash, u.disabled, u.created_at, u.updated_at, u.last_login_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`, tokenHash).
		Scan(&s.TokenHash, &s.UserID, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt,
			&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.Disabled, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt)
	if err != nil {
		return s, u, fmt.Errorf("loading session: %w", err)
	}
	return s, u, nil
}

// TouchSession records activity on a session (the idle timeout counts from
// it).
func TouchSession(ctx context.Context, q Querier, tokenHash string, at time.Time) error {
	if _, err := q.Exec(ctx, "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", at, tokenHash); err != nil {
		return fmt.Errorf("touching session: %w", err)
	}
	return nil
}

// DeleteSession ends a session.
func DeleteSession(ctx context.Context, q Querier, tokenHash string) error {
	if _, err := q.Exec(ctx, "DELETE FROM sessions WHERE token_hash = ?", tokenHash); err != nil {
		return fmt.Errorf("ending session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions past their absolute end or idle
// since before idleBefore, and returns how many went.
func DeleteExpiredSessions(ctx context.Context, q Querier, now, idleBefore time.Time) (int64, error) {
	n, err := q.Exec(ctx, "DELETE FROM sessions WHERE expires_at < ? OR last_seen_at < ?", now, idleBefore)
	if err != nil {
		return 0, fmt.Errorf("removing expired sessions: %w", err)
	}
	return n, nil
}
