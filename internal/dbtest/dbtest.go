// Package dbtest gives tests a fresh, migrated codedesk database: a SQLite
// file in the test's temp dir, and, when CODEDESK_TEST_DATABASE_URL names a
// PostgreSQL server, a private schema on it that is dropped at cleanup. The
// idea follows River's riverdbtest, which is internal to River.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/store"
	"github.com/jackc/pgx/v5"
)

// EnvURL is the environment variable naming the PostgreSQL test server.
const EnvURL = "CODEDESK_TEST_DATABASE_URL"

// Migrator applies schema beyond codedesk's own tables (River's, from the
// queue package). Tests that need River's tables pass queue.Migrate.
type Migrator func(ctx context.Context, db *store.DB) error

// SQLite returns a fresh migrated SQLite database for the test.
func SQLite(t testing.TB, extra ...Migrator) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "codedesk.db"), store.Options{})
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	migrate(t, db, extra)
	return db
}

// PostgresURL returns CODEDESK_TEST_DATABASE_URL, or skips the test when it
// is not set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		t.Skipf("PostgreSQL tests skipped: set %s (as .ci/run does) to run them", EnvURL)
	}
	return u
}

// Postgres returns a fresh migrated database in a private schema on the
// PostgreSQL server named by CODEDESK_TEST_DATABASE_URL; it skips the test
// when the variable is not set. The schema is dropped at cleanup.
func Postgres(t testing.TB, extra ...Migrator) *store.DB {
	t.Helper()
	db, _ := PostgresWithURL(t, extra...)
	return db
}

// PostgresWithURL is Postgres that also returns a URL opening the same
// schema, for tests that start a second process or client on it.
func PostgresWithURL(t testing.TB, extra ...Migrator) (*store.DB, string) {
	t.Helper()
	base := PostgresURL(t)
	ctx := context.Background()
	schema := "t_" + randomHex(6)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("dbtest: connecting to %s: %v", EnvURL, err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		conn.Close(ctx)
		t.Fatalf("dbtest: creating schema: %v", err)
	}
	conn.Close(ctx)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	})
	db, err := store.Open(ctx, base, store.Options{SearchPath: schema, MaxConns: 10})
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	migrate(t, db, extra)
	return db, WithSearchPath(base, schema)
}

// WithSearchPath adds a search_path to a PostgreSQL URL.
func WithSearchPath(u, schema string) string {
	sep := "?"
	for i := 0; i < len(u); i++ {
		if u[i] == '?' {
			sep = "&"
			break
		}
	}
	return u + sep + "search_path=" + schema
}

// Each runs fn as a subtest on SQLite and on PostgreSQL (the latter skipped
// when CODEDESK_TEST_DATABASE_URL is not set).
func Each(t *testing.T, fn func(t *testing.T, db *store.DB), extra ...Migrator) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, SQLite(t, extra...))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, Postgres(t, extra...))
	})
}

func migrate(t testing.TB, db *store.DB, extra []Migrator) {
	t.Helper()
	ctx := context.Background()
	if _, err := store.Migrate(ctx, db); err != nil {
		t.Fatalf("dbtest: migrating: %v", err)
	}
	for _, m := range extra {
		if err := m(ctx, db); err != nil {
			t.Fatalf("dbtest: migrating: %v", err)
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
