package dump

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

// sharedData is the directory of official code sets beside the checkout.
const sharedData = "../../../shared/data"

// seedCases adds n answered cases the size of real ones: a 6 KB question
// with its raw MIME, an analysis, a drafted and sent reply with one
// revision, and three audit events — written through the store's functions,
// 500 cases per transaction.
func seedCases(b *testing.B, db *store.DB, n int) {
	b.Helper()
	ctx := context.Background()
	body := strings.Repeat("How many units of J1885 do we bill for 60 mg given IV push in the ED? ", 80)
	raw := []byte("From: Coder <coder@clinic.test>\r\nTo: desk@codedesk.test\r\nSubject: units\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body)
	result := []byte(`{"kind":"mue_check","confidence":0.8,"codes":[{"code":"J1885","system":"hcpcs","descriptor":"Injection, ketorolac tromethamine, per 15 mg","units":4}],` +
		`"findings":[{"type":"mue","code":"J1885","value":8,"mai":3,"text":"Date of service edit: clinical"}],"missing":[],"releases":["hcpcs 2025-Q1","ncci-mue 2026-Q2"]}`)
	reply := strings.Repeat("Bill 4 units of J1885 (15 mg each) for 60 mg. ", 40)
	for start := 0; start < n; start += 500 {
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			for i := start; i < min(start+500, n); i++ {
				c := &store.Case{Subject: fmt.Sprintf("units question %d", i), Requester: "coder@clinic.test", Status: store.StatusReceived}
				id, err := store.CreateCase(ctx, tx, c)
				if err != nil {
					return err
				}
				if err := store.AddParticipant(ctx, tx, id, "coder@clinic.test"); err != nil {
					return err
				}
				uv, uid := int64(1), int64(i+1)
				m := &store.Message{Mailbox: "INBOX", UIDValidity: &uv, UID: &uid, MessageID: fmt.Sprintf("q%d@clinic.test", i),
					ContentHash: fmt.Sprintf("%x", i), Size: int64(len(raw)), Raw: raw}
				mid, _, err := store.InsertMessage(ctx, tx, m)
				if err != nil {
					return err
				}
				if err := store.SetMessageParsed(ctx, tx, mid, store.ParsedMessage{CaseID: id, Subject: c.Subject, From: "coder@clinic.test",
					BodyText: body, QuestionText: body, Status: store.MessageParsed}); err != nil {
					return err
				}
				a := &store.Analysis{CaseID: id, MessageID: mid, Kind: "mue_check", Confidence: 0.8, Result: result}
				if _, err := store.InsertAnalysis(ctx, tx, a); err != nil {
					return err
				}
				d := &store.Draft{CaseID: id, AnalysisID: &a.ID, ReplyToMessageID: &mid, To: "coder@clinic.test", Subject: "Re: " + c.Subject,
					BodyText: reply, BodyHTML: "<p>" + reply + "</p>"}
				if _, err := store.CreateDraft(ctx, tx, d); err != nil {
					return err
				}
				if err := store.AddDraftRevision(ctx, tx, &store.DraftRevision{DraftID: d.ID, Author: "system", BodyText: reply}); err != nil {
					return err
				}
				if err := store.MarkDraftSent(ctx, tx, d.ID, time.Now(), "250 ok"); err != nil {
					return err
				}
				if _, err := store.TransitionCase(ctx, tx, id, nil, store.StatusSent, ""); err != nil {
					return err
				}
				for _, act := range []string{"received", "drafted", "sent"} {
					if err := store.AddEvent(ctx, tx, id, "system", act, ""); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExportImport measures moving a desk of 10,000 answered cases
// with the fixture code sets, and with the full official ones beside the
// checkout (skipped when absent) between the engines. Each run seeds once and
// then exports and imports into a fresh database five times, reporting
// the medians; run it with -benchtime=1x:
//
//	CODEDESK_TEST_DATABASE_URL=… go test -run '^$' -bench ExportImport -benchtime=1x ./internal/dump/
func BenchmarkExportImport(b *testing.B) {
	const cases, reps = 10000, 5
	for _, dir := range []struct {
		name     string
		src, dst func(testing.TB, ...dbtest.Migrator) *store.DB
	}{
		{"sqlite_to_postgres", dbtest.SQLite, dbtest.Postgres},
		{"postgres_to_sqlite", dbtest.Postgres, dbtest.SQLite},
	} {
		for _, set := range []string{"fixture_codesets", "full_codesets"} {
			b.Run(dir.name+"/"+set, func(b *testing.B) {
				ctx := context.Background()
				paths := fixtureCodeSets(b)
				if set == "full_codesets" {
					if _, err := os.Stat(sharedData); err != nil {
						b.Skipf("no official code sets at %s", sharedData)
					}
					paths = []string{sharedData}
				}
				src := dir.src(b)
				if _, err := codes.Import(ctx, src, paths, codes.ImportOptions{}); err != nil {
					b.Fatal(err)
				}
				seedCases(b, src, cases)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					var exp, imp []time.Duration
					var size int
					var rows int64
					for r := 0; r < reps; r++ {
						b.StopTimer()
						dst := dir.dst(b)
						b.StartTimer()
						var buf bytes.Buffer
						t0 := time.Now()
						res, err := Export(ctx, src, &buf, ExportOptions{})
						if err != nil {
							b.Fatal(err)
						}
						t1 := time.Now()
						if _, err := Import(ctx, dst, bytes.NewReader(buf.Bytes()), ImportOptions{}); err != nil {
							b.Fatal(err)
						}
						t2 := time.Now()
						exp, imp = append(exp, t1.Sub(t0)), append(imp, t2.Sub(t1))
						size = buf.Len()
						rows = 0
						for _, n := range res.Manifest.Rows {
							rows += n
						}
					}
					b.ReportMetric(median(exp).Seconds(), "export-s")
					b.ReportMetric(median(imp).Seconds(), "import-s")
					b.ReportMetric(float64(size)/1e6, "archive-MB")
					b.ReportMetric(float64(rows), "rows")
					b.Logf("%d cases + %s, %d rows: export %v, import %v (medians of %d; all: %v / %v), archive %.1f MB",
						cases, set, rows, median(exp).Round(time.Millisecond), median(imp).Round(time.Millisecond), reps, exp, imp, float64(size)/1e6)
				}
			})
		}
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
