package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"
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
