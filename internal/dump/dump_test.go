package dump

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

// fixtureCodeSets are the code-set fixtures: together they fill every
// code-set table (order, codes, addenda, tabular, index, HCPCS, CPT
// descriptors, NCCI PTP and MUE).
func fixtureCodeSets(t testing.TB) []string {
	t.Helper()
	all, err := filepath.Glob("../codes/testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range all {
		if !strings.HasSuffix(p, ".gz") { // the same release as its .txt
			out = append(out, p)
		}
	}
	return out
}

// seeded is what seed created, to check after a round trip.
type seeded struct {
	cases     []int64
	messageID int64 // the message with binary raw bytes
	raw       []byte
}

// seed fills every exported table (and sessions, which are not exported)
// through the store's own functions.
func seed(t *testing.T, db *store.DB) seeded {
	t.Helper()
	ctx := context.Background()
	var s seeded
	if _, err := codes.Import(ctx, db, fixtureCodeSets(t), codes.ImportOptions{}); err != nil {
		t.Fatalf("importing code sets: %v", err)
	}
	admin := &store.User{Email: "Admin@Desk.test", Name: "Ada Admin", Role: store.RoleAdmin, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA"}
	if _, err := store.UpsertUser(ctx, db, admin); err != nil {
		t.Fatal(err)
	}
	rev := &store.User{Email: "rita@desk.test", Role: store.RoleReviewer, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdDI$aGFzaDI"}
	if _, err := store.UpsertUser(ctx, db, rev); err != nil {
		t.Fatal(err)
	}
	if err := store.RecordLogin(ctx, db, admin.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := store.CreateSession(ctx, db, store.Session{TokenHash: "feedface", UserID: admin.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := store.AddEvent(ctx, db, 0, "admin@desk.test", "signed_in", ""); err != nil { // no case: NULL case_id
		t.Fatal(err)
	}
	if err := store.SaveCheckpoint(ctx, db, store.Checkpoint{Mailbox: "INBOX", UIDValidity: 4242, LastUID: 17, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	exp := now.Add(time.Hour)
	if err := store.SaveOAuthToken(ctx, db, store.OAuthToken{Name: "desk", RefreshToken: "r-1", AccessToken: "a-1", AccessExpiry: &exp}); err != nil {
		t.Fatal(err)
	}
	s.raw = []byte("From: coder@clinic.test\r\nSubject: J1885\r\n\r\nbinary \x00\xff\xfe part\r\n")
	for i := 1; i <= 3; i++ {
		c := &store.Case{Subject: fmt.Sprintf("Question %d about J1885 — “units”", i), Requester: "coder@clinic.test", Status: store.StatusReceived}
		if i == 2 {
			c.LinkedCaseID = &s.cases[0]
		}
		id, err := store.CreateCase(ctx, db, c)
		if err != nil {
			t.Fatal(err)
		}
		s.cases = append(s.cases, id)
		if err := store.AddParticipant(ctx, db, id, "coder@clinic.test"); err != nil {
			t.Fatal(err)
		}
		uv, uid := int64(4242), int64(i)
		date := now.Add(-time.Minute)
		m := &store.Message{CaseID: &id, Mailbox: "INBOX", UIDValidity: &uv, UID: &uid, MessageID: fmt.Sprintf("q%d@clinic.test", i),
			ContentHash: fmt.Sprintf("h%d", i), Subject: c.Subject, From: "coder@clinic.test", Date: &date, Size: int64(len(s.raw)),
			Raw: s.raw, Truncated: i == 3}
		mid, _, err := store.InsertMessage(ctx, db, m)
		if err != nil {
			t.Fatal(err)
		}
		s.messageID = mid
		if err := store.SetMessageParsed(ctx, db, mid, store.ParsedMessage{CaseID: id, Subject: c.Subject, From: "coder@clinic.test",
			BodyText: "How many units of J1885?", QuestionText: "How many units?", Status: store.MessageParsed}); err != nil {
			t.Fatal(err)
		}
		a := &store.Analysis{CaseID: id, MessageID: mid, Kind: "mue_check", Confidence: 0.8125,
			Result: []byte(`{"kind":"mue_check","codes":[{"code":"J1885","units":4}],"missing":[],"note":"60 mg / 15 mg"}`)}
		if _, err := store.InsertAnalysis(ctx, db, a); err != nil {
			t.Fatal(err)
		}
		if err := store.SetCaseAnalysis(ctx, db, id, "mue_check", 0.8125); err != nil {
			t.Fatal(err)
		}
		d := &store.Draft{CaseID: id, AnalysisID: &a.ID, ReplyToMessageID: &mid, To: "coder@clinic.test", Subject: "Re: " + c.Subject,
			BodyText: "Four units.", BodyHTML: "<p>Four units.</p>"}
		if _, err := store.CreateDraft(ctx, db, d); err != nil {
			t.Fatal(err)
		}
		if err := store.AddDraftRevision(ctx, db, &store.DraftRevision{DraftID: d.ID, Author: "system", BodyText: d.BodyText}); err != nil {
			t.Fatal(err)
		}
		if err := store.AddEvent(ctx, db, id, "system", "drafted", fmt.Sprintf("draft %d", d.ID)); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if _, err := store.ApproveDraft(ctx, db, d.ID, "rita@desk.test", false); err != nil {
				t.Fatal(err)
			}
			if _, err := store.SetOutgoingMessageID(ctx, db, d.ID, "reply-1@desk.test"); err != nil {
				t.Fatal(err)
			}
			if err := store.MarkSendStarted(ctx, db, d.ID, now); err != nil {
				t.Fatal(err)
			}
			if err := store.MarkDraftSent(ctx, db, d.ID, now, "250 2.0.0 queued"); err != nil {
				t.Fatal(err)
			}
			if _, err := store.TransitionCase(ctx, db, id, nil, store.StatusSent, ""); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := store.AddNote(ctx, db, &store.Note{CaseID: id, Author: "rita@desk.test", Body: "Checked the MUE table."}); err != nil {
			t.Fatal(err)
		}
	}
	// A case number skipped (a rolled-back intake): IDs are kept as they are.
	_ = db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := store.CreateCase(ctx, tx, &store.Case{Subject: "rolled back", Status: store.StatusReceived}); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	return s
}

// archive is an archive decoded for comparison.
type archive struct {
	header   Header
	sections map[string]TableStart
	rows     map[string][][]any
	jobs     []Job
	manifest Manifest
}

func readArchive(t *testing.T, b []byte) archive {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	a := archive{sections: map[string]TableStart{}, rows: map[string][][]any{}}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 64<<20)
	cur := ""
	for sc.Scan() {
		line := sc.Bytes()
		if line[0] == '[' {
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber()
			var row []any
			if err := dec.Decode(&row); err != nil {
				t.Fatal(err)
			}
			a.rows[cur] = append(a.rows[cur], row)
			continue
		}
		var rec record
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatal(err)
		}
		switch {
		case rec.Header != nil:
			a.header = *rec.Header
		case rec.Table != nil:
			cur = rec.Table.Name
			a.sections[cur] = *rec.Table
		case rec.Job != nil:
			a.jobs = append(a.jobs, *rec.Job)
		case rec.Manifest != nil:
			a.manifest = *rec.Manifest
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return a
}

// normalize makes a value comparable across engines: times to the
// microsecond (PostgreSQL's precision), JSON by content.
func normalize(t *testing.T, k Kind, v any) any {
	if v == nil {
		return nil
	}
	switch k {
	case KindTime:
		tm, err := time.Parse(time.RFC3339Nano, v.(string))
		if err != nil {
			t.Fatal(err)
		}
		return tm.Truncate(time.Microsecond).UTC().Format(time.RFC3339Nano)
	case KindJSON:
		var x any
		if err := json.Unmarshal([]byte(v.(string)), &x); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

// sameRows compares two archives table by table, row by row.
func sameRows(t *testing.T, a, b archive) {
	t.Helper()
	if !slices.Equal(a.header.Tables, b.header.Tables) {
		t.Fatalf("tables %v and %v", a.header.Tables, b.header.Tables)
	}
	for _, tbl := range a.header.Tables {
		sa, sb := a.sections[tbl], b.sections[tbl]
		if !slices.Equal(sa.Columns, sb.Columns) {
			t.Fatalf("%s: columns %v and %v", tbl, sa.Columns, sb.Columns)
		}
		ra, rb := a.rows[tbl], b.rows[tbl]
		if len(ra) != len(rb) {
			t.Fatalf("%s: %d rows and %d rows", tbl, len(ra), len(rb))
		}
		key := func(rows [][]any, kinds []Kind) []string {
			out := make([]string, len(rows))
			for i, r := range rows {
				parts := make([]string, len(r))
				for j, v := range r {
					k := kinds[j]
					if sa.Kinds[j] == KindJSON || sb.Kinds[j] == KindJSON {
						k = KindJSON
					}
					parts[j] = fmt.Sprintf("%v", normalize(t, k, v))
				}
				out[i] = strings.Join(parts, "\x1f")
			}
			sort.Strings(out) // tables without a key have no defined order
			return out
		}
		ka, kb := key(ra, sa.Kinds), key(rb, sb.Kinds)
		for i := range ka {
			if ka[i] != kb[i] {
				t.Errorf("%s: row differs:\n  %q\n  %q", tbl, ka[i], kb[i])
			}
		}
	}
}

func export(t *testing.T, db *store.DB) ([]byte, ExportResult) {
	t.Helper()
	var buf bytes.Buffer
	res, err := Export(context.Background(), db, &buf, ExportOptions{Version: "test"})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return buf.Bytes(), res
}

// rowCounts counts the rows of every exported table, and of sessions.
func rowCounts(t *testing.T, db *store.DB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, tbl := range append(slices.Clone(Tables), "sessions") {
		var n int64
		if err := db.QueryRow(context.Background(), "SELECT COUNT(*) FROM "+tbl).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tbl] = n
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	for _, dir := range []struct {
		name     string
		src, dst func(testing.TB, ...dbtest.Migrator) *store.DB
	}{
		{"sqlite_to_postgres", dbtest.SQLite, dbtest.Postgres},
		{"postgres_to_sqlite", dbtest.Postgres, dbtest.SQLite},
	} {
		t.Run(dir.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, dst := dir.src(t), dir.dst(t)
			s := seed(t, src)
			before := rowCounts(t, src)
			for _, tbl := range Tables {
				if before[tbl] == 0 {
					t.Fatalf("seed left %s empty: the round trip would not cover it", tbl)
				}
			}
			b1, eres := export(t, src)
			if eres.Header.Dialect != src.Dialect().String() {
				t.Fatalf("header dialect %q", eres.Header.Dialect)
			}
			ires, err := Import(ctx, dst, bytes.NewReader(b1), ImportOptions{})
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			after := rowCounts(t, dst)
			for _, tbl := range Tables {
				if after[tbl] != before[tbl] || ires.Manifest.Rows[tbl] != before[tbl] {
					t.Errorf("%s: %d rows in source, %d imported, manifest %d", tbl, before[tbl], after[tbl], ires.Manifest.Rows[tbl])
				}
			}
			if after["sessions"] != 0 {
				t.Errorf("sessions were carried: %d", after["sessions"])
			}
			b2, _ := export(t, dst)
			sameRows(t, readArchive(t, b1), readArchive(t, b2))

			// Through the store: case numbers, links and raw bytes survive.
			for i, id := range s.cases {
				c, err := store.GetCase(ctx, dst, id)
				if err != nil {
					t.Fatalf("case %d: %v", id, err)
				}
				if want := fmt.Sprintf("Question %d about J1885 — “units”", i+1); c.Subject != want {
					t.Errorf("case %d subject %q", id, c.Subject)
				}
				if i == 1 && (c.LinkedCaseID == nil || *c.LinkedCaseID != s.cases[0]) {
					t.Errorf("case %d linked to %v", id, c.LinkedCaseID)
				}
			}
			m, err := store.GetMessage(ctx, dst, s.messageID)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.Raw, s.raw) || !m.Truncated {
				t.Errorf("message %d: raw %q truncated %v", m.ID, m.Raw, m.Truncated)
			}
			u, err := store.GetUserByEmail(ctx, dst, "admin@desk.test")
			if err != nil || u.PasswordHash == "" || u.LastLoginAt == nil {
				t.Errorf("admin after import: %+v, %v", u, err)
			}

			// Numbering continues after the highest imported ID.
			var maxID int64
			if err := dst.QueryRow(ctx, "SELECT MAX(id) FROM cases").Scan(&maxID); err != nil {
				t.Fatal(err)
			}
			next, err := store.CreateCase(ctx, dst, &store.Case{Subject: "after the move", Status: store.StatusReceived})
			if err != nil {
				t.Fatalf("new case after import: %v", err)
			}
			if next != maxID+1 {
				t.Errorf("new case got #%d, want #%d", next, maxID+1)
			}
			n := &store.Note{CaseID: next, Author: "rita@desk.test", Body: "new"}
			if _, err := store.AddNote(ctx, dst, n); err != nil {
				t.Fatalf("new note after import (serial sequence): %v", err)
			}
			if n.ID != before["notes"]+1 {
				t.Errorf("new note got id %d, want %d", n.ID, before["notes"]+1)
			}
			if err := store.AddEvent(ctx, dst, next, "system", "received", ""); err != nil {
				t.Fatalf("new event after import: %v", err)
			}

			// The audit trail is still append-only.
			if _, err := dst.Exec(ctx, "UPDATE events SET detail = 'x'"); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("UPDATE events after import: %v", err)
			}
			if _, err := dst.Exec(ctx, "DELETE FROM events"); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("DELETE events after import: %v", err)
			}
		})
	}
}

// TestTablesCoverSchema: every table of the live schema is exported or
// skipped with a reason; a new table stops export until it is listed.
func TestTablesCoverSchema(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		live, err := liveTables(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		var carried []string
		for _, tbl := range live {
			if skipReason(tbl) == "" {
				carried = append(carried, tbl)
			}
		}
		want := slices.Clone(Tables)
		sort.Strings(want)
		if !slices.Equal(carried, want) {
			t.Fatalf("live tables minus skipped = %v\nexported = %v", carried, want)
		}
		if _, err := db.Exec(ctx, "CREATE TABLE case_tags (case_id BIGINT NOT NULL, tag TEXT NOT NULL)"); err != nil {
			t.Fatal(err)
		}
		_, err = Export(ctx, db, io.Discard, ExportOptions{})
		if !errors.Is(err, ErrUnknownTable) || !strings.Contains(err.Error(), "case_tags") {
			t.Fatalf("export with an unlisted table: %v", err)
		}
	})
}

// assertEmpty checks no exported table holds a row.
func assertEmpty(t *testing.T, db *store.DB) {
	t.Helper()
	for tbl, n := range rowCounts(t, db) {
		if n != 0 {
			t.Errorf("%s holds %d rows after a failed import", tbl, n)
		}
	}
}

// rewrite decompresses an archive, lets edit change its lines and
// compresses it again.
func rewrite(t *testing.T, b []byte, edit func(lines []string) []string) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(plain), "\n"), "\n")
	lines = edit(lines)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	_, _ = zw.Write([]byte(strings.Join(lines, "\n") + "\n"))
	_ = zw.Close()
	return out.Bytes()
}

func TestImportRefusesBadArchivesAndFullTargets(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, src *store.DB) {
		ctx := context.Background()
		seed(t, src)
		good, _ := export(t, src)
		lastRow := func(lines []string) int { // the last row of the last table
			for i := len(lines) - 1; i >= 0; i-- {
				if strings.HasPrefix(lines[i], "[") {
					return i
				}
			}
			t.Fatal("no rows")
			return 0
		}
		flipped := slices.Clone(good)
		flipped[len(flipped)/2] ^= 0x55
		cases := []struct {
			name    string
			archive []byte
			want    string
		}{
			{"cut in half", good[:len(good)/2], "truncated"},
			{"cut before the manifest", rewrite(t, good, func(l []string) []string { return l[:len(l)-1] }), "ends before its manifest"},
			{"a row lost", rewrite(t, good, func(l []string) []string { i := lastRow(l); return append(l[:i:i], l[i+1:]...) }), "end record says"},
			{"manifest count changed", rewrite(t, good, func(l []string) []string {
				l[len(l)-1] = strings.Replace(l[len(l)-1], `"cases":3`, `"cases":4`, 1)
				return l
			}), "manifest says 4"},
			{"a byte flipped", flipped, "corrupt"},
			{"not an archive", []byte("id,subject\n1,hello\n"), "not gzip"},
		}
		for _, c := range cases {
			dst := dbtest.SQLite(t)
			if src.Dialect() == store.Postgres {
				dst = dbtest.Postgres(t)
			}
			_, err := Import(ctx, dst, bytes.NewReader(c.archive), ImportOptions{})
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: import error %v, want ErrCorrupt mentioning %q", c.name, err, c.want)
			}
			assertEmpty(t, dst)
		}

		// A target with data is refused and left alone.
		_, err := Import(ctx, src, bytes.NewReader(good), ImportOptions{})
		if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "cases") {
			t.Fatalf("import into the source itself: %v", err)
		}
		other := dbtest.SQLite(t)
		if src.Dialect() == store.Postgres {
			other = dbtest.Postgres(t)
		}
		if _, err := store.UpsertUser(ctx, other, &store.User{Email: "x@desk.test", Role: store.RoleAdmin, PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
		_, err = Import(ctx, other, bytes.NewReader(good), ImportOptions{})
		if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "users") {
			t.Fatalf("import into a database with one user: %v", err)
		}
		if n := rowCounts(t, other)["users"]; n != 1 {
			t.Fatalf("refused import changed users: %d rows", n)
		}

		// Another migration level is refused.
		if _, err := other.Exec(ctx, "DELETE FROM codedesk_migrations WHERE version = 301"); err != nil {
			t.Fatal(err)
		}
		if _, err := Import(ctx, other, bytes.NewReader(good), ImportOptions{}); err == nil || !strings.Contains(err.Error(), "codedesk migrate") {
			t.Fatalf("import into another migration level: %v", err)
		}
	})
}
