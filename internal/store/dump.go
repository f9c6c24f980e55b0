package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ReadSnapshot runs fn in a read-only transaction that sees one consistent
// state of the whole database, for `codedesk export`: REPEATABLE READ on
// PostgreSQL; on SQLite a deferred transaction on a read-only connection,
// whose WAL snapshot is taken at its first read and never blocks the
// writer. Nothing fn does is committed.
func (db *DB) ReadSnapshot(ctx context.Context, fn func(tx *Tx) error) error {
	if db.pool != nil {
		ptx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return fmt.Errorf("beginning snapshot: %w", err)
		}
		defer func() { _ = ptx.Rollback(context.WithoutCancel(ctx)) }()
		return fn(&Tx{dialect: Postgres, ptx: ptx})
	}
	stx, err := db.sqlr.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning snapshot: %w", err)
	}
	defer func() { _ = stx.Rollback() }()
	return fn(&Tx{dialect: SQLite, stx: stx})
}
