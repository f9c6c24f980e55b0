package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/codes/codefile"
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

// migrateAll applies River's migrations, then codedesk's.
func migrateAll(ctx context.Context, db *store.DB, log *slog.Logger) error {
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
}

// codeSetFiles lists the files under dir that hold a code-set format
// codedesk imports (layout PDFs, spreadsheets and notes are left out).
func codeSetFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		low := strings.ToLower(d.Name())
		if !(strings.HasSuffix(low, ".txt") || strings.HasSuffix(low, ".gz") || strings.HasSuffix(low, ".xml") ||
			strings.HasSuffix(low, ".csv") || strings.HasSuffix(low, ".tsv")) {
			return nil
		}
		head, err := readHead(path)
		if err != nil {
			return err
		}
		if _, err := codefile.Detect(path, head); err == nil {
			out = append(out, path)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	buf := make([]byte, codefile.HeadSize)
	n, err := io.ReadFull(r, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return buf[:n], nil
}

// importCodeSetsDir imports every code-set file found under dir; releases
// already imported with identical content are skipped quickly.
func importCodeSetsDir(ctx context.Context, db *store.DB, dir string, log *slog.Logger) error {
	if _, err := os.Stat(dir); err != nil {
		log.Warn("code-set directory not found; answers will say which code sets are missing", "dir", dir)
		return nil
	}
	files, err := codeSetFiles(dir)
	if err != nil {
		return fmt.Errorf("finding code-set files in %s: %w", dir, err)
	}
	if len(files) == 0 {
		log.Warn("no code-set files found", "dir", dir)
		return nil
	}
	if _, err := codes.Import(ctx, db, files, codes.ImportOptions{Logger: log.With("component", "codes")}); err != nil {
		return fmt.Errorf("importing code sets from %s: %w", dir, err)
	}
	return nil
}
