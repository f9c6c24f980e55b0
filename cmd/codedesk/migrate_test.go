package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

// TestConcurrentMigrate starts several nodes' migrations at once on one
// fresh PostgreSQL database, as a cluster started together does: all must
// succeed and leave one schema.
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	url := dbtest.PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("migrate_race_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := store.Open(ctx, url, store.Options{SearchPath: schema})
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			errs[i] = migrateAll(ctx, db, testLogger(t))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: migrate: %v", i, err)
		}
	}
}

// TestConcurrentCodeSetImport imports the same code sets from several nodes
// at once (each started with --codesets-dir): all succeed, once.
func TestConcurrentCodeSetImport(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = codes.Import(ctx, db, fixtureCodeSets, codes.ImportOptions{Logger: testLogger(t)})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("node %d: import: %v", i, err)
			}
		}
		kb, err := codes.Load(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(kb.Releases()); n != 2 {
			t.Errorf("%d releases loaded after concurrent imports, want 2", n)
		}
	})
}
