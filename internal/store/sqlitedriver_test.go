package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// TestStatementCache runs the same query while its own rows are still open
// (the cached statement is busy, so a one-off one must be used), and more
// distinct queries than the cache holds, checking every result.
func TestStatementCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, "CREATE TABLE t (a INTEGER)"); err != nil {
		t.Fatal(err)
	}
	err = db.WithTx(ctx, func(tx *Tx) error {
		for i := range 5 {
			if _, err := tx.Exec(ctx, "INSERT INTO t (a) VALUES (?)", i); err != nil {
				return err
			}
		}
		outer, err := tx.Query(ctx, "SELECT a FROM t WHERE a >= ? ORDER BY a", 0)
		if err != nil {
			return err
		}
		defer outer.Close()
		sum := 0
		for outer.Next() {
			var a int
			if err := outer.Scan(&a); err != nil {
				return err
			}
			// The same query text, nested.
			var n int
			if err := tx.QueryRow(ctx, "SELECT a FROM t WHERE a >= ? ORDER BY a", a).Scan(&n); err != nil {
				return err
			}
			if n != a {
				return fmt.Errorf("nested query = %d, want %d", n, a)
			}
			sum += a
		}
		if sum != 10 {
			return fmt.Errorf("sum = %d, want 10", sum)
		}
		return outer.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range stmtCacheSize + 50 {
		var got int
		q := fmt.Sprintf("SELECT COUNT(*) + %d FROM t", i)
		if err := db.QueryRow(ctx, q).Scan(&got); err != nil || got != 5+i {
			t.Fatalf("%s = %d, %v; want %d", q, got, err, 5+i)
		}
	}
	// Early queries were evicted and still work.
	var got int
	if err := db.QueryRow(ctx, "SELECT COUNT(*) + 0 FROM t").Scan(&got); err != nil || got != 5 {
		t.Fatalf("evicted query = %d, %v", got, err)
	}
}
