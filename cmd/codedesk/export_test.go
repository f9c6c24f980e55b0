package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/queue"
	"github.com/riverqueue/river"
)

// seedPipeline gives db two cases mid-pipeline with their pending jobs (an
// ingest and a send), one finished case whose job completed, and a job left
// running. It returns the pending jobs as "kind args" strings.
func seedPipeline(t *testing.T, dbURL string) []string {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := queue.New(db, nil, queue.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var caseIDs []int64
	for i := 0; i < 3; i++ {
		id, err := store.CreateCase(ctx, db, &store.Case{Subject: "Q", Requester: "coder@clinic.test", Status: store.StatusReceived})
		if err != nil {
			t.Fatal(err)
		}
		caseIDs = append(caseIDs, id)
	}
	m := &store.Message{MessageID: "q1@clinic.test", ContentHash: "h1", Mailbox: "INBOX", Raw: []byte("Subject: Q\r\n\r\nhi\r\n")}
	if _, _, err := store.InsertMessage(ctx, db, m); err != nil {
		t.Fatal(err)
	}
	d := &store.Draft{CaseID: caseIDs[1], To: "coder@clinic.test", Subject: "Re: Q", BodyText: "A", BodyHTML: "<p>A</p>"}
	if _, err := store.CreateDraft(ctx, db, d); err != nil {
		t.Fatal(err)
	}
	err = db.WithTx(ctx, func(tx *store.Tx) error {
		return q.InsertManyTx(ctx, tx, []river.JobArgs{
			queue.IngestArgs{MessageID: m.ID},
			queue.SendArgs{DraftID: d.ID},
			queue.AnalyseArgs{CaseID: caseIDs[0], MessageID: m.ID},
			queue.DraftArgs{CaseID: caseIDs[0], AnalysisID: 7},
			queue.SentCopyArgs{MessageID: m.ID},
			queue.AnalyseArgs{CaseID: caseIDs[2], MessageID: 99}, // completed below
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := db.Exec(ctx, "UPDATE river_job SET state = 'completed', attempt = 1, attempted_at = ?, finalized_at = ? WHERE id = (SELECT MAX(id) FROM river_job)", now, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "UPDATE river_job SET state = 'running', attempt = 1, attempted_at = ? WHERE kind = 'send'", now); err != nil {
		t.Fatal(err)
	}
	return []string{`analyse {"case_id":1,"message_id":1}`, `draft {"case_id":1,"analysis_id":7}`,
		`ingest {"message_id":1}`, `send {"draft_id":1}`, `sent_copy {"message_id":1}`}
}

// riverJobs lists a database's jobs still to be worked as "kind args".
func riverJobs(t *testing.T, dbURL string) []string {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	query := "SELECT kind, json(args) FROM river_job WHERE state = 'available' ORDER BY kind"
	if db.Dialect() == store.Postgres {
		query = "SELECT kind, args::text FROM river_job WHERE state = 'available' ORDER BY kind"
	}
	rows, err := db.Query(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	space := regexp.MustCompile(`\s+`)
	for rows.Next() {
		var k, a string
		if err := rows.Scan(&k, &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, k+" "+space.ReplaceAllString(a, ""))
	}
	return out
}

// migratedTarget returns a URL of a new migrated database: a private
// PostgreSQL schema when the test server is configured, else a SQLite file.
func migratedTarget(t *testing.T) string {
	t.Helper()
	if os.Getenv(dbtest.EnvURL) != "" {
		_, u := dbtest.PostgresWithURL(t, queue.Migrate)
		return u
	}
	u := filepath.Join(t.TempDir(), "target.db")
	if code, _, errs := runCLI(t, u, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errs)
	}
	return u
}

// TestExportImportCommands moves a SQLite desk with work in flight to
// PostgreSQL (or to another SQLite file without a server) and back, through
// the commands an operator runs.
func TestExportImportCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "codedesk.db")
	if code, _, errs := runCLI(t, src, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errs)
	}
	want := seedPipeline(t, src)
	archive := filepath.Join(dir, "desk.jsonl.gz")

	// A job is running: a node still works on the source.
	code, _, errs := runCLI(t, src, "export", "--out", archive)
	if code == 0 || !strings.Contains(errs, "1 River jobs are running") || !strings.Contains(errs, "--force") {
		t.Fatalf("export while a job runs = %d, %q; want a refusal naming --force", code, errs)
	}
	if _, err := os.Stat(archive); !os.IsNotExist(err) {
		t.Fatalf("a refused export left %s: %v", archive, err)
	}
	code, out, errs := runCLI(t, src, "export", "--out", archive, "--force")
	if code != 0 {
		t.Fatalf("export --force = %d, %q", code, errs)
	}
	spaces := regexp.MustCompile(` +`)
	for _, s := range []string{"exported the sqlite database to " + archive, " cases 3\n", "pending jobs carried: 5 (analyse 1, draft 1, ingest 1, send 1, sent_copy 1)", "1 of them were running"} {
		if !strings.Contains(spaces.ReplaceAllString(out, " "), s) {
			t.Errorf("export output lacks %q:\n%s", s, out)
		}
	}
	if st, err := os.Stat(archive); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("archive %v, %v; want mode 0600", st, err)
	}

	dst := migratedTarget(t)
	code, out, errs = runCLI(t, dst, "import", "--in", archive)
	if code != 0 {
		t.Fatalf("import = %d, %q", code, errs)
	}
	if !strings.Contains(out, "the next case will be #4") || !strings.Contains(out, "pending jobs enqueued again: 5") {
		t.Errorf("import output:\n%s", out)
	}
	if got := riverJobs(t, dst); !slices.Equal(got, want) {
		t.Errorf("jobs after import %q, want %q (completed ones are not carried)", got, want)
	}
	code, _, errs = runCLI(t, dst, "import", "--in", archive)
	if code == 0 || !strings.Contains(errs, "not empty") || !strings.Contains(errs, "nothing was imported") {
		t.Errorf("second import = %d, %q; want a refusal", code, errs)
	}

	// And back, through standard output and input.
	var arch bytes.Buffer
	code = run(context.Background(), []string{"export", "--out", "-", "--database-url", dst},
		stdio{In: strings.NewReader(""), Out: &arch, Err: &bytes.Buffer{}})
	if code != 0 {
		t.Fatalf("export --out - = %d", code)
	}
	back := filepath.Join(dir, "back.db")
	if code, _, errs := runCLI(t, back, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errs)
	}
	code, out, errs = runWithInput(t, arch.String(), "import", "--in", "-", "--database-url", back)
	if code != 0 || !strings.Contains(out, "the next case will be #4") {
		t.Fatalf("import --in - = %d, %q, %q", code, out, errs)
	}
	if got := riverJobs(t, back); !slices.Equal(got, want) {
		t.Errorf("jobs after the way back %q, want %q", got, want)
	}

	// A damaged archive: a clear error, the target untouched.
	bad := filepath.Join(dir, "bad.jsonl.gz")
	b, _ := os.ReadFile(archive)
	if err := os.WriteFile(bad, b[:len(b)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "fresh.db")
	if code, _, errs := runCLI(t, fresh, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errs)
	}
	code, _, errs = runCLI(t, fresh, "import", "--in", bad)
	if code == 0 || !strings.Contains(errs, "truncated or corrupt") || !strings.Contains(errs, "nothing was imported") {
		t.Errorf("import of a truncated archive = %d, %q", code, errs)
	}
	// A job kind this codedesk does not know: refused, nothing imported.
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var unknown bytes.Buffer
	zw := gzip.NewWriter(&unknown)
	_, _ = zw.Write(bytes.Replace(plain, []byte(`"kind":"send"`), []byte(`"kind":"teleport"`), 1))
	_ = zw.Close()
	code, _, errs = runWithInput(t, unknown.String(), "import", "--in", "-", "--database-url", fresh)
	if code == 0 || !strings.Contains(errs, `"teleport" job this codedesk does not know`) {
		t.Errorf("import of an unknown job kind = %d, %q", code, errs)
	}
	fdb, err := store.Open(context.Background(), fresh, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fdb.Close()
	var n int
	if err := fdb.QueryRow(context.Background(), "SELECT (SELECT COUNT(*) FROM cases) + (SELECT COUNT(*) FROM river_job)").Scan(&n); err != nil || n != 0 {
		t.Errorf("failed imports left %d rows (%v)", n, err)
	}
	missing := filepath.Join(dir, "missing.db")
	if code, _, errs := runCLI(t, missing, "export", "--out", "-"); code == 0 || !strings.Contains(errs, "no database to export") {
		t.Errorf("export of a missing file = %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, missing, "import", "--in", archive); code == 0 || !strings.Contains(errs, "codedesk migrate") {
		t.Errorf("import into a missing file = %d, %q", code, errs)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("export or import created %s: %v", missing, err)
	}
}

// TestDeployEnvFileListsEverySetting keeps docs/deploy/codedesk.env, the
// operator's environment file, in step with `codedesk serve`: every
// CODEDESK_* variable of serve appears in it (set or commented out).
func TestDeployEnvFileListsEverySetting(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "deploy", "codedesk.env"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#?(CODEDESK_[A-Z0-9_]+)=`).FindAllStringSubmatch(string(b), -1) {
		listed[m[1]] = true
	}
	var c cli
	parser, err := kong.New(&c, kong.Name("codedesk"), kong.Vars{"version": version})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, node := range parser.Model.Children {
		if node.Name != "serve" {
			continue
		}
		for _, f := range node.Flags {
			for _, env := range f.Envs {
				n++
				if !listed[env] {
					t.Errorf("docs/deploy/codedesk.env does not list %s (--%s, default %q)", env, f.Name, f.Default)
				}
			}
		}
	}
	if n < 40 {
		t.Fatalf("found only %d serve settings: is the serve command still there?", n)
	}
}
