package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"reflect"
	"sync"

	"modernc.org/sqlite"
)

// modernc.org/sqlite parses every statement it is given afresh. In the
// pipeline benchmark SQL parsing took a third of the CPU time of SQLite's
// single writer connection — our queries and River's alike — and that
// connection bounds throughput. cachingConnector wraps the driver so each
// connection keeps its prepared statements (an LRU by query text) and
// reuses them; modernc resets a prepared statement between uses.
// PostgreSQL needs none of this: pgx caches prepared statements itself.

// stmtCacheSize bounds each connection's cache (queries built with
// variable IN lists must not grow it without bound).
const stmtCacheSize = 256

type cachingConnector struct {
	dsn string
	drv *sqlite.Driver
}

func (c cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &cachingConn{Conn: conn, lru: list.New(), stmts: map[string]*list.Element{}}, nil
}

func (c cachingConnector) Driver() driver.Driver { return c.drv }

// cachingConn is one SQLite connection with a statement cache. database/sql
// uses a connection from one goroutine at a time; the mutex covers rows
// closed from elsewhere.
type cachingConn struct {
	driver.Conn
	mu    sync.Mutex
	lru   *list.List // of *cachedStmt, most recently used first
	stmts map[string]*list.Element
}

type cachedStmt struct {
	query string
	st    driver.Stmt
	busy  bool // rows from it are still open
}

// acquire returns a statement for query: the cached one when it is free,
// else a fresh one (cached when possible). release must be called once the
// statement (and its rows) are done.
func (c *cachingConn) acquire(ctx context.Context, query string) (driver.Stmt, func(), error) {
	c.mu.Lock()
	if e, ok := c.stmts[query]; ok {
		cs := e.Value.(*cachedStmt)
		if !cs.busy {
			cs.busy = true
			c.lru.MoveToFront(e)
			c.mu.Unlock()
			return cs.st, func() { c.mu.Lock(); cs.busy = false; c.mu.Unlock() }, nil
		}
		// The same query again while its rows are open: a one-off statement.
		c.mu.Unlock()
		st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
		if err != nil {
			return nil, nil, err
		}
		return st, func() { st.Close() }, nil
	}
	c.mu.Unlock()
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	cs := &cachedStmt{query: query, st: st, busy: true}
	c.mu.Lock()
	c.stmts[query] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		old := c.lru.Back()
		ocs := old.Value.(*cachedStmt)
		if ocs.busy {
			break
		}
		c.lru.Remove(old)
		delete(c.stmts, ocs.query)
		ocs.st.Close()
	}
	c.mu.Unlock()
	return st, func() { c.mu.Lock(); cs.busy = false; c.mu.Unlock() }, nil
}

// ExecContext implements driver.ExecerContext with a cached statement.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	st, release, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	defer release()
	return st.(driver.StmtExecContext).ExecContext(ctx, args)
}

// QueryContext implements driver.QueryerContext with a cached statement;
// the statement is busy until the rows are closed.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st, release, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		release()
		return nil, err
	}
	return &cachedRows{Rows: rows, release: release}, nil
}

// PrepareContext implements driver.ConnPrepareContext (uncached: the
// caller owns the statement).
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

// BeginTx implements driver.ConnBeginTx.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

// Ping implements driver.Pinger.
func (c *cachingConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

// ResetSession implements driver.SessionResetter.
func (c *cachingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

// IsValid implements driver.Validator.
func (c *cachingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

// Close finalises the cached statements and closes the connection.
func (c *cachingConn) Close() error {
	c.mu.Lock()
	for e := c.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).st.Close()
	}
	c.lru.Init()
	c.stmts = map[string]*list.Element{}
	c.mu.Unlock()
	return c.Conn.Close()
}

// cachedRows releases its statement when closed and passes the optional
// column-type interfaces through.
type cachedRows struct {
	driver.Rows
	release func()
	once    sync.Once
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.release)
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}
