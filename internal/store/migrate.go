package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations live in migrations/<dialect>/NNNN_name.sql; the number is the
// version. Ranges keep areas apart: 0001–0099 mail and cases, 0100–0199 code
// sets, 0200–0299 staff desk, 0300+ later work. Each file runs in its own
// transaction together with the row that records it.
//
//go:embed migrations
var migrationFS embed.FS

// Migration is one schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the migrations for a dialect in version order.
func Migrations(d Dialect) ([]Migration, error) {
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("reading migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, name, v)
		}
		seen[v] = name
		b, err := migrationFS.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: rest, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// MigrateResult says what Migrate did.
type MigrateResult struct {
	Applied []Migration
}

// Migrate applies codedesk's pending migrations. Several processes may call
// it at once: PostgreSQL serialises them with an advisory lock, SQLite with
// its write lock.
func Migrate(ctx context.Context, db *DB) (MigrateResult, error) {
	var res MigrateResult
	migs, err := Migrations(db.Dialect())
	if err != nil {
		return res, err
	}
	create := `CREATE TABLE IF NOT EXISTS codedesk_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TIMESTAMP NOT NULL)`
	if db.Dialect() == Postgres {
		create = strings.Replace(create, "TIMESTAMP", "TIMESTAMPTZ", 1)
	}
	if _, err := db.Exec(ctx, create); err != nil {
		return res, fmt.Errorf("creating migrations table: %w", err)
	}
	for _, m := range migs {
		applied := false
		err := db.WithTx(ctx, func(tx *Tx) error {
			if db.Dialect() == Postgres {
				// 0x636f6465 = "code": one lock id for codedesk's migrations.
				if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(1668244581)"); err != nil {
					return fmt.Errorf("taking migration lock: %w", err)
				}
			}
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM codedesk_migrations WHERE version = ?", m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if err := execScript(ctx, tx, m.SQL); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO codedesk_migrations (version, name, applied_at) VALUES (?, ?, ?)", m.Version, m.Name, time.Now()); err != nil {
				return err
			}
			applied = true
			return nil
		})
		if err != nil {
			return res, err
		}
		if applied {
			res.Applied = append(res.Applied, m)
		}
	}
	return res, nil
}

// execScript runs a migration file. PostgreSQL takes a whole script in one
// Exec (simple protocol, no arguments); SQLite's driver runs every statement
// of a multi-statement string too.
func execScript(ctx context.Context, tx *Tx, script string) error {
	if tx.ptx != nil {
		_, err := tx.ptx.Exec(ctx, script)
		return err
	}
	_, err := tx.stx.ExecContext(ctx, script)
	return err
}

// Database-wide lock ids (PostgreSQL advisory locks) for WithLock.
const (
	// LockMigrations is held around all migrations ("codd"; the
	// per-migration transaction lock in Migrate is 0x636f6465).
	LockMigrations int64 = 0x636f6464
	// LockCodeSets is held while code sets are imported.
	LockCodeSets int64 = 0x636f6473
)

// WithMigrationLock runs fn under LockMigrations, so that nodes started
// together migrate one after the other (River's migrator takes no lock of
// its own, and concurrent CREATE TABLEs collide on PostgreSQL).
func WithMigrationLock(ctx context.Context, db *DB, fn func() error) error {
	return WithLock(ctx, db, LockMigrations, fn)
}

// WithLock runs fn while holding a database-wide lock: a session advisory
// lock on a connection of its own on PostgreSQL. On SQLite, where one node
// owns the file, fn runs at once (its single writer serialises writes).
// Do not nest WithLock calls with the same id: the inner one would wait for
// the outer one forever.
func WithLock(ctx context.Context, db *DB, id int64, fn func() error) error {
	if db.Dialect() != Postgres {
		return fn()
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("taking database lock %#x: %w", id, err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", id); err != nil {
		return fmt.Errorf("taking database lock %#x: %w", id, err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", id); err != nil {
			// The lock dies with the connection: close it rather than
			// return it to the pool still locked.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return fn()
}
