package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Lease is a row of the leases table: who holds the named lease until when.
type Lease struct {
	Name       string
	Holder     string
	Token      int64
	AcquiredAt time.Time
	RenewedAt  time.Time
	ExpiresAt  time.Time
}

// ErrLeaseLost is returned when a lease is no longer held by the caller
// (it expired and another holder took it, or it was released).
var ErrLeaseLost = errors.New("lease lost")

// AcquireLease takes the named lease for holder until now+ttl when it is
// free, expired, or already held by holder. It returns the new fencing
// token, or ok=false when someone else holds an unexpired lease. now is the
// caller's clock: nodes sharing a database must keep their clocks in sync
// (NTP) to well within the ttl.
func AcquireLease(ctx context.Context, q Querier, name, holder string, now time.Time, ttl time.Duration) (token int64, ok bool, err error) {
	err = q.QueryRow(ctx, `INSERT INTO leases (name, holder, token, acquired_at, renewed_at, expires_at)
		VALUES (?, ?, 1, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET
			holder = excluded.holder,
			token = leases.token + 1,
			acquired_at = excluded.acquired_at,
			renewed_at = excluded.renewed_at,
			expires_at = excluded.expires_at
		WHERE leases.expires_at < excluded.acquired_at OR leases.holder = excluded.holder
		RETURNING token`, name, holder, now, now, now.Add(ttl)).Scan(&token)
	if errors.Is(err, ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("acquiring lease %s: %w", name, err)
	}
	return token, true, nil
}

// RenewLease extends a held lease to now+ttl. It returns ErrLeaseLost when
// the lease is no longer holder's under token, or has already expired (a
// holder that could not renew in time must assume another node took over).
func RenewLease(ctx context.Context, q Querier, name, holder string, token int64, now time.Time, ttl time.Duration) error {
	n, err := q.Exec(ctx, `UPDATE leases SET renewed_at = ?, expires_at = ?
		WHERE name = ? AND holder = ? AND token = ? AND expires_at >= ?`,
		now, now.Add(ttl), name, holder, token, now)
	if err != nil {
		return fmt.Errorf("renewing lease %s: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("renewing lease %s: %w", name, ErrLeaseLost)
	}
	return nil
}

// ReleaseLease gives a held lease up at once (graceful shutdown), so that
// another node need not wait for it to expire. Releasing a lease that is no
// longer held is not an error.
func ReleaseLease(ctx context.Context, q Querier, name, holder string, token int64, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND token = ?`,
		now.Add(-time.Millisecond), name, holder, token)
	if err != nil {
		return fmt.Errorf("releasing lease %s: %w", name, err)
	}
	return nil
}

// CheckLease returns ErrLeaseLost unless holder holds the named lease under
// token and it has not expired at now. Run in the transaction that acts on
// the lease's behalf, it fences off a holder that lost the lease without
// noticing (PostgreSQL: the row is locked until the transaction ends, so a
// take-over waits for it).
func CheckLease(ctx context.Context, q Querier, name, holder string, token int64, now time.Time) error {
	query := `SELECT 1 FROM leases WHERE name = ? AND holder = ? AND token = ? AND expires_at >= ?`
	if d, ok := q.(interface{ Dialect() Dialect }); ok && d.Dialect() == Postgres {
		query += " FOR SHARE"
	}
	var one int
	err := q.QueryRow(ctx, query, name, holder, token, now).Scan(&one)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("lease %s: %w", name, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("checking lease %s: %w", name, err)
	}
	return nil
}

// GetLease loads the named lease; ErrNotFound when it was never taken.
func GetLease(ctx context.Context, q Querier, name string) (Lease, error) {
	l := Lease{Name: name}
	err := q.QueryRow(ctx, `SELECT holder, token, acquired_at, renewed_at, expires_at FROM leases WHERE name = ?`, name).
		Scan(&l.Holder, &l.Token, &l.AcquiredAt, &l.RenewedAt, &l.ExpiresAt)
	if err != nil {
		return l, fmt.Errorf("loading lease %s: %w", name, err)
	}
	return l, nil
}
