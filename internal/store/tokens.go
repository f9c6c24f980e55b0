package store

import (
	"context"
	"fmt"
	"time"
)

// OAuthToken is the stored state of one OAuth account (XOAUTH2 mail
// login): the newest refresh token, and the current access token.
type OAuthToken struct {
	Name          string
	RefreshToken  string
	AccessToken   string
	AccessExpiry  *time.Time
	RefreshExpiry *time.Time // when the provider said the refresh token expires; nil when unknown
	UpdatedAt     time.Time
}

// GetOAuthToken loads the token of an account; ErrNotFound when none is
// stored yet.
func GetOAuthToken(ctx context.Context, q Querier, name string) (OAuthToken, error) {
	var t OAuthToken
	err := q.QueryRow(ctx, `SELECT name, refresh_token, access_token, access_expiry, refresh_expiry, updated_at
		FROM oauth_tokens WHERE name = ?`, name).Scan(&t.Name, &t.RefreshToken, &t.AccessToken, &t.AccessExpiry,
		&t.RefreshExpiry, &t.UpdatedAt)
	if err != nil {
		return t, fmt.Errorf("loading oauth token %q: %w", name, err)
	}
	return t, nil
}

// SaveOAuthToken stores (inserts or replaces) the token of an account.
func SaveOAuthToken(ctx context.Context, q Querier, t OAuthToken) error {
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = time.Now()
	}
	_, err := q.Exec(ctx, `INSERT INTO oauth_tokens (name, refresh_token, access_token, access_expiry, refresh_expiry, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET refresh_token = excluded.refresh_token, access_token = excluded.access_token,
		access_expiry = excluded.access_expiry, refresh_expiry = excluded.refresh_expiry, updated_at = excluded.updated_at`,
		t.Name, t.RefreshToken, t.AccessToken, t.AccessExpiry, t.RefreshExpiry, t.UpdatedAt)
	if err != nil {
		return fmt.Errorf("saving oauth token %q: %w", t.Name, err)
	}
	return nil
}

// LockOAuthToken serialises token refreshes of one account across nodes
// until tx ends: a transaction-scoped advisory lock on PostgreSQL (it works
// before the account's row exists). On SQLite the single writer connection
// already serialises transactions.
func LockOAuthToken(ctx context.Context, tx *Tx, name string) error {
	if tx.Dialect() != Postgres {
		return nil
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('codedesk.oauth:' || ?))", name); err != nil {
		return fmt.Errorf("locking oauth token %q: %w", name, err)
	}
	return nil
}
