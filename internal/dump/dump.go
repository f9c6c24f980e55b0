// Package dump writes and reads codedesk's portable archive: everything a
// desk keeps (cases, messages with their raw MIME, analyses, drafts and
// revisions, the audit trail, notes, staff accounts, mail checkpoints, OAuth
// tokens and the imported code sets) in one gzip'd JSON Lines stream that
// either engine can load, so a desk moves from the embedded SQLite file to
// PostgreSQL (or back) with `codedesk export` and `codedesk import`.
//
// The stream, one JSON value per line:
//
//	{"header":{"format":"codedesk-export","version":1,"dialect":…,"migrations":[…],"tables":[…]}}
//	{"table":{"name":"cases","columns":[…],"kinds":[…]}}
//	[1,"Question about J1885",…]            one array per row
//	{"end":{"name":"cases","rows":2}}
//	…                                       every table of Tables, in load order
//	{"job":{"kind":"send","args":{"draft_id":7},"state":"retryable"}}
//	{"manifest":{"rows":{"cases":2,…},"jobs":1,"complete":true}}
//
// The manifest comes last, so an archive cut short is always detected: no
// manifest, no import. River's tables are not copied; the jobs still to be
// worked are carried as (kind, args) records and enqueued afresh on import.
package dump

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/codedesk/codedesk/internal/store"
)

// Format and Version identify the archive format.
const (
	Format  = "codedesk-export"
	Version = 1
)

// Header opens an archive.
type Header struct {
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	Dialect    string    `json:"dialect"`
	Codedesk   string    `json:"codedesk_version,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	Migrations []int     `json:"migrations"`
	Tables     []string  `json:"tables"`
}

// TableStart opens a table's rows.
type TableStart struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Kinds   []Kind   `json:"kinds"`
}

// TableEnd closes a table's rows.
type TableEnd struct {
	Name string `json:"name"`
	Rows int64  `json:"rows"`
}

// Job is a River job that was still to be worked when the archive was
// written: its kind and arguments (IDs only), enough to enqueue it again.
type Job struct {
	Kind  string          `json:"kind"`
	Args  json.RawMessage `json:"args"`
	State string          `json:"state"`
}

// Manifest closes an archive: the rows of every table and the jobs carried.
type Manifest struct {
	Rows     map[string]int64 `json:"rows"`
	Jobs     int              `json:"jobs"`
	Complete bool             `json:"complete"`
}

// record is every line of an archive that is not a row.
type record struct {
	Header   *Header     `json:"header,omitempty"`
	Table    *TableStart `json:"table,omitempty"`
	End      *TableEnd   `json:"end,omitempty"`
	Job      *Job        `json:"job,omitempty"`
	Manifest *Manifest   `json:"manifest,omitempty"`
}

// ErrJobsRunning is returned by Export when River jobs are running (a node
// is still working) and ExportOptions.Force is not set.
var ErrJobsRunning = errors.New("jobs are running")

// pendingStates are River job states with work still to do.
var pendingStates = []string{"available", "pending", "retryable", "running", "scheduled"}

// ExportOptions tunes Export.
type ExportOptions struct {
	// Version is codedesk's version, recorded in the header.
	Version string
	// Force exports even while River jobs are running; those jobs are
	// carried as pending and run again after import (every step is
	// idempotent and the send step checks for a reply already accepted).
	Force bool
	// Now stamps the header (default time.Now).
	Now func() time.Time
}

// ExportResult says what an export wrote.
type ExportResult struct {
	Header   Header
	Manifest Manifest
	// Running is how many of the jobs carried were running at export time.
	Running int
	// JobKinds counts the jobs carried by kind.
	JobKinds map[string]int
}

// Export writes the whole database as one archive to w, from one consistent
// snapshot (the source may keep running; stop it first for a move, so that
// nothing arrives after the snapshot).
func Export(ctx context.Context, db *store.DB, w io.Writer, opts ExportOptions) (ExportResult, error) {
	var res ExportResult
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	err := db.ReadSnapshot(ctx, func(tx *store.Tx) error {
		tables, err := plan(ctx, tx)
		if err != nil {
			return err
		}
		migs, err := migrations(ctx, tx)
		if err != nil {
			return err
		}
		live, err := liveTables(ctx, tx)
		if err != nil {
			return err
		}
		hasRiver := false
		for _, t := range live {
			hasRiver = hasRiver || t == "river_job"
		}
		var jobs []Job
		if hasRiver {
			if jobs, err = pendingJobs(ctx, tx); err != nil {
				return err
			}
		}
		res.JobKinds = map[string]int{}
		for _, j := range jobs {
			res.JobKinds[j.Kind]++
			if j.State == "running" {
				res.Running++
			}
		}
		if res.Running > 0 && !opts.Force {
			return fmt.Errorf("%w: %d River jobs are running, so a node is still working on this database; "+
				"stop every node (SIGTERM) and export again, or pass --force to carry them as pending work", ErrJobsRunning, res.Running)
		}
		res.Header = Header{Format: Format, Version: Version, Dialect: tx.Dialect().String(), Codedesk: opts.Version,
			CreatedAt: now().UTC(), Migrations: migs, Tables: tables}
		zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(zw, 256<<10)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(record{Header: &res.Header}); err != nil {
			return fmt.Errorf("writing archive: %w", err)
		}
		res.Manifest = Manifest{Rows: map[string]int64{}}
		for _, t := range tables {
			n, err := exportTable(ctx, tx, t, enc)
			if err != nil {
				return err
			}
			res.Manifest.Rows[t] = n
		}
		for i := range jobs {
			if err := enc.Encode(record{Job: &jobs[i]}); err != nil {
				return fmt.Errorf("writing archive: %w", err)
			}
		}
		res.Manifest.Jobs = len(jobs)
		res.Manifest.Complete = true
		if err := enc.Encode(record{Manifest: &res.Manifest}); err != nil {
			return fmt.Errorf("writing archive: %w", err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("writing archive: %w", err)
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("writing archive: %w", err)
		}
		return nil
	})
	return res, err
}

// exportTable writes one table's section and returns its row count.
func exportTable(ctx context.Context, tx *store.Tx, table string, enc *json.Encoder) (int64, error) {
	cols, err := columns(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	start := TableStart{Name: table}
	sel := make([]string, len(cols))
	var order []string
	pkCols := make([]string, len(cols)+1)
	for i, c := range cols {
		start.Columns = append(start.Columns, c.Name)
		start.Kinds = append(start.Kinds, c.Kind)
		sel[i] = quote(c.Name)
		if c.Kind == KindJSON && tx.Dialect() == store.Postgres {
			sel[i] += "::text" // jsonb would be decoded into maps
		}
		if c.PK > 0 && c.PK < len(pkCols) {
			pkCols[c.PK] = quote(c.Name)
		}
	}
	for _, c := range pkCols {
		if c != "" {
			order = append(order, c)
		}
	}
	if err := enc.Encode(record{Table: &start}); err != nil {
		return 0, fmt.Errorf("writing archive: %w", err)
	}
	query := "SELECT " + strings.Join(sel, ", ") + " FROM " + quote(table)
	if len(order) > 0 {
		// Key order: a case always comes after the case it links to.
		query += " ORDER BY " + strings.Join(order, ", ")
	}
	rows, err := tx.Query(ctx, query)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", table, err)
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	out := make([]any, len(cols))
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("reading %s: %w", table, err)
		}
		for i, c := range cols {
			v, err := encodeValue(c.Kind, vals[i])
			if err != nil {
				return n, fmt.Errorf("%s row %d, column %s: %w", table, n+1, c.Name, err)
			}
			out[i] = v
		}
		if err := enc.Encode(out); err != nil {
			return n, fmt.Errorf("writing archive: %w", err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("reading %s: %w", table, err)
	}
	if err := enc.Encode(record{End: &TableEnd{Name: table, Rows: n}}); err != nil {
		return n, fmt.Errorf("writing archive: %w", err)
	}
	return n, nil
}

// pendingJobs reads the River jobs that still have work to do.
func pendingJobs(ctx context.Context, tx *store.Tx) ([]Job, error) {
	in := "'" + strings.Join(pendingStates, "', '") + "'"
	query := `SELECT kind, json(args), state FROM river_job WHERE state IN (` + in + `) ORDER BY id` // riversqlite keeps args as SQLite JSONB (a blob); json() gives the text
	if tx.Dialect() == store.Postgres {
		query = `SELECT kind, args::text, state::text FROM river_job WHERE state IN (` + in + `) ORDER BY id`
	}
	rows, err := tx.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("reading pending jobs: %w", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		var (
			j    Job
			args any
		)
		if err := rows.Scan(&j.Kind, &args, &j.State); err != nil {
			return nil, fmt.Errorf("reading pending jobs: %w", err)
		}
		switch a := args.(type) {
		case string:
			j.Args = json.RawMessage(a)
		case []byte:
			j.Args = json.RawMessage(append([]byte(nil), a...))
		default:
			return nil, fmt.Errorf("reading pending jobs: args of type %T", args)
		}
		if !json.Valid(j.Args) {
			return nil, fmt.Errorf("reading pending jobs: %s job has invalid JSON args", j.Kind)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// encodeValue turns a scanned database value into its archive form.
func encodeValue(k Kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case KindInt:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int32:
			return int64(x), nil
		case int16:
			return int64(x), nil
		case int:
			return int64(x), nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case float64:
			if x == float64(int64(x)) {
				return int64(x), nil
			}
		}
	case KindFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		case int64:
			return float64(x), nil
		}
	case KindBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		}
	case KindText, KindJSON:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case []byte:
			s = string(x)
		default:
			return nil, fmt.Errorf("%s value of type %T", k, v)
		}
		if !utf8.ValidString(s) {
			return nil, errors.New("text is not valid UTF-8 (PostgreSQL would refuse it)")
		}
		return s, nil
	case KindTime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano), nil
		case string:
			t, err := parseTime(x)
			if err != nil {
				return nil, err
			}
			return t.UTC().Format(time.RFC3339Nano), nil
		}
	case KindBytes:
		switch x := v.(type) {
		case []byte:
			return append([]byte(nil), x...), nil // JSON: base64
		case string:
			return []byte(x), nil
		}
	}
	return nil, fmt.Errorf("%s value of type %T", k, v)
}

// timeLayouts are the text forms a time can have in a SQLite column.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

func parseTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %q", s)
}
