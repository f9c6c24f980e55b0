package store

import (
	"context"
	"fmt"
	"time"
)

// RecentSignInFailures returns the times of the newest failures (at most
// limit, newest first) recorded under key after since.
func RecentSignInFailures(ctx context.Context, q Querier, key string, since time.Time, limit int) ([]time.Time, error) {
	rows, err := q.Query(ctx, `SELECT at FROM sign_in_failures WHERE key = ? AND at > ? ORDER BY at DESC LIMIT ?`, key, since, limit)
	if err != nil {
		return nil, fmt.Errorf("loading sign-in failures: %w", err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var at time.Time
		if err := rows.Scan(&at); err != nil {
			return nil, fmt.Errorf("loading sign-in failures: %w", err)
		}
		out = append(out, at)
	}
	return out, rows.Err()
}

// AddSignInFailure records a failure under each key, and forgets failures
// older than before (they no longer count).
func AddSignInFailure(ctx context.Context, db *DB, keys []string, at, before time.Time) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		for _, k := range keys {
			if _, err := tx.Exec(ctx, `INSERT INTO sign_in_failures (key, at) VALUES (?, ?)`, k, at); err != nil {
				return fmt.Errorf("recording a sign-in failure: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sign_in_failures WHERE at < ?`, before); err != nil {
			return fmt.Errorf("pruning sign-in failures: %w", err)
		}
		return nil
	})
}

// ClearSignInFailures forgets the failures under key (after a successful
// sign-in).
func ClearSignInFailures(ctx context.Context, q Querier, key string) error {
	if _, err := q.Exec(ctx, `DELETE FROM sign_in_failures WHERE key = ?`, key); err != nil {
		return fmt.Errorf("clearing sign-in failures: %w", err)
	}
	return nil
}
