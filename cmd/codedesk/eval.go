package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/codedesk/codedesk/internal/analysis"
	"github.com/codedesk/codedesk/internal/analysis/evalset"
	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/reply"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/queue"
)

// evalCmd runs the answer engine over an evaluation set and prints
// per-kind accuracy, code recall and invented codes (docs/answers.md).
type evalCmd struct {
	config.Log
	Dir      string `arg:"" name:"dir" default:"testdata/eval" help:"Evaluation set: expected.tsv, the .eml cases, and ptp/ with NCCI PTP fixtures."`
	Codesets string `name:"codesets-dir" env:"CODEDESK_CODESETS_DIR" default:"../shared/data" help:"Official code-set files imported into a temporary database for the run."`
	Verbose  bool   `name:"verbose" short:"v" help:"List every case, not only the ones that missed."`
	Check    bool   `name:"check" help:"Exit 1 when a target is missed (kind ≥ 95%, recall ≥ 90%, no invented codes)."`
}

// Targets of the evaluation (issue #4).
const (
	evalKindTarget   = 0.95
	evalRecallTarget = 0.90
)

// Run implements the command.
func (c *evalCmd) Run(ctx context.Context, io stdio) error {
	rep, err := runEval(ctx, c.Dir, c.Codesets, newLogger(c.Log, io.Err))
	if err != nil {
		return err
	}
	rep.Write(io.Out, c.Verbose)
	if c.Check {
		if err := evalTargets(rep); err != nil {
			return err
		}
	}
	return nil
}

func evalTargets(rep evalset.Report) error {
	var errs []error
	if rep.KindAccuracy() < evalKindTarget {
		errs = append(errs, fmt.Errorf("kind accuracy %.1f%% is below %.0f%%", 100*rep.KindAccuracy(), 100*evalKindTarget))
	}
	if rep.Recall() < evalRecallTarget {
		errs = append(errs, fmt.Errorf("code recall %.1f%% is below %.0f%%", 100*rep.Recall(), 100*evalRecallTarget))
	}
	if rep.Invented > 0 {
		errs = append(errs, fmt.Errorf("%d invented or invalid codes cited", rep.Invented))
	}
	return errors.Join(errs...)
}

// runEval imports the code sets and the set's PTP fixtures into a
// temporary SQLite database and answers every case as "codedesk draft"
// does.
func runEval(ctx context.Context, dir, codesets string, log *slog.Logger) (evalset.Report, error) {
	env, err := newEvalEnv(ctx, dir, codesets)
	if err != nil {
		return evalset.Report{}, err
	}
	defer env.Close()
	log.Info("evaluating", "cases", len(env.cases))
	return evalset.Run(ctx, env.draft, env.kb.Lookup, env.cases), nil
}

// evalEnv is an evaluation set with a knowledge base to answer it.
type evalEnv struct {
	cases []evalset.Case
	kb    *codes.KB
	draft evalset.Draft
	close func()
}

func (e *evalEnv) Close() { e.close() }

func newEvalEnv(ctx context.Context, dir, codesets string) (_ *evalEnv, err error) {
	cases, err := evalset.Load(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(codesets); err != nil {
		return nil, fmt.Errorf("the evaluation needs the official code sets (--codesets-dir): %w", err)
	}
	tmp, err := os.MkdirTemp("", "codedesk-eval-")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary directory: %w", err)
	}
	db, err := openDB(ctx, config.Database{URL: filepath.Join(tmp, "eval.db")})
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	env := &evalEnv{cases: cases, close: func() { db.Close(); os.RemoveAll(tmp) }}
	defer func() {
		if err != nil {
			env.Close()
		}
	}()
	if _, err := store.Migrate(ctx, db); err != nil {
		return nil, err
	}
	paths := []string{codesets}
	if ptp, _ := filepath.Glob(filepath.Join(dir, "ptp", "*")); len(ptp) > 0 {
		paths = append(paths, ptp...)
	}
	if _, err := codes.Import(ctx, db, paths, codes.ImportOptions{}); err != nil {
		return nil, fmt.Errorf("importing code sets for the evaluation: %w", err)
	}
	if env.kb, err = codes.Load(ctx, db); err != nil {
		return nil, err
	}
	renderer, err := reply.NewRenderer()
	if err != nil {
		return nil, err
	}
	kb := env.kb
	deps := &queue.Deps{
		Analyser: analysis.NewEngine(func() analysis.Codebook { return kb }),
		Renderer: renderer,
		Policy:   queue.Policy{AutoSend: true, MinConfidence: 0.6},
		Desk:     queue.Desk{Name: "codedesk coding desk"},
	}
	env.draft = func(ctx context.Context, raw []byte) (analysis.Result, error) {
		out, err := queue.DraftMessage(ctx, deps, raw)
		if err != nil {
			return analysis.Result{}, err
		}
		return out.Result, nil
	}
	return env, nil
}
