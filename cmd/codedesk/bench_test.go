package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/devmail"
	"github.com/codedesk/codedesk/internal/smtptest"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/queue"
)

// sharedData is the directory of official code sets beside the checkout.
const sharedData = "../../../shared/data"

// benchCodeSets imports the full official code sets when they are there
// (a realistic knowledge base), the small fixtures otherwise.
func benchCodeSets(b *testing.B, db *store.DB) string {
	b.Helper()
	ctx := context.Background()
	if _, err := os.Stat(sharedData); err == nil {
		if _, err := codes.Import(ctx, db, []string{sharedData}, codes.ImportOptions{Logger: testLogger(b)}); err != nil {
			b.Fatal(err)
		}
		return "full"
	}
	if _, err := codes.Import(ctx, db, fixtureCodeSets, codes.ImportOptions{Logger: testLogger(b)}); err != nil {
		b.Fatal(err)
	}
	return "fixtures"
}

var benchQuestions = []string{
	"What is E11.22? Also need the HCPCS for a standard wheelchair, K0001",
	"Is N18.31 billable? Patient has CKD stage 3a.",
	"Quick check on J2405 please, and the ICD-10 code I10.",
	"Can you confirm the descriptor for E78.5 and Z79.899?",
	"Need the long description for M81.0 and G0008.",
}

func benchMessage(i int, run string) (id string, raw []byte) {
	id = fmt.Sprintf("bench-%s-%d@clinic.test", run, i)
	q := benchQuestions[i%len(benchQuestions)]
	raw = []byte(strings.ReplaceAll(fmt.Sprintf("From: Dana Coder <coder%d@clinic.test>\nTo: desk@codedesk.test\nSubject: Question %d\nMessage-ID: <%s>\nDate: %s\nContent-Type: text/plain; charset=utf-8\n\n%s\n\nThanks,\nDana\n",
		i%50, i, id, time.Now().Format(time.RFC1123Z), q), "\n", "\r\n"))
	return id, raw
}

type pipelineBench struct {
	dev  *devmail.Server
	sink *smtptest.Sink
	node *node
	db   *store.DB
}

// startPipeline starts a node on db; with a dbURL the node opens the
// database itself, sized as codedesk serve sizes it.
func startPipeline(b *testing.B, db *store.DB, dbURL string) *pipelineBench {
	b.Helper()
	ctx := context.Background()
	dev, err := devmail.Start(ctx, devmail.Config{IMAPAddr: "127.0.0.1:0", SMTPAddr: "127.0.0.1:0", Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dev.Close() })
	sink := smtptest.Start(b, smtptest.Options{})
	cfg := testServeConfig(dev)
	cfg.SMTP.Addr = sink.Addr()
	cfg.SMTP.Username = ""
	cfg.IMAP.PollInterval = 30 * time.Second
	cfg.Queue.Workers = 50 // codedesk's default
	nc := nodeConfig{Serve: cfg, DB: db, Logger: testLogger(b), ShutdownTimeout: 10 * time.Second}
	if dbURL != "" {
		nc.DB, nc.Database.URL = nil, dbURL
	}
	n, err := startNode(ctx, nc)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	return &pipelineBench{dev: dev, sink: sink, node: n, db: db}
}

// waitReplies waits until the sink holds n messages in all.
func (p *pipelineBench) waitReplies(b *testing.B, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := p.sink.Wait(ctx, n); err != nil {
		b.Fatalf("waiting for %d replies (have %d): %v", n, len(p.sink.Messages()), err)
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// BenchmarkPipeline measures the whole product on one node: questions
// appended to the desk mailbox (IMAP IDLE pick-up) → stored → ingested →
// analysed → drafted → auto-sent to an SMTP sink.
//
//   - burst: 1,000 questions appended at once; emails/s until the last reply
//     is accepted, and jobs/s (4 River jobs per email).
//   - paced: 200 questions at 20/s (under capacity); arrival → drafted and
//     arrival → reply accepted, p50 and p99.
func BenchmarkPipeline(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var db *store.DB
			var url string
			if engine == "sqlite" {
				db = dbtest.SQLite(b, queue.Migrate)
			} else {
				db, url = dbtest.PostgresWithURL(b, queue.Migrate)
			}
			b.Logf("code sets: %s", benchCodeSets(b, db))
			p := startPipeline(b, db, url)
			ctx := context.Background()
			const burst = 1000
			const paced = 200
			sent := 0
			var total time.Duration
			var toDrafted, toSent []time.Duration
			b.ResetTimer()
			for it := 0; it < b.N; it++ {
				run := fmt.Sprintf("%d-%d", it, time.Now().UnixNano())
				// Burst.
				start := time.Now()
				for i := 0; i < burst; i++ {
					_, raw := benchMessage(i, run)
					if err := p.dev.Append(ctx, "desk@codedesk.test", "INBOX", raw); err != nil {
						b.Fatal(err)
					}
				}
				sent += burst
				p.waitReplies(b, sent)
				total += time.Since(start)

				// Paced.
				arrival := map[string]time.Time{}
				tick := time.NewTicker(50 * time.Millisecond)
				for i := 0; i < paced; i++ {
					<-tick.C
					id, raw := benchMessage(i, run+"-paced")
					arrival[id] = time.Now()
					if err := p.dev.Append(ctx, "desk@codedesk.test", "INBOX", raw); err != nil {
						b.Fatal(err)
					}
				}
				tick.Stop()
				sent += paced
				p.waitReplies(b, sent)
				for _, m := range p.sink.Messages() {
					irt := strings.Trim(m.Header.Get("In-Reply-To"), "<>")
					if at, ok := arrival[irt]; ok {
						toSent = append(toSent, m.Received.Sub(at))
					}
				}
				rows, err := db.Query(ctx, `SELECT m.message_id, d.created_at FROM drafts d JOIN messages m ON m.id = d.reply_to_message_id`)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
					var id string
					var created time.Time
					if err := rows.Scan(&id, &created); err != nil {
						b.Fatal(err)
					}
					if at, ok := arrival[id]; ok {
						toDrafted = append(toDrafted, created.Sub(at))
					}
				}
				rows.Close()
			}
			b.StopTimer()
			emailsPerSec := float64(burst*b.N) / total.Seconds()
			b.ReportMetric(emailsPerSec, "emails/s")
			b.ReportMetric(4*emailsPerSec, "jobs/s")
			b.ReportMetric(float64(percentile(toDrafted, 0.5).Milliseconds()), "drafted-p50-ms")
			b.ReportMetric(float64(percentile(toDrafted, 0.99).Milliseconds()), "drafted-p99-ms")
			b.ReportMetric(float64(percentile(toSent, 0.5).Milliseconds()), "sent-p50-ms")
			b.ReportMetric(float64(percentile(toSent, 0.99).Milliseconds()), "sent-p99-ms")
		})
	}
}
