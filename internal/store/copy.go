package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
)

// RowSource yields rows for CopyFrom. It returns io.EOF after the last row.
// The returned slice may be reused by the next call.
type RowSource func() ([]any, error)

// copyBatch is how many rows SQLite inserts per statement.
const copyBatch = 64

// CopyFrom bulk-inserts rows into table within the transaction: COPY on
// PostgreSQL, prepared multi-row INSERTs on SQLite. It returns the number of
// rows written. Bulk loads (code-set imports) use it; everything else uses
// Exec.
func (tx *Tx) CopyFrom(ctx context.Context, table string, columns []string, next RowSource) (int64, error) {
	if tx.ptx != nil {
		var srcErr error
		src := pgx.CopyFromFunc(func() ([]any, error) {
			row, err := next()
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			if err != nil {
				srcErr = err
				return nil, err
			}
			return pgArgs(row), nil
		})
		n, err := tx.ptx.CopyFrom(ctx, pgx.Identifier(strings.Split(table, ".")), columns, src)
		if srcErr != nil {
			return n, srcErr
		}
		if err != nil {
			return n, fmt.Errorf("copying into %s: %w", table, err)
		}
		return n, nil
	}
	return tx.sqliteCopy(ctx, table, columns, next)
}

func (tx *Tx) sqliteCopy(ctx context.Context, table string, columns []string, next RowSource) (int64, error) {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(columns)), ",") + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES "
	full, err := tx.stx.PrepareContext(ctx, head+strings.TrimSuffix(strings.Repeat(one+",", copyBatch), ","))
	if err != nil {
		return 0, fmt.Errorf("preparing insert into %s: %w", table, err)
	}
	defer full.Close()
	var (
		total int64
		buf   = make([]any, 0, copyBatch*len(columns))
		rows  int
	)
	flush := func(stmt *sql.Stmt) error {
		if _, err := stmt.ExecContext(ctx, sqliteArgs(buf)...); err != nil {
			return fmt.Errorf("inserting into %s: %w", table, err)
		}
		total += int64(rows)
		buf = buf[:0]
		rows = 0
		return nil
	}
	for {
		row, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return total, err
		}
		if len(row) != len(columns) {
			return total, fmt.Errorf("copying into %s: row has %d values for %d columns", table, len(row), len(columns))
		}
		buf = append(buf, row...)
		rows++
		if rows == copyBatch {
			if err := flush(full); err != nil {
				return total, err
			}
		}
	}
	if rows > 0 {
		part, err := tx.stx.PrepareContext(ctx, head+strings.TrimSuffix(strings.Repeat(one+",", rows), ","))
		if err != nil {
			return total, fmt.Errorf("preparing insert into %s: %w", table, err)
		}
		defer part.Close()
		if err := flush(part); err != nil {
			return total, err
		}
	}
	return total, nil
}
