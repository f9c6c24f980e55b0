package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Role is what a staff account may do on the desk.
type Role string

// Staff roles: reviewers work the queue; admins also see the audit view and
// River's job UI.
const (
	RoleReviewer Role = "reviewer"
	RoleAdmin    Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleReviewer || r == RoleAdmin }

// User is a staff account of the web desk.
type User struct {
	ID           int64
	Email        string
	Name         string
	Role         Role
	PasswordHash string // argon2id, PHC string format
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastLoginAt  *time.Time
}

const userCols = "id, email, name, role, password_hash, disabled, created_at, updated_at, last_login_at"

func scanUser(r Row) (User, error) {
	var u User
	err := r.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.Disabled, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt)
	return u, err
}

// NormalizeEmail lower-cases and trims an account's email address.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// UpsertUser creates an account, or, when the email is taken, replaces its
// role, name and password and enables it again. It reports whether the
// account is new.
func UpsertUser(ctx context.Context, q Querier, u *User) (created bool, err error) {
	u.Email = NormalizeEmail(u.Email)
	if !u.Role.Valid() {
		return false, fmt.Errorf("saving user: unknown role %q", u.Role)
	}
	now := time.Now()
	existing, err := GetUserByEmail(ctx, q, u.Email)
	switch {
	case err == nil:
		u.ID, u.CreatedAt, u.UpdatedAt = existing.ID, existing.CreatedAt, now
		if u.Name == "" {
			u.Name = existing.Name
		}
		_, err = q.Exec(ctx, "UPDATE users SET name = ?, role = ?, password_hash = ?, disabled = ?, updated_at = ? WHERE id = ?",
			u.Name, u.Role, u.PasswordHash, false, now, u.ID)
		if err != nil {
			return false, fmt.Errorf("updating user %d: %w", u.ID, err)
		}
		// A new password ends every session of the account.
		if _, err := q.Exec(ctx, "DELETE FROM sessions WHERE user_id = ?", u.ID); err != nil {
			return false, fmt.Errorf("ending sessions of user %d: %w", u.ID, err)
		}
		return false, nil
	case !isNotFound(err):
		return false, err
	}
	u.CreatedAt, u.UpdatedAt = now, now
	err = q.QueryRow(ctx, `INSERT INTO users (email, name, role, password_hash, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, u.Email, u.Name, u.Role, u.PasswordHash, false, now, now).Scan(&u.ID)
	if err != nil {
		return false, fmt.Errorf("creating user: %w", err)
	}
	return true, nil
}

// GetUserByEmail loads an account by email; ErrNotFound when there is none.
func GetUserByEmail(ctx context.Context, q Querier, email string) (User, error) {
	u, err := scanUser(q.QueryRow(ctx, "SELECT "+userCols+" FROM users WHERE email = ?", NormalizeEmail(email)))
	if err != nil {
		return u, fmt.Errorf("loading user: %w", err)
	}
	return u, nil
}

// GetUser loads an account by ID.
func GetUser(ctx context.Context, q Querier, id int64) (User, error) {
	u, err := scanUser(q.QueryRow(ctx, "SELECT "+userCols+" FROM users WHERE id = ?", id))
	if err != nil {
		return u, fmt.Errorf("loading user %d: %w", id, err)
	}
	return u, nil
}

// ListUsers returns every account, by email.
func ListUsers(ctx context.Context, q Querier) ([]User, error) {
	rows, err := q.Query(ctx, "SELECT "+userCols+" FROM users ORDER BY email")
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("listing users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers returns how many accounts exist.
func CountUsers(ctx context.Context, q Querier) (int, error) {
	var n int
	if err := q.QueryRow(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
		return 0, fmt.Errorf("counting users: %w", err)
	}
	return n, nil
}

// SetUserDisabled disables (or enables) an account; disabling ends its
// sessions. It reports whether the account exists.
func SetUserDisabled(ctx context.Context, q Querier, email string, disabled bool) (bool, error) {
	n, err := q.Exec(ctx, "UPDATE users SET disabled = ?, updated_at = ? WHERE email = ?", disabled, time.Now(), NormalizeEmail(email))
	if err != nil {
		return false, fmt.Errorf("disabling user: %w", err)
	}
	if disabled {
		if _, err := q.Exec(ctx, "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE email = ?)", NormalizeEmail(email)); err != nil {
			return false, fmt.Errorf("ending sessions: %w", err)
		}
	}
	return n > 0, nil
}

// RecordLogin sets an account's last sign-in time.
func RecordLogin(ctx context.Context, q Querier, id int64, at time.Time) error {
	if _, err := q.Exec(ctx, "UPDATE users SET last_login_at = ? WHERE id = ?", at, id); err != nil {
		return fmt.Errorf("recording sign-in of user %d: %w", id, err)
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
