package codes

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/codedesk/codedesk/internal/codes/codefile"
	"github.com/codedesk/codedesk/internal/store"
)

// ImportOptions tunes Import. The zero value detects everything.
type ImportOptions struct {
	// Format forces the file format instead of detecting it.
	Format codefile.Format
	// Version overrides the release version worked out from the file name:
	// a year ("2025") for ICD-10 and CPT files, "YYYY-Qn" for HCPCS and NCCI.
	Version string
	// EffectiveFrom overrides the first date of service of the release.
	EffectiveFrom time.Time
	// Progress, when set, is called as a file is read (at most every few
	// thousand rows) and once when it is done.
	Progress func(Progress)
	// Logger receives one line per imported file (nil: no logging).
	Logger *slog.Logger
}

// Progress reports how far the import of one file has got.
type Progress struct {
	File   string          // the path as given
	Format codefile.Format // "" until detected
	Read   int64           // bytes of the file read so far (compressed size for .gz)
	Total  int64           // the file's size
	Rows   int64           // rows written so far
	Done   bool            // the file is finished (imported, unchanged or failed)
}

// ImportResult says what Import did with one file.
type ImportResult struct {
	File      string        `json:"file"`
	Release   Release       `json:"release"`
	Rows      int64         `json:"rows"`
	Unchanged bool          `json:"unchanged"` // the same release was already imported from identical content
	Replaced  bool          `json:"replaced"`  // an earlier import of the same release (different content) was replaced
	Duration  time.Duration `json:"duration_ns"`
}

// Import imports official code-set files into db: the format is detected
// from each file's content (gzip is unwrapped; a zip archive is unpacked; a
// directory is searched for code-set files), each file is streamed into
// the database in one transaction of its own, and a file whose release was
// already imported with identical content is left alone. It stops at the
// first file that fails and returns the results so far with the error;
// files imported before it stay imported, the failed one leaves no trace.
//
// Imports are serialised across nodes (store.LockCodeSets): several nodes
// started together with the same --codesets-dir import each release once.
func Import(ctx context.Context, db *store.DB, paths []string, opts ImportOptions) (out []ImportResult, err error) {
	err = store.WithLock(ctx, db, store.LockCodeSets, func() error {
		out, err = importPaths(ctx, db, paths, opts)
		return err
	})
	return out, err
}

func importPaths(ctx context.Context, db *store.DB, paths []string, opts ImportOptions) ([]ImportResult, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var out []ImportResult
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			files, err := codeSetFilesIn(p)
			if err != nil {
				return out, err
			}
			res, err := importPaths(ctx, db, files, opts)
			out = append(out, res...)
			if err != nil {
				return out, err
			}
			continue
		}
		if zipped, err := isZipFile(p); err != nil {
			return out, err
		} else if zipped {
			res, err := importZip(ctx, db, p, opts, log)
			out = append(out, res...)
			if err != nil {
				return out, err
			}
			continue
		}
		res, err := importFile(ctx, db, p, opts)
		if err != nil {
			return out, err
		}
		log.Info("code set file imported", "file", filepath.Base(p), "release", res.Release.Name,
			"rows", res.Rows, "unchanged", res.Unchanged, "duration", res.Duration.Round(time.Millisecond))
		out = append(out, res)
	}
	return out, nil
}

// codeSetFilesIn lists the files under dir (recursively, sorted) that hold
// a code-set format or are zip archives; layout PDFs, spreadsheets and
// notes are left out.
func codeSetFilesIn(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		low := strings.ToLower(d.Name())
		if strings.HasSuffix(low, ".zip") {
			out = append(out, path)
			return nil
		}
		if !isCodeSetName(low) {
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
	if err != nil {
		return nil, fmt.Errorf("listing code-set files in %s: %w", dir, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no code-set files found", dir)
	}
	return out, nil
}

// countingReader counts bytes read, for progress.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// source is an opened input file: decompressed, buffered, with its head
// available for detection.
type source struct {
	f     *os.File
	count *countingReader
	gz    *gzip.Reader
	br    *bufio.Reader
	size  int64
}

func openSource(path string) (*source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("opening %s: is a directory", path)
	}
	s := &source{f: f, size: st.Size()}
	s.count = &countingReader{r: f}
	raw := bufio.NewReaderSize(s.count, 256<<10)
	magic, _ := raw.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		s.gz, err = gzip.NewReader(raw)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: reading gzip header: %w", path, err)
		}
		s.br = bufio.NewReaderSize(s.gz, 256<<10)
	} else {
		s.br = raw
	}
	return s, nil
}

func (s *source) head() []byte {
	h, _ := s.br.Peek(codefile.HeadSize)
	return h
}

func (s *source) Close() error { return s.f.Close() }

// fileHash returns the hex SHA-256 of a file's content, decompressed, so
// that a release imported from its .txt and from its .txt.gz is the same.
func fileHash(path string) (string, error) {
	src, err := openSource(path)
	if err != nil {
		return "", err
	}
	defer src.Close()
	h := sha256.New()
	if _, err := io.Copy(h, src.br); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func importFile(ctx context.Context, db *store.DB, path string, opts ImportOptions) (ImportResult, error) {
	start := time.Now()
	res := ImportResult{File: path}
	sum, err := fileHash(path)
	if err != nil {
		return res, err
	}
	src, err := openSource(path)
	if err != nil {
		return res, err
	}
	defer src.Close()
	head := src.head()
	format := opts.Format
	if format == "" {
		if format, err = codefile.Detect(path, head); err != nil {
			return res, err
		}
	} else if !format.Valid() {
		return res, fmt.Errorf("unknown format %q", format)
	}
	rel, err := releaseMeta(format, nameForMeta(path), xmlVersion(head), opts)
	if err != nil {
		return res, err
	}
	rel.SHA256 = sum
	progress := func(rows int64, done bool) {
		if opts.Progress != nil {
			opts.Progress(Progress{File: path, Format: format, Read: src.count.n.Load(), Total: src.size, Rows: rows, Done: done})
		}
	}
	defer progress(res.Rows, true)

	err = db.WithTx(ctx, func(tx *store.Tx) error {
		var oldID int64
		var oldSum string
		err := tx.QueryRow(ctx, `SELECT id, sha256 FROM code_releases WHERE kind = ? AND version = ? AND part = ?`,
			string(format), rel.Version, rel.Part).Scan(&oldID, &oldSum)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return fmt.Errorf("reading release %s: %w", rel.Name, err)
		case oldSum == sum:
			res.Unchanged = true
			prev, err := readRelease(ctx, tx, oldID)
			if err != nil {
				return err
			}
			res.Release, res.Rows = prev, prev.Rows
			return nil
		default:
			if err := deleteRelease(ctx, tx, oldID); err != nil {
				return err
			}
			res.Replaced = true
		}
		rel.ImportedAt = time.Now().UTC().Truncate(time.Millisecond)
		if err := tx.QueryRow(ctx, `INSERT INTO code_releases
			(system, kind, version, part, name, effective_from, effective_to, source_file, sha256, row_count, imported_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?) RETURNING id`,
			string(rel.System), string(format), rel.Version, rel.Part, rel.Name, ymd(rel.From), ymd(rel.To),
			rel.SourceFile, rel.SHA256, rel.ImportedAt).Scan(&rel.ID); err != nil {
			return fmt.Errorf("recording release %s: %w", rel.Name, err)
		}
		w := &writer{ctx: ctx, tx: tx, rel: rel.ID, file: filepath.Base(path), progress: progress}
		n, err := w.write(format, src.br)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%s: no records found", path)
		}
		rel.Rows = n
		if _, err := tx.Exec(ctx, `UPDATE code_releases SET row_count = ? WHERE id = ?`, n, rel.ID); err != nil {
			return fmt.Errorf("recording release %s: %w", rel.Name, err)
		}
		res.Release, res.Rows = rel, n
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// nameForMeta is the file name used to work out the release: a .gz suffix
// is dropped.
func nameForMeta(path string) string {
	return strings.TrimSuffix(strings.TrimSuffix(path, ".gz"), ".GZ")
}

// isZipFile reports whether the file at path is a zip archive.
func isZipFile(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	return n == 4 && string(magic[:]) == "PK\x03\x04", nil
}

// importZip imports the code-set files inside a release archive, as
// published (a zip, possibly holding zips), skipping layout PDFs,
// spreadsheets and notes.
func importZip(ctx context.Context, db *store.DB, path string, opts ImportOptions, log *slog.Logger) ([]ImportResult, error) {
	dir, err := os.MkdirTemp("", "codedesk-unzip-")
	if err != nil {
		return nil, fmt.Errorf("unpacking %s: %w", path, err)
	}
	defer os.RemoveAll(dir)
	files, err := unpack(path, dir, 4<<30, log)
	if err != nil {
		return nil, fmt.Errorf("unpacking %s: %w", path, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: the archive holds no code-set file", path)
	}
	res, err := importPaths(ctx, db, files, opts)
	for i := range res {
		res[i].File = path + ":" + filepath.Base(res[i].File)
	}
	return res, err
}

// xmlVersion returns the content of the first <version> element in head.
func xmlVersion(head []byte) string {
	s := string(head)
	i := strings.Index(s, "<version>")
	if i < 0 {
		return ""
	}
	s = s[i+len("<version>"):]
	j := strings.Index(s, "</version>")
	if j < 0 || j > 32 {
		return ""
	}
	return strings.TrimSpace(s[:j])
}

// releaseTables lists every table holding release rows.
var releaseTables = []string{"code_entries", "code_addenda", "icd10cm_tabular", "icd10cm_notes",
	"icd10cm_index_terms", "ncci_ptp", "ncci_ptp_codes", "ncci_mue"}

func deleteRelease(ctx context.Context, tx *store.Tx, id int64) error {
	for _, t := range releaseTables {
		if _, err := tx.Exec(ctx, "DELETE FROM "+t+" WHERE release_id = ?", id); err != nil {
			return fmt.Errorf("removing release %d from %s: %w", id, t, err)
		}
	}
	if _, err := tx.Exec(ctx, "DELETE FROM code_releases WHERE id = ?", id); err != nil {
		return fmt.Errorf("removing release %d: %w", id, err)
	}
	return nil
}

const releaseCols = `id, system, kind, version, part, name, effective_from, effective_to, source_file, sha256, row_count, imported_at`

func scanRelease(row interface{ Scan(...any) error }) (Release, error) {
	var (
		r        Release
		sys, fmt string
		from, to int
	)
	if err := row.Scan(&r.ID, &sys, &fmt, &r.Version, &r.Part, &r.Name, &from, &to, &r.SourceFile, &r.SHA256, &r.Rows, &r.ImportedAt); err != nil {
		return r, err
	}
	r.System, r.Format = System(sys), codefile.Format(fmt)
	r.From, r.To = fromYMD(from), fromYMD(to)
	r.ImportedAt = r.ImportedAt.UTC()
	return r, nil
}

func readRelease(ctx context.Context, q store.Querier, id int64) (Release, error) {
	r, err := scanRelease(q.QueryRow(ctx, "SELECT "+releaseCols+" FROM code_releases WHERE id = ?", id))
	if err != nil {
		return r, fmt.Errorf("reading release %d: %w", id, err)
	}
	return r, nil
}

// ListReleases returns every imported release, by system, format and
// effective date.
func ListReleases(ctx context.Context, q store.Querier) ([]Release, error) {
	rows, err := q.Query(ctx, "SELECT "+releaseCols+" FROM code_releases ORDER BY system, kind, effective_from, version, part")
	if err != nil {
		return nil, fmt.Errorf("listing releases: %w", err)
	}
	defer rows.Close()
	var out []Release
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, fmt.Errorf("listing releases: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// writer streams one file's records into the release tables.
type writer struct {
	ctx      context.Context
	tx       *store.Tx
	rel      int64
	file     string
	progress func(rows int64, done bool)
	rows     int64
}

// copyAll streams the records that read produces into table, converting
// each with row. The reader runs as a pull iterator so that the database
// driver pulls rows at its own pace and memory stays bounded.
func copyAll[T any](w *writer, table string, cols []string, read func(fn func(T) error) error, row func(T) ([]any, error)) (int64, error) {
	var readErr error
	seq := func(yield func(T) bool) {
		readErr = read(func(r T) error {
			if !yield(r) {
				return codefile.ErrStop
			}
			return nil
		})
	}
	next, stop := iter.Pull(seq)
	defer stop()
	n, err := w.tx.CopyFrom(w.ctx, table, cols, func() ([]any, error) {
		for {
			r, ok := next()
			if !ok {
				if readErr != nil {
					return nil, readErr
				}
				return nil, io.EOF
			}
			vals, err := row(r)
			if err != nil {
				return nil, err
			}
			if vals == nil {
				continue // skipped record
			}
			w.rows++
			if w.rows%8192 == 0 {
				if err := w.ctx.Err(); err != nil {
					return nil, err
				}
				w.progress(w.rows, false)
			}
			return vals, nil
		}
	})
	if err != nil {
		return n, err
	}
	return n, nil
}

var entryCols = []string{"release_id", "seq", "code", "kind", "billable", "short_desc", "long_desc", "attrs"}

func (w *writer) write(f codefile.Format, r io.Reader) (int64, error) {
	switch f {
	case codefile.ICD10CMOrder, codefile.PCSOrder:
		return copyAll(w, "code_entries", entryCols,
			func(fn func(codefile.OrderRecord) error) error { return codefile.ReadOrder(r, w.file, fn) },
			func(o codefile.OrderRecord) ([]any, error) {
				kind := "code"
				if !o.Billable {
					kind = "header"
				}
				return []any{w.rel, o.Order, o.Code, kind, o.Billable, o.Short, o.Long, ""}, nil
			})
	case codefile.ICD10CMCodes, codefile.PCSCodes:
		seq := 0
		return copyAll(w, "code_entries", entryCols,
			func(fn func(codefile.CodesRecord) error) error { return codefile.ReadCodes(r, w.file, fn) },
			func(c codefile.CodesRecord) ([]any, error) {
				seq++
				return []any{w.rel, seq, c.Code, "code", true, "", c.Long, ""}, nil
			})
	case codefile.HCPCS:
		seq := 0
		return copyAll(w, "code_entries", entryCols,
			func(fn func(codefile.HCPCSRecord) error) error { return codefile.ReadHCPCS(r, w.file, fn) },
			func(h codefile.HCPCSRecord) ([]any, error) {
				seq++
				kind := "code"
				if h.Modifier {
					kind = "modifier"
				}
				attrs, err := encodeHCPCSAttrs(h)
				if err != nil {
					return nil, err
				}
				return []any{w.rel, seq, h.Code, kind, true, h.Short, h.Long, attrs}, nil
			})
	case codefile.ICD10CMOrderAddenda, codefile.ICD10CMCodesAddenda, codefile.PCSOrderAddenda, codefile.PCSCodesAddenda:
		order := f == codefile.ICD10CMOrderAddenda || f == codefile.PCSOrderAddenda
		seq := 0
		return copyAll(w, "code_addenda", []string{"release_id", "seq", "action", "code", "billable", "short_desc", "long_desc"},
			func(fn func(codefile.AddendaRecord) error) error { return codefile.ReadAddenda(r, w.file, order, fn) },
			func(a codefile.AddendaRecord) ([]any, error) {
				seq++
				var b any
				if a.Billable != nil {
					b = *a.Billable
				}
				return []any{w.rel, seq, a.Action, a.Code, b, a.Short, a.Long}, nil
			})
	case codefile.ICD10CMTabular:
		return w.writeTabular(r)
	case codefile.ICD10CMIndex:
		return copyAll(w, "icd10cm_index_terms", []string{"release_id", "seq", "parent", "level", "title", "nemod",
			"code", "manif", "see", "see_also", "subcat", "seecat"},
			func(fn func(codefile.IndexTerm) error) error { _, err := codefile.ReadIndex(r, w.file, fn); return err },
			func(t codefile.IndexTerm) ([]any, error) {
				return []any{w.rel, t.Seq, t.Parent, t.Level, t.Title, t.Nemod, Normalize(t.Code), Normalize(t.Manif),
					t.See, t.SeeAlso, Normalize(t.Subcat), Normalize(t.SeeCat)}, nil
			})
	case codefile.PTPPractitioner, codefile.PTPHospital:
		n, err := copyAll(w, "ncci_ptp", []string{"release_id", "column1", "column2", "pre1996", "effective", "deleted", "modifier", "rationale"},
			func(fn func(codefile.PTPRecord) error) error { return codefile.ReadPTP(r, w.file, fn) },
			func(p codefile.PTPRecord) ([]any, error) {
				return []any{w.rel, p.Column1, p.Column2, p.Pre1996, p.Effective, p.Deleted, p.Modifier, p.Rationale}, nil
			})
		if err != nil {
			return n, err
		}
		if _, err := w.tx.Exec(w.ctx, `INSERT INTO ncci_ptp_codes (release_id, code)
			SELECT release_id, column1 FROM ncci_ptp WHERE release_id = ?
			UNION SELECT release_id, column2 FROM ncci_ptp WHERE release_id = ?`, w.rel, w.rel); err != nil {
			return n, fmt.Errorf("%s: listing the codes of the edits: %w", w.file, err)
		}
		return n, nil
	case codefile.MUEPractitioner, codefile.MUEHospital, codefile.MUEDME:
		return copyAll(w, "ncci_mue", []string{"release_id", "code", "value", "mai", "mai_text", "rationale"},
			func(fn func(codefile.MUERecord) error) error { return codefile.ReadMUE(r, w.file, fn) },
			func(m codefile.MUERecord) ([]any, error) {
				return []any{w.rel, m.Code, m.Value, m.MAI, m.MAIText, m.Rationale}, nil
			})
	case codefile.CPTDescriptors:
		seq := 0
		return copyAll(w, "code_entries", entryCols,
			func(fn func(codefile.CPTRecord) error) error { return codefile.ReadCPT(r, w.file, fn) },
			func(c codefile.CPTRecord) ([]any, error) {
				seq++
				return []any{w.rel, seq, c.Code, "code", true, c.Short, c.Long, ""}, nil
			})
	}
	return 0, fmt.Errorf("%s: importing %s files is not supported", w.file, f)
}

// writeTabular stores the Tabular List: one icd10cm_tabular row per
// chapter, section and diag, one icd10cm_notes row per note. Items and
// notes go to two tables, so notes are written in batches after each
// item batch rather than through one CopyFrom stream.
func (w *writer) writeTabular(r io.Reader) (int64, error) {
	type note struct {
		owner int
		n     codefile.TabularNote
	}
	var (
		items    [][]any
		notes    []note
		seq, nsq int
		total    int64
	)
	flush := func() error {
		if len(items) > 0 {
			i := 0
			n, err := w.tx.CopyFrom(w.ctx, "icd10cm_tabular", []string{"release_id", "seq", "kind", "code", "parent", "description"},
				func() ([]any, error) {
					if i == len(items) {
						return nil, io.EOF
					}
					i++
					return items[i-1], nil
				})
			if err != nil {
				return err
			}
			total += n
			items = items[:0]
		}
		if len(notes) > 0 {
			i := 0
			n, err := w.tx.CopyFrom(w.ctx, "icd10cm_notes", []string{"release_id", "seq", "owner", "type", "ch", "text"},
				func() ([]any, error) {
					if i == len(notes) {
						return nil, io.EOF
					}
					nsq++
					i++
					x := notes[i-1]
					return []any{w.rel, nsq, x.owner, x.n.Type, x.n.Char, x.n.Text}, nil
				})
			if err != nil {
				return err
			}
			total += n
			notes = notes[:0]
		}
		w.progress(total, false)
		return w.ctx.Err()
	}
	_, err := codefile.ReadTabular(r, w.file, func(it codefile.TabularItem) error {
		seq++
		code, parent := it.Code, it.Parent
		if it.Kind == "diag" {
			code = Normalize(code)
		}
		if it.Kind == "diag" && !strings.Contains(parent, "-") {
			parent = Normalize(parent)
		}
		items = append(items, []any{w.rel, seq, it.Kind, code, parent, it.Desc})
		for _, n := range it.Notes {
			notes = append(notes, note{seq, n})
		}
		if len(items) >= 4096 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return total, err
	}
	if err := flush(); err != nil {
		return total, err
	}
	return total, nil
}
