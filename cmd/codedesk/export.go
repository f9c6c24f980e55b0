package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/dump"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/queue"
	"github.com/riverqueue/river"
)

// exportCmd writes the whole database as one portable archive.
type exportCmd struct {
	config.Database
	config.Log
	Out   string `name:"out" short:"o" placeholder:"FILE" help:"Archive to write (- for standard output; default codedesk-export-<UTC time>.jsonl.gz in the current directory)."`
	Force bool   `name:"force" help:"Export even while River jobs are running (a node still works on this database); they are carried as pending work and run again after import."`
}

// Run implements the command.
func (c *exportCmd) Run(ctx context.Context, std stdio) error {
	if err := sqliteExists(c.Database.URL); err != nil {
		return fmt.Errorf("no database to export: %w", err)
	}
	db, err := openDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	log := newLogger(c.Log, std.Err)
	opts := dump.ExportOptions{Version: version, Force: c.Force}
	if c.Out == "-" {
		res, err := dump.Export(ctx, db, std.Out, opts)
		if err != nil {
			return err
		}
		printExport(std.Err, "standard output", res)
		return nil
	}
	out := c.Out
	if out == "" {
		out = "codedesk-export-" + time.Now().UTC().Format("20060102T150405Z") + ".jsonl.gz"
	}
	// Written beside the target and renamed at the end, so a failed export
	// never leaves a file under the name asked for.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".codedesk-export-*")
	if err != nil {
		return fmt.Errorf("creating archive: %w", err)
	}
	defer os.Remove(tmp.Name())
	res, err := dump.Export(ctx, db, tmp, opts)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil { // it holds password hashes and OAuth tokens
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	log.Info("export written", "file", out, "dialect", res.Header.Dialect, "jobs", res.Manifest.Jobs)
	printExport(std.Out, out, res)
	return nil
}

// sqliteExists refuses a SQLite path that does not exist (opening it would
// create an empty database).
func sqliteExists(dbURL string) error {
	if store.IsPostgresURL(dbURL) {
		return nil
	}
	path := strings.TrimPrefix(strings.TrimPrefix(dbURL, "sqlite:"), "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	_, err := os.Stat(path)
	return err
}

// printExport prints what an export wrote.
func printExport(w io.Writer, where string, res dump.ExportResult) {
	fmt.Fprintf(w, "exported the %s database to %s (codedesk migrations up to %d)\n", res.Header.Dialect, where, last(res.Header.Migrations))
	printRows(w, res.Header.Tables, res.Manifest.Rows)
	fmt.Fprintf(w, "pending jobs carried: %d%s\n", res.Manifest.Jobs, kindsSummary(res.JobKinds))
	if res.Running > 0 {
		fmt.Fprintf(w, "warning: %d of them were running when the snapshot was taken (--force); they run again after import\n", res.Running)
	}
}

// importCmd loads an archive into an empty, migrated database.
type importCmd struct {
	config.Database
	config.Log
	In string `name:"in" short:"i" required:"" placeholder:"FILE" help:"Archive written by codedesk export (- for standard input)."`
}

// Run implements the command.
func (c *importCmd) Run(ctx context.Context, std stdio) error {
	if err := sqliteExists(c.Database.URL); err != nil {
		return fmt.Errorf("no database to import into (create it with `codedesk migrate` first): %w", err)
	}
	var r io.Reader = std.In
	if c.In != "-" {
		f, err := os.Open(c.In)
		if err != nil {
			return fmt.Errorf("opening archive: %w", err)
		}
		defer f.Close()
		r = f
	}
	db, err := openDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	log := newLogger(c.Log, std.Err)
	q, err := queue.New(db, nil, queue.Config{Logger: log})
	if err != nil {
		return err
	}
	res, err := dump.Import(ctx, db, r, dump.ImportOptions{Enqueue: func(ctx context.Context, tx *store.Tx, jobs []dump.Job) error {
		args := make([]river.JobArgs, 0, len(jobs))
		for _, j := range jobs {
			a, err := jobArgs(j)
			if err != nil {
				return err
			}
			args = append(args, a)
		}
		return q.InsertManyTx(ctx, tx, args)
	}})
	if err != nil {
		if errors.Is(err, dump.ErrCorrupt) || errors.Is(err, dump.ErrNotEmpty) {
			return fmt.Errorf("%w (nothing was imported)", err)
		}
		return err
	}
	var next int64
	if err := db.QueryRow(ctx, "SELECT COALESCE(MAX(id), 0) + 1 FROM cases").Scan(&next); err != nil {
		return err
	}
	log.Info("import done", "source_dialect", res.Header.Dialect, "jobs", res.Manifest.Jobs)
	fmt.Fprintf(std.Out, "imported %s archive of %s into %s; every row count matches the manifest\n",
		res.Header.Dialect, res.Header.CreatedAt.Format(time.RFC3339), db.Dialect())
	printRows(std.Out, res.Header.Tables, res.Manifest.Rows)
	fmt.Fprintf(std.Out, "pending jobs enqueued again: %d%s\n", res.Manifest.Jobs, kindsSummary(res.JobKinds))
	fmt.Fprintf(std.Out, "the next case will be #%d; staff sign in again (sessions are not carried)\n", next)
	return nil
}

// jobKinds decodes the args of every job kind codedesk enqueues. A kind
// missing here makes import fail loudly rather than drop work.
var jobKinds = map[string]func(json.RawMessage) (river.JobArgs, error){
	queue.IngestArgs{}.Kind():   decodeArgs[queue.IngestArgs],
	queue.AnalyseArgs{}.Kind():  decodeArgs[queue.AnalyseArgs],
	queue.DraftArgs{}.Kind():    decodeArgs[queue.DraftArgs],
	queue.SendArgs{}.Kind():     decodeArgs[queue.SendArgs],
	queue.SentCopyArgs{}.Kind(): decodeArgs[queue.SentCopyArgs],
}

func decodeArgs[A river.JobArgs](raw json.RawMessage) (river.JobArgs, error) {
	var a A
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	return a, nil
}

// jobArgs turns an archived job back into typed args, so River applies the
// kind's own queue, attempts and uniqueness.
func jobArgs(j dump.Job) (river.JobArgs, error) {
	dec, ok := jobKinds[j.Kind]
	if !ok {
		return nil, fmt.Errorf("archive carries a %q job this codedesk does not know", j.Kind)
	}
	a, err := dec(j.Args)
	if err != nil {
		return nil, fmt.Errorf("decoding a %s job: %w", j.Kind, err)
	}
	return a, nil
}

func printRows(w io.Writer, tables []string, rows map[string]int64) {
	for _, t := range tables {
		fmt.Fprintf(w, "  %-20s %9d\n", t, rows[t])
	}
}

func kindsSummary(kinds map[string]int) string {
	if len(kinds) == 0 {
		return ""
	}
	var parts []string
	for k, n := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}

func last(v []int) int {
	if len(v) == 0 {
		return 0
	}
	return v[len(v)-1]
}
