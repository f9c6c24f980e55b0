package dump

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/codedesk/codedesk/internal/store"
)

// Tables lists, in load order (a table comes after every table it refers
// to), the codedesk tables an archive carries. The list is checked against
// the live schema at every export and import: a table that is neither here
// nor in Skipped stops both with ErrUnknownTable, so a new migration cannot
// silently leave data behind.
var Tables = []string{
	// Cases and mail.
	"cases",
	"case_participants",
	"messages",
	"analyses",
	"drafts",
	"draft_revisions",
	"events",
	"notes",
	"mailbox_checkpoints",
	// Staff and credentials.
	"users",
	"oauth_tokens",
	// Code sets: releases and their rows.
	"code_releases",
	"code_entries",
	"code_addenda",
	"icd10cm_tabular",
	"icd10cm_notes",
	"icd10cm_index_terms",
	"ncci_ptp",
	"ncci_ptp_codes",
	"ncci_mue",
}

// Skipped names the codedesk tables an archive deliberately leaves out, with
// the reason. River's tables (river_*) and SQLite's own (sqlite_*) are
// skipped by prefix; see skipReason.
var Skipped = map[string]string{
	"sessions":            "sign-ins are live credentials tied to one deployment; staff sign in again after the move",
	"codedesk_migrations": "the target is migrated by `codedesk migrate`; the archive's migration list must match it",
	"leases":              "who polls a mailbox is runtime state; a node takes the lease within one ttl after start",
	"sign_in_failures":    "the sign-in throttle's recent failures age out within 15 minutes; nothing to keep",
}

// skipReason says why a live table is not exported, or "" when it must be.
func skipReason(table string) string {
	if r, ok := Skipped[table]; ok {
		return r
	}
	switch {
	case strings.HasPrefix(table, "river_"):
		return "River's job, leader and queue tables are runtime state of the source; pending jobs are carried as job records and enqueued afresh"
	case strings.HasPrefix(table, "sqlite_"):
		return "SQLite's internal tables"
	}
	return ""
}

// ErrUnknownTable is returned when the schema holds a table that is neither
// exported nor deliberately skipped.
var ErrUnknownTable = errors.New("table not covered by export")

// Kind is a column's portable type.
type Kind string

// Column kinds. Values travel as JSON: int and float as numbers, bool as
// true/false, text and json as strings, time as RFC 3339 UTC strings, bytes
// as base64 strings.
const (
	KindInt   Kind = "int"
	KindFloat Kind = "float"
	KindBool  Kind = "bool"
	KindText  Kind = "text"
	KindJSON  Kind = "json"
	KindTime  Kind = "time"
	KindBytes Kind = "bytes"
)

// column is one column of a live table.
type column struct {
	Name string
	Kind Kind
	PK   int // position in the primary key (1-based), 0 when not part of it
}

// liveTables lists the base tables of the database (on PostgreSQL, those of
// the current schema).
func liveTables(ctx context.Context, q store.Querier) ([]string, error) {
	query := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if q.Dialect() == store.Postgres {
		query = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := q.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

// plan checks the live schema against Tables and Skipped and returns the
// tables to carry, in load order.
func plan(ctx context.Context, q store.Querier) ([]string, error) {
	live, err := liveTables(ctx, q)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, t := range live {
		have[t] = true
	}
	known := map[string]bool{}
	for _, t := range Tables {
		known[t] = true
	}
	var unknown []string
	for _, t := range live {
		if !known[t] && skipReason(t) == "" {
			unknown = append(unknown, t)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w: %s (add it to dump.Tables in load order, or to dump.Skipped with a reason)",
			ErrUnknownTable, strings.Join(unknown, ", "))
	}
	var missing []string
	for _, t := range Tables {
		if !have[t] {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("database lacks table %s: run `codedesk migrate` first", strings.Join(missing, ", "))
	}
	return Tables, nil
}

// columns returns a table's columns in order with their portable kinds.
func columns(ctx context.Context, q store.Querier, table string) ([]column, error) {
	var cols []column
	if q.Dialect() == store.Postgres {
		rows, err := q.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`, table)
		if err != nil {
			return nil, fmt.Errorf("reading columns of %s: %w", table, err)
		}
		defer rows.Close()
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				return nil, err
			}
			k, err := pgKind(typ)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", table, name, err)
			}
			cols = append(cols, column{Name: name, Kind: k})
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		pk, err := q.Query(ctx, `SELECT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indisprimary AND i.indrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident(?))
			ORDER BY array_position(i.indkey::int2[], a.attnum)`, table)
		if err != nil {
			return nil, fmt.Errorf("reading primary key of %s: %w", table, err)
		}
		defer pk.Close()
		n := 0
		for pk.Next() {
			var name string
			if err := pk.Scan(&name); err != nil {
				return nil, err
			}
			n++
			for i := range cols {
				if cols[i].Name == name {
					cols[i].PK = n
				}
			}
		}
		if err := pk.Err(); err != nil {
			return nil, err
		}
	} else {
		rows, err := q.Query(ctx, `SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid`, table)
		if err != nil {
			return nil, fmt.Errorf("reading columns of %s: %w", table, err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				name, typ string
				pk        int
			)
			if err := rows.Scan(&name, &typ, &pk); err != nil {
				return nil, err
			}
			k, err := sqliteKind(typ)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", table, name, err)
			}
			cols = append(cols, column{Name: name, Kind: k, PK: pk})
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("table %s has no columns (does it exist?)", table)
	}
	return cols, nil
}

func pgKind(typ string) (Kind, error) {
	switch typ {
	case "bigint", "integer", "smallint":
		return KindInt, nil
	case "double precision", "real":
		return KindFloat, nil
	case "boolean":
		return KindBool, nil
	case "text", "character varying", "character":
		return KindText, nil
	case "jsonb", "json":
		return KindJSON, nil
	case "timestamp with time zone", "timestamp without time zone", "date":
		return KindTime, nil
	case "bytea":
		return KindBytes, nil
	}
	return "", fmt.Errorf("column type %q is not supported by export", typ)
}

// sqliteKind maps a declared SQLite column type to a kind, in the spirit of
// SQLite's own affinity rules, but keeping BOOLEAN and TIMESTAMP apart.
func sqliteKind(typ string) (Kind, error) {
	t := strings.ToUpper(typ)
	switch {
	case strings.Contains(t, "BOOL"):
		return KindBool, nil
	case strings.Contains(t, "TIMESTAMP"), strings.Contains(t, "DATE"), strings.Contains(t, "TIME"):
		return KindTime, nil
	case strings.Contains(t, "INT"):
		return KindInt, nil
	case strings.Contains(t, "REAL"), strings.Contains(t, "FLOA"), strings.Contains(t, "DOUB"):
		return KindFloat, nil
	case strings.Contains(t, "BLOB"):
		return KindBytes, nil
	case strings.Contains(t, "JSON"):
		return KindJSON, nil
	case strings.Contains(t, "TEXT"), strings.Contains(t, "CHAR"), strings.Contains(t, "CLOB"):
		return KindText, nil
	}
	return "", fmt.Errorf("column type %q is not supported by export", typ)
}

// migrations returns the codedesk migration versions applied.
func migrations(ctx context.Context, q store.Querier) ([]int, error) {
	rows, err := q.Query(ctx, `SELECT version FROM codedesk_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("reading applied migrations (is the database migrated?): %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// quote quotes an identifier for either engine.
func quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
