package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/analysis/evalset"
)

// TestEvalTargets answers the evaluation set (testdata/eval) on the full
// official code sets and fails when kind accuracy, code recall or the
// invented-code count misses the targets. It skips without
// ../shared/data.
func TestEvalTargets(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("the evaluation imports the full code sets; skipped with -short")
	}
	if _, err := os.Stat(sharedData); err != nil {
		t.Skipf("official code sets not present (needs %s): %v", sharedData, err)
	}
	rep, err := runEval(context.Background(), "../../testdata/eval", sharedData, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Write(&out, false)
	t.Logf("evaluation:\n%s", out.String())
	if rep.Cases < 80 {
		t.Errorf("evaluation cases = %d, want at least 80", rep.Cases)
	}
	if err := evalTargets(rep); err != nil {
		t.Errorf("evalTargets() = %v, want the targets met", err)
	}
}

// BenchmarkDraftByKind measures parse + analyse + draft (queue.DraftMessage,
// as "codedesk draft" and the workers run it) per kind of question on the
// full official code sets, over the evaluation emails of that kind, and
// reports the median and 99th percentile latency. It skips without
// ../shared/data.
func BenchmarkDraftByKind(b *testing.B) {
	if _, err := os.Stat(sharedData); err != nil {
		b.Skipf("official code sets not present (needs %s): %v", sharedData, err)
	}
	ctx := context.Background()
	env, err := newEvalEnv(ctx, "../../testdata/eval", sharedData)
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	byKind := map[string][]evalset.Case{}
	var kinds []string
	for _, c := range env.cases {
		if byKind[c.Kind] == nil {
			kinds = append(kinds, c.Kind)
		}
		byKind[c.Kind] = append(byKind[c.Kind], c)
	}
	sort.Strings(kinds)
	// The narrative search index is built on first use; build it before
	// timing, as a running server has.
	for _, c := range env.cases {
		if _, err := env.draft(ctx, c.Raw); err != nil {
			b.Fatal(err)
		}
	}
	for _, kind := range kinds {
		cases := byKind[kind]
		b.Run(kind, func(b *testing.B) {
			took := make([]time.Duration, 0, b.N)
			i := 0
			for b.Loop() {
				start := time.Now()
				if _, err := env.draft(ctx, cases[i%len(cases)].Raw); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
				i++
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[min(len(took)-1, len(took)*99/100)].Microseconds())/1000, "p99-ms")
		})
	}
}
