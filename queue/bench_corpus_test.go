package queue

import (
	"context"
	"os"
	"regexp"
	"testing"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/mailbox"
	"github.com/codedesk/codedesk/internal/mailparse"
	"github.com/codedesk/codedesk/internal/store"
)

// pipelineCorpus reads the distinct messages of testdata/corpus/expect.txt
// (the pipeline corpus, 70 messages), with {{case:…}} and {{reply:…}}
// filled with stand-ins.
func pipelineCorpus(b *testing.B) [][]byte {
	b.Helper()
	fill := regexp.MustCompile(`\{\{(case|reply):[^}]+\}\}`)
	seen := map[string]bool{}
	var out [][]byte
	var total int64
	for _, e := range readCorpus(b) {
		if seen[e.file] {
			continue
		}
		seen[e.file] = true
		raw, err := os.ReadFile(corpusPath(e.file))
		if err != nil {
			b.Fatal(err)
		}
		raw = fill.ReplaceAll(raw, []byte("7"))
		out = append(out, raw)
		total += int64(len(raw))
	}
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	return out
}

// BenchmarkCorpusIntakeParse is the parsing ingest does per message over
// the pipeline corpus: the sink's content hash and Message-ID, then the
// ingest worker's Parse and quote stripping. It reports messages per
// second.
func BenchmarkCorpusIntakeParse(b *testing.B) {
	msgs := pipelineCorpus(b)
	opts := mailparse.Options{OwnAddresses: []string{"desk@codedesk.test"}}
	for b.Loop() {
		for _, raw := range msgs {
			_ = mailparse.ContentHash(raw)
			m, err := mailparse.Parse(raw, opts)
			if err != nil {
				continue // the one non-message: kept as unparseable
			}
			mailparse.NewText(m.Text)
		}
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkSinkDeliver stores the pipeline corpus as the poller does — one
// transaction per message with its ingest job and the checkpoint — on an
// insert-only queue, and reports messages per second. The first pass
// stores the 70 new messages (run it with -benchtime 1x for that figure alone);
// later passes deliver the same messages under new UIDs, as a rescan after
// a UIDVALIDITY change does, and measure dedupe absorbing them.
func BenchmarkSinkDeliver(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var db *store.DB
			if engine == "sqlite" {
				db = dbtest.SQLite(b, Migrate)
			} else {
				db = dbtest.Postgres(b, Migrate)
			}
			q, err := New(db, nil, Config{})
			if err != nil {
				b.Fatal(err)
			}
			sink := NewSink(q, nil)
			msgs := pipelineCorpus(b)
			ctx := context.Background()
			uid := uint32(0)
			for b.Loop() {
				for _, raw := range msgs {
					uid++
					f := &mailbox.Fetched{Mailbox: "INBOX", UIDValidity: 1, UID: uid, Size: int64(len(raw)), Raw: raw}
					if err := sink.Deliver(ctx, []*mailbox.Fetched{f}); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(int(uid))/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
