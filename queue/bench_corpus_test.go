package queue

import (
	"os"
	"regexp"
	"testing"

	"github.com/codedesk/codedesk/internal/mailparse"
)

// pipelineCorpus reads the distinct messages of testdata/corpus/expect.txt
// (the pipeline corpus, 69 messages), with {{case:…}} and {{reply:…}}
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
