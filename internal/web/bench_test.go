package web_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

// seedCases adds n cases spread over the states (a third awaiting review),
// each with an analysis naming one code, in one transaction.
func seedCases(tb testing.TB, db *store.DB, n int) {
	tb.Helper()
	ctx := context.Background()
	states := []store.CaseStatus{store.StatusAwaitingReview, store.StatusSent, store.StatusSent, store.StatusAwaitingReview,
		store.StatusIgnored, store.StatusAwaitingReview, store.StatusNeedsAttention, store.StatusFailed, store.StatusSent}
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		for i := 0; i < n; i++ {
			conf := float64(i%100) / 100
			c := &store.Case{Subject: fmt.Sprintf("Synthetic question %d about E11.%d", i, i%10), Requester: fmt.Sprintf("coder%d@clinic%d.test", i%97, i%13),
				Status: states[i%len(states)], Kind: "code_lookup", Confidence: &conf, CreatedAt: time.Now().Add(-time.Duration(n-i) * time.Minute)}
			id, err := store.CreateCase(ctx, tx, c)
			if err != nil {
				return err
			}
			m := &store.Message{CaseID: &id, Mailbox: "INBOX", MessageID: fmt.Sprintf("bench-%d@clinic.test", i), ContentHash: fmt.Sprint(i), Status: store.MessageParsed}
			mid, _, err := store.InsertMessage(ctx, tx, m)
			if err != nil {
				return err
			}
			res := fmt.Sprintf(`{"kind":"code_lookup","codes":[{"system":"icd10cm","code":"E11.%d","role":"asked"}]}`, i%10)
			if _, err := store.InsertAnalysis(ctx, tx, &store.Analysis{CaseID: id, MessageID: mid, Kind: "code_lookup", Confidence: conf, Result: []byte(res)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkQueuePage renders queue pages over HTTP (session check, counts
// per tab, one keyset page of 50 rows, template) with 10,000 cases in the
// database, and reports p50 and p99 per request.
func BenchmarkQueuePage(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var db *store.DB
			if engine == "sqlite" {
				db = dbtest.SQLite(b, migrateRiver)
			} else {
				db = dbtest.Postgres(b, migrateRiver)
			}
			tb := setupBench(b, db)
			seedCases(b, db, 10_000)
			c := tb.benchClient(b)
			for _, page := range []struct{ name, path string }{
				{"awaiting", "/queue"},
				{"all_deep", "/queue?tab=all&after=5000"},
				{"search_code", "/queue?tab=all&q=E11.7"},
				{"search_sender", "/queue?tab=all&q=coder42%40"},
			} {
				b.Run(page.name, func(b *testing.B) {
					lat := make([]time.Duration, 0, b.N)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						start := time.Now()
						res, err := c.Get(tb.ts.URL + page.path)
						if err != nil {
							b.Fatal(err)
						}
						var sb strings.Builder
						buf := make([]byte, 64<<10)
						for {
							n, err := res.Body.Read(buf)
							sb.Write(buf[:n])
							if err != nil {
								break
							}
						}
						res.Body.Close()
						lat = append(lat, time.Since(start))
						if res.StatusCode != http.StatusOK || !strings.Contains(sb.String(), "/cases/") {
							b.Fatalf("GET %s = %d", page.path, res.StatusCode)
						}
					}
					b.StopTimer()
					sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
					b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99_ms")
				})
			}
		})
	}
}
