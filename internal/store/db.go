// Package store is codedesk's database layer. One schema, two engines: an
// embedded SQLite file (the default, through modernc.org/sqlite, no cgo) and
// PostgreSQL (through pgx) for deployments that run several nodes.
//
// Queries are written once with "?" placeholders; on PostgreSQL they are
// rebound to "$1, $2, …" before they run. Code that needs a transaction calls
// DB.WithTx and passes the *Tx everywhere (with SQLite's single writer
// connection, a pool query issued while a transaction is open would wait for
// that transaction forever). River's job inserts join the same transaction
// through Tx.SQL (SQLite) or Tx.Pgx (PostgreSQL).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"modernc.org/sqlite"
)

// Dialect names the database engine behind a DB.
type Dialect int

// The supported engines.
const (
	SQLite Dialect = iota + 1
	Postgres
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "unknown"
}

// ErrNotFound is returned when a row asked for by key does not exist.
var ErrNotFound = errors.New("not found")

// Options tunes how a database is opened. The zero value is sensible.
type Options struct {
	// MaxConns caps PostgreSQL pool connections (default 20) and SQLite
	// read-only connections (default 4). SQLite always has one writer.
	MaxConns int
	// BusyTimeout is how long SQLite waits for a lock (default 10s).
	BusyTimeout time.Duration
	// SearchPath, when set, makes every PostgreSQL connection use this
	// schema first (tests use a schema per test).
	SearchPath string
}

// DB is an open codedesk database.
type DB struct {
	dialect Dialect
	dsn     string

	// SQLite: one writer connection (River and every transaction) and a
	// small pool of read-only connections for plain reads (WAL lets them
	// run beside the writer).
	sqlw *sql.DB
	sqlr *sql.DB

	// PostgreSQL.
	pool *pgxpool.Pool
}

// IsPostgresURL reports whether a database URL selects PostgreSQL.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// Open opens the database named by dbURL: a postgres:// or postgresql:// URL
// selects PostgreSQL; anything else is a SQLite file path (an optional
// "sqlite:" or "file:" prefix is accepted). The SQLite file's directory is
// created when missing. Open does not migrate; call Migrate.
func Open(ctx context.Context, dbURL string, opts Options) (*DB, error) {
	if IsPostgresURL(dbURL) {
		return openPostgres(ctx, dbURL, opts)
	}
	return openSQLite(ctx, dbURL, opts)
}

func openSQLite(ctx context.Context, dbURL string, opts Options) (*DB, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(dbURL, "sqlite:"), "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		return nil, errors.New("opening sqlite: empty database path")
	}
	if path == ":memory:" {
		return nil, errors.New("opening sqlite: :memory: gives each connection its own database; use a file")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("creating database directory: %w", err)
		}
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_time_format", "sqlite")
	wq := url.Values{}
	for k, v := range q {
		wq[k] = v
	}
	wq.Set("_txlock", "immediate")
	drv := &sqlite.Driver{}
	w := sql.OpenDB(cachingConnector{dsn: "file:" + path + "?" + wq.Encode(), drv: drv})
	// River's SQLite driver documentation: one connection avoids
	// SQLITE_BUSY between River's concurrent internal operations.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("opening sqlite %s: %w", path, err)
	}
	rq := url.Values{}
	for k, v := range q {
		rq[k] = v
	}
	rq.Add("_pragma", "query_only(1)")
	r := sql.OpenDB(cachingConnector{dsn: "file:" + path + "?" + rq.Encode(), drv: drv})
	n := opts.MaxConns
	if n <= 0 {
		n = 4
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &DB{dialect: SQLite, dsn: path, sqlw: w, sqlr: r}, nil
}

func openPostgres(ctx context.Context, dbURL string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("parsing postgres url: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = int32(opts.MaxConns)
	} else if !strings.Contains(dbURL, "pool_max_conns") {
		cfg.MaxConns = 20
	}
	if opts.SearchPath != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = opts.SearchPath
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("opening postgres: %w", err)
	}
	return &DB{dialect: Postgres, dsn: dbURL, pool: pool}, nil
}

// Close closes every connection.
func (db *DB) Close() error {
	if db.pool != nil {
		db.pool.Close()
		return nil
	}
	err := db.sqlr.Close()
	if werr := db.sqlw.Close(); werr != nil {
		err = werr
	}
	return err
}

// Dialect tells which engine this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// SQLDB returns SQLite's writer *sql.DB (for River's riversqlite driver), or
// nil on PostgreSQL.
func (db *DB) SQLDB() *sql.DB { return db.sqlw }

// Pool returns the PostgreSQL pool (for River's riverpgxv5 driver), or nil on
// SQLite.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Exec runs a statement outside a transaction and returns the rows affected.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if db.pool != nil {
		tag, err := db.pool.Exec(ctx, rebind(query), pgArgs(args)...)
		return tag.RowsAffected(), err
	}
	res, err := db.sqlw.ExecContext(ctx, query, sqliteArgs(args)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Query runs a query outside a transaction. On SQLite a SELECT uses the
// read-only connections, so it never waits for the writer.
func (db *DB) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	if db.pool != nil {
		rows, err := db.pool.Query(ctx, rebind(query), pgArgs(args)...)
		if err != nil {
			return nil, err
		}
		return pgRows{rows}, nil
	}
	rows, err := db.sqlite(query).QueryContext(ctx, query, sqliteArgs(args)...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

// QueryRow runs a query expected to return at most one row (a SELECT, or a
// statement with RETURNING).
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) Row {
	if db.pool != nil {
		return pgRow{db.pool.QueryRow(ctx, rebind(query), pgArgs(args)...)}
	}
	return sqlRow{db.sqlite(query).QueryRowContext(ctx, query, sqliteArgs(args)...)}
}

// sqlite picks the SQLite pool for a query: SELECTs go to the read-only
// connections, anything else (INSERT … RETURNING) to the writer.
func (db *DB) sqlite(query string) *sql.DB {
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) >= 6 && strings.EqualFold(q[:6], "select") {
		return db.sqlr
	}
	return db.sqlw
}

// Tx is a transaction on either engine.
type Tx struct {
	dialect Dialect
	stx     *sql.Tx
	ptx     pgx.Tx
}

// SQL returns the *sql.Tx of a SQLite transaction (nil on PostgreSQL).
func (tx *Tx) SQL() *sql.Tx { return tx.stx }

// Pgx returns the pgx.Tx of a PostgreSQL transaction (nil on SQLite).
func (tx *Tx) Pgx() pgx.Tx { return tx.ptx }

// Dialect tells which engine this is.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// Exec runs a statement in the transaction and returns the rows affected.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if tx.ptx != nil {
		tag, err := tx.ptx.Exec(ctx, rebind(query), pgArgs(args)...)
		return tag.RowsAffected(), err
	}
	res, err := tx.stx.ExecContext(ctx, query, sqliteArgs(args)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Query runs a query in the transaction.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	if tx.ptx != nil {
		rows, err := tx.ptx.Query(ctx, rebind(query), pgArgs(args)...)
		if err != nil {
			return nil, err
		}
		return pgRows{rows}, nil
	}
	rows, err := tx.stx.QueryContext(ctx, query, sqliteArgs(args)...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

// QueryRow runs a query in the transaction expected to return at most one row.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) Row {
	if tx.ptx != nil {
		return pgRow{tx.ptx.QueryRow(ctx, rebind(query), pgArgs(args)...)}
	}
	return sqlRow{tx.stx.QueryRowContext(ctx, query, sqliteArgs(args)...)}
}

// Begin starts a transaction. Prefer WithTx, which always ends it.
func (db *DB) Begin(ctx context.Context) (*Tx, error) {
	if db.pool != nil {
		ptx, err := db.pool.Begin(ctx)
		if err != nil {
			return nil, fmt.Errorf("beginning transaction: %w", err)
		}
		return &Tx{dialect: Postgres, ptx: ptx}, nil
	}
	stx, err := db.sqlw.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("beginning transaction: %w", err)
	}
	return &Tx{dialect: SQLite, stx: stx}, nil
}

// Commit commits the transaction.
func (tx *Tx) Commit(ctx context.Context) error {
	if tx.ptx != nil {
		return tx.ptx.Commit(ctx)
	}
	return tx.stx.Commit()
}

// Rollback rolls the transaction back; after Commit it does nothing.
func (tx *Tx) Rollback(ctx context.Context) error {
	if tx.ptx != nil {
		err := tx.ptx.Rollback(ctx)
		if errors.Is(err, pgx.ErrTxClosed) {
			return nil
		}
		return err
	}
	err := tx.stx.Rollback()
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// WithTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise (also when fn panics).
func (db *DB) WithTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(ctx); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

// Querier is what both *DB and *Tx offer, so store functions can run inside
// or outside a transaction. Queries use "?" placeholders on both engines.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
	Dialect() Dialect
}

var (
	_ Querier = (*DB)(nil)
	_ Querier = (*Tx)(nil)
)

// Rows is a result set on either engine.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Row is a single-row result on either engine. Scan returns ErrNotFound when
// there was no row.
type Row interface {
	Scan(dest ...any) error
}

type sqlRows struct{ *sql.Rows }

type pgRows struct{ r pgx.Rows }

func (r pgRows) Next() bool             { return r.r.Next() }
func (r pgRows) Scan(dest ...any) error { return r.r.Scan(dest...) }
func (r pgRows) Err() error             { return r.r.Err() }
func (r pgRows) Close() error           { r.r.Close(); return r.r.Err() }

type sqlRow struct{ r *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

type pgRow struct{ r pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// rebind turns "?" placeholders into PostgreSQL's "$n", skipping quoted
// strings, quoted identifiers and comments.
func rebind(q string) string {
	if strings.IndexByte(q, '?') < 0 {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch c {
		case '\'', '"':
			j := i + 1
			for j < len(q) && q[j] != c {
				j++
			}
			if j >= len(q) {
				j = len(q) - 1
			}
			b.WriteString(q[i : j+1])
			i = j
		case '-':
			if i+1 < len(q) && q[i+1] == '-' {
				j := strings.IndexByte(q[i:], '\n')
				if j < 0 {
					b.WriteString(q[i:])
					return b.String()
				}
				b.WriteString(q[i : i+j])
				i += j - 1
				continue
			}
			b.WriteByte(c)
		case '?':
			n++
			b.WriteByte('$')
			b.WriteString(itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return fmt.Sprint(n)
}

// sqliteArgs normalises arguments for SQLite: times are stored in UTC so that
// their text form sorts in time order.
func sqliteArgs(args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			args[i] = v.UTC()
		case *time.Time:
			if v != nil {
				t := v.UTC()
				args[i] = t
			} else {
				args[i] = nil
			}
		}
	}
	return args
}

// pgArgs normalises arguments for PostgreSQL: a nil *time.Time must be an
// untyped NULL.
func pgArgs(args []any) []any {
	for i, a := range args {
		if v, ok := a.(*time.Time); ok && v == nil {
			args[i] = nil
		}
	}
	return args
}

// IsUniqueViolation reports whether err is a unique-constraint violation on
// either engine.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
