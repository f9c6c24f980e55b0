package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/queue"
)

// migrateCmd applies River's and codedesk's migrations.
type migrateCmd struct {
	config.Database
	config.Log
}

// Run implements the command.
func (c *migrateCmd) Run(ctx context.Context, io stdio) error {
	db, err := openDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrateAll(ctx, db, newLogger(c.Log, io.Err)); err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "schema is up to date (%s)\n", db.Dialect())
	return nil
}

// migrateAll applies River's migrations, then codedesk's, under a lock so
// that nodes started together do not collide.
func migrateAll(ctx context.Context, db *store.DB, log *slog.Logger) error {
	return store.WithMigrationLock(ctx, db, func() error {
		if err := queue.Migrate(ctx, db); err != nil {
			return err
		}
		res, err := store.Migrate(ctx, db)
		if err != nil {
			return err
		}
		for _, m := range res.Applied {
			log.Info("migration applied", "version", m.Version, "name", m.Name)
		}
		return nil
	})
}

// importCodeSetsDir imports every code-set file found under dir; releases
// already imported with identical content are skipped quickly.
func importCodeSetsDir(ctx context.Context, db *store.DB, dir string, log *slog.Logger) error {
	if _, err := os.Stat(dir); err != nil {
		log.Warn("code-set directory not found; answers will say which code sets are missing", "dir", dir)
		return nil
	}
	if _, err := codes.Import(ctx, db, []string{dir}, codes.ImportOptions{Logger: log.With("component", "codes")}); err != nil {
		return fmt.Errorf("importing code sets from %s: %w", dir, err)
	}
	return nil
}
