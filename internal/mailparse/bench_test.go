package mailparse

import (
	"os"
	"testing"
)

// loadCorpus reads every corpus message and sets the benchmark's byte count.
func loadCorpus(b *testing.B) [][]byte {
	b.Helper()
	var msgs [][]byte
	var total int64
	for _, path := range corpus(b) {
		raw, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, raw)
		total += int64(len(raw))
	}
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	return msgs
}

// BenchmarkParseCorpus parses the whole corpus per iteration (with NewText)
// and reports messages per second.
func BenchmarkParseCorpus(b *testing.B) {
	msgs := loadCorpus(b)
	for b.Loop() {
		for _, raw := range msgs {
			m, err := Parse(raw, corpusOptions)
			if err != nil {
				b.Fatal(err)
			}
			NewText(m.Text)
		}
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkParse parses the whole corpus per iteration, without NewText.
func BenchmarkParse(b *testing.B) {
	msgs := loadCorpus(b)
	for b.Loop() {
		for _, raw := range msgs {
			if _, err := Parse(raw, corpusOptions); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "msgs/s")
}
