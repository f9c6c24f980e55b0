package dump

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/store"
)

// ErrNotEmpty is returned by Import when the target already holds data.
var ErrNotEmpty = errors.New("target database is not empty")

// ErrCorrupt is returned by Import for an archive that is cut short, damaged
// or not an archive at all. The target is left as it was.
var ErrCorrupt = errors.New("archive is truncated or corrupt")

// ImportOptions tunes Import.
type ImportOptions struct {
	// Enqueue enqueues the archive's pending jobs inside the import
	// transaction (cmd/codedesk does it with River). When nil, an archive
	// that carries jobs is refused.
	Enqueue func(ctx context.Context, tx *store.Tx, jobs []Job) error
}

// ImportResult says what an import loaded.
type ImportResult struct {
	Header   Header
	Manifest Manifest
	JobKinds map[string]int
}

// Import loads an archive written by Export into db, which must be migrated
// to the same codedesk migrations and hold no data. Everything happens in
// one transaction: on any error (a damaged archive, a count that does not
// match the manifest) nothing is left behind. Explicit IDs are kept, so case
// numbers stay the ones quoted in subjects, and PostgreSQL's sequences are
// moved past them.
func Import(ctx context.Context, db *store.DB, r io.Reader, opts ImportOptions) (ImportResult, error) {
	var res ImportResult
	ar, err := newArchiveReader(r)
	if err != nil {
		return res, err
	}
	rec, err := ar.record()
	if err != nil {
		return res, err
	}
	if rec.Header == nil || rec.Header.Format != Format {
		return res, fmt.Errorf("%w: no %s header (is this a codedesk export?)", ErrCorrupt, Format)
	}
	h := *rec.Header
	res.Header = h
	if h.Version != Version {
		return res, fmt.Errorf("archive format version %d; this codedesk reads version %d", h.Version, Version)
	}
	if err := checkTarget(ctx, db, h); err != nil {
		return res, err
	}
	err = db.WithTx(ctx, func(tx *store.Tx) error {
		if tx.Dialect() == store.SQLite {
			// Within the transaction only: rows still arrive in key order,
			// but a self-reference (cases.linked_case_id) need not.
			if _, err := tx.Exec(ctx, "PRAGMA defer_foreign_keys = ON"); err != nil {
				return err
			}
		}
		loaded := map[string]int64{}
		var jobs []Job
		var man *Manifest
		for man == nil {
			rec, err := ar.record()
			if err != nil {
				return err
			}
			switch {
			case rec.Table != nil:
				if _, dup := loaded[rec.Table.Name]; dup || !slices.Contains(h.Tables, rec.Table.Name) {
					return fmt.Errorf("%w: unexpected section for table %q", ErrCorrupt, rec.Table.Name)
				}
				n, err := importTable(ctx, tx, ar, *rec.Table)
				if err != nil {
					return err
				}
				loaded[rec.Table.Name] = n
			case rec.Job != nil:
				jobs = append(jobs, *rec.Job)
			case rec.Manifest != nil:
				man = rec.Manifest
			default:
				return fmt.Errorf("%w: unexpected record", ErrCorrupt)
			}
		}
		if err := ar.end(); err != nil {
			return err
		}
		if !man.Complete || man.Jobs != len(jobs) {
			return fmt.Errorf("%w: manifest lists %d jobs, archive holds %d", ErrCorrupt, man.Jobs, len(jobs))
		}
		for _, t := range h.Tables {
			want, ok := man.Rows[t]
			if !ok {
				return fmt.Errorf("%w: manifest has no row count for %s", ErrCorrupt, t)
			}
			got, ok := loaded[t]
			if !ok {
				return fmt.Errorf("%w: no section for table %s", ErrCorrupt, t)
			}
			if got != want {
				return fmt.Errorf("%w: %s: manifest says %d rows, archive holds %d", ErrCorrupt, t, want, got)
			}
		}
		if len(jobs) > 0 {
			if opts.Enqueue == nil {
				return fmt.Errorf("archive carries %d pending jobs and no queue was given to enqueue them", len(jobs))
			}
			if err := opts.Enqueue(ctx, tx, jobs); err != nil {
				return fmt.Errorf("enqueueing pending jobs: %w", err)
			}
		}
		if err := resetSequences(ctx, tx, h.Tables); err != nil {
			return err
		}
		// What the target now holds, counted by the database itself.
		for _, t := range h.Tables {
			var n int64
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM "+quote(t)).Scan(&n); err != nil {
				return fmt.Errorf("counting %s: %w", t, err)
			}
			if n != man.Rows[t] {
				return fmt.Errorf("%s holds %d rows after import, manifest says %d", t, n, man.Rows[t])
			}
		}
		res.Manifest = *man
		res.JobKinds = map[string]int{}
		for _, j := range jobs {
			res.JobKinds[j.Kind]++
		}
		return nil
	})
	if err != nil {
		return ImportResult{Header: h}, err
	}
	return res, nil
}

// checkTarget refuses a target on other migrations, with another table
// set, or with data in it.
func checkTarget(ctx context.Context, db *store.DB, h Header) error {
	migs, err := migrations(ctx, db)
	if err != nil {
		return err
	}
	if !slices.Equal(migs, h.Migrations) {
		return fmt.Errorf("the archive was written at codedesk migrations %v, the target is at %v: "+
			"run `codedesk migrate` with the same codedesk version on the target (or export again)", h.Migrations, migs)
	}
	tables, err := plan(ctx, db)
	if err != nil {
		return err
	}
	if !slices.Equal(tables, h.Tables) {
		return fmt.Errorf("the archive's tables %v differ from the target's %v", h.Tables, tables)
	}
	var full []string
	for _, t := range tables {
		var one int
		err := db.QueryRow(ctx, "SELECT 1 FROM "+quote(t)+" LIMIT 1").Scan(&one)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("checking %s is empty: %w", t, err)
		}
		full = append(full, t)
	}
	if len(full) > 0 {
		return fmt.Errorf("%w: %s hold rows; import into a new database (or schema) that has only been through `codedesk migrate`",
			ErrNotEmpty, strings.Join(full, ", "))
	}
	return nil
}

// importTable copies one table's rows from the archive into tx.
func importTable(ctx context.Context, tx *store.Tx, ar *archiveReader, start TableStart) (int64, error) {
	cols, err := columns(ctx, tx, start.Name)
	if err != nil {
		return 0, err
	}
	if len(start.Kinds) != len(start.Columns) {
		return 0, fmt.Errorf("%w: %s: %d columns, %d kinds", ErrCorrupt, start.Name, len(start.Columns), len(start.Kinds))
	}
	byName := map[string]column{}
	for _, c := range cols {
		byName[c.Name] = c
	}
	target := make([]column, len(start.Columns))
	for i, name := range start.Columns {
		c, ok := byName[name]
		if !ok {
			return 0, fmt.Errorf("the target's %s has no column %s", start.Name, name)
		}
		target[i] = c
	}
	var (
		end  *TableEnd
		n    int64
		row  = make([]any, len(target))
		vals []any
	)
	next := func() ([]any, error) {
		line, err := ar.line()
		if err != nil {
			return nil, err
		}
		if line[0] != '[' {
			rec, err := decodeRecord(line)
			if err != nil {
				return nil, err
			}
			if rec.End == nil || rec.End.Name != start.Name {
				return nil, fmt.Errorf("%w: %s: rows end without their end record", ErrCorrupt, start.Name)
			}
			end = rec.End
			return nil, io.EOF
		}
		vals = vals[:0]
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&vals); err != nil {
			return nil, fmt.Errorf("%w: %s row %d: %v", ErrCorrupt, start.Name, n+1, err)
		}
		if len(vals) != len(target) {
			return nil, fmt.Errorf("%w: %s row %d has %d values for %d columns", ErrCorrupt, start.Name, n+1, len(vals), len(target))
		}
		for i, c := range target {
			v, err := decodeValue(c.Kind, vals[i])
			if err != nil {
				return nil, fmt.Errorf("%w: %s row %d, column %s: %v", ErrCorrupt, start.Name, n+1, c.Name, err)
			}
			row[i] = v
		}
		n++
		return row, nil
	}
	copied, err := tx.CopyFrom(ctx, start.Name, start.Columns, next)
	if err != nil {
		return copied, fmt.Errorf("loading %s: %w", start.Name, err)
	}
	if end == nil {
		return copied, fmt.Errorf("%w: %s: no end record", ErrCorrupt, start.Name)
	}
	if end.Rows != n || copied != n {
		return copied, fmt.Errorf("%w: %s: end record says %d rows, archive holds %d, %d inserted", ErrCorrupt, start.Name, end.Rows, n, copied)
	}
	return n, nil
}

// resetSequences moves each PostgreSQL identity or serial sequence past the
// highest imported ID, so the next case gets max+1. SQLite's AUTOINCREMENT
// already follows explicit IDs.
func resetSequences(ctx context.Context, tx *store.Tx, tables []string) error {
	if tx.Dialect() != store.Postgres {
		return nil
	}
	for _, t := range tables {
		rows, err := tx.Query(ctx, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ?
			AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')`, t)
		if err != nil {
			return fmt.Errorf("finding sequences of %s: %w", t, err)
		}
		var serial []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return err
			}
			serial = append(serial, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range serial {
			q := `SELECT setval(pg_get_serial_sequence(?, ?), COALESCE((SELECT MAX(` + quote(c) + `) FROM ` + quote(t) + `), 0) + 1, false)`
			var v int64
			if err := tx.QueryRow(ctx, q, quote(t), c).Scan(&v); err != nil {
				return fmt.Errorf("moving the sequence of %s.%s: %w", t, c, err)
			}
		}
	}
	return nil
}

// decodeValue turns an archive value (decoded with UseNumber) into what the
// target column takes.
func decodeValue(k Kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case KindInt:
		switch x := v.(type) {
		case json.Number:
			return x.Int64()
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case KindFloat:
		if x, ok := v.(json.Number); ok {
			return x.Float64()
		}
	case KindBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case json.Number:
			return x.String() != "0", nil
		}
	case KindText, KindJSON:
		if x, ok := v.(string); ok {
			return x, nil
		}
	case KindTime:
		if x, ok := v.(string); ok {
			return time.Parse(time.RFC3339Nano, x)
		}
	case KindBytes:
		if x, ok := v.(string); ok {
			return base64.StdEncoding.DecodeString(x)
		}
	}
	return nil, fmt.Errorf("%s column given %T", k, v)
}

// archiveReader reads an archive's lines through gzip.
type archiveReader struct {
	zr *gzip.Reader
	br *bufio.Reader
}

func newArchiveReader(r io.Reader) (*archiveReader, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: not gzip: %v", ErrCorrupt, err)
	}
	zr.Multistream(false)
	return &archiveReader{zr: zr, br: bufio.NewReaderSize(zr, 256<<10)}, nil
}

// line returns the next line without its newline; a missing line is a
// truncated archive.
func (a *archiveReader) line() ([]byte, error) {
	b, err := a.br.ReadBytes('\n')
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: it ends before its manifest", ErrCorrupt)
		}
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	b = b[:len(b)-1]
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty line", ErrCorrupt)
	}
	return b, nil
}

func (a *archiveReader) record() (record, error) {
	b, err := a.line()
	if err != nil {
		return record{}, err
	}
	return decodeRecord(b)
}

func decodeRecord(b []byte) (record, error) {
	var rec record
	if b[0] != '{' {
		return rec, fmt.Errorf("%w: a row where a record was expected", ErrCorrupt)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return rec, nil
}

// end checks nothing follows the manifest and that gzip's checksum holds
// (it is verified when the stream is read to its end).
func (a *archiveReader) end() error {
	n, err := io.Copy(io.Discard, a.br)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if n > 0 {
		return fmt.Errorf("%w: %d bytes after the manifest", ErrCorrupt, n)
	}
	return nil
}
