// Package queue owns codedesk's River queue: the job args (args.go), one
// worker per step of the flow (ingest.go, analyse.go, draft.go, send.go),
// the mailbox sink that stores fetched messages with their first job
// (deliver.go), and review actions that move a case and enqueue its next job
// in one transaction (review.go).
//
// River is generic over its driver's transaction type. codedesk runs on
// SQLite (riversqlite, *sql.Tx) or PostgreSQL (riverpgxv5, pgx.Tx); this
// package hides that choice behind Queue, so workers and callers pass a
// *store.Tx and never care which engine runs underneath.
package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/codedesk/codedesk/internal/store"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"riverqueue.com/riverui"
)

// Migrate applies River's own migrations (its job, leader, queue and
// notification tables) to db.
func Migrate(ctx context.Context, db *store.DB) error {
	var err error
	switch db.Dialect() {
	case store.SQLite:
		var m *rivermigrate.Migrator[*sql.Tx]
		m, err = rivermigrate.New(riversqlite.New(db.SQLDB()), nil)
		if err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	case store.Postgres:
		var m *rivermigrate.Migrator[pgx.Tx]
		m, err = rivermigrate.New(riverpgxv5.New(db.Pool()), nil)
		if err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	default:
		err = errors.New("unknown database dialect")
	}
	if err != nil {
		return fmt.Errorf("applying river migrations: %w", err)
	}
	return nil
}

// Config tunes the River client. Zero values take codedesk's defaults.
type Config struct {
	// Workers is the number of jobs worked at once on the mail queue (the
	// send queue gets a quarter of it, at least 2). 0 means insert-only: the
	// client enqueues but works nothing (the CLI uses that).
	Workers int
	// FetchCooldown and FetchPollInterval: see River's Config. River's
	// defaults (100 ms, 1 s) cap throughput near 1,000 jobs/s and add up to a
	// second per hop; codedesk uses 5 ms and 50 ms.
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
	Logger            *slog.Logger
	// ID names this node's client (several nodes can share PostgreSQL).
	ID string
	// RetryPolicy, when set, replaces River's default backoff (attempt^4
	// seconds); tests use a fast one.
	RetryPolicy river.ClientRetryPolicy
	// RetryMaxDelay, when set, caps each retry delay of River's default
	// policy (ignored when RetryPolicy is set).
	RetryMaxDelay time.Duration
	// JobTimeout bounds one run of a job (default 1m).
	JobTimeout time.Duration
	// RescueStuckJobsAfter is when a job still marked running — its node
	// died — is made available again (default 2m; must exceed JobTimeout).
	RescueStuckJobsAfter time.Duration
	// SoftStopTimeout is how long Stop lets jobs in flight finish before it
	// cancels them (default 20s); cancelled jobs are retried.
	SoftStopTimeout time.Duration
}

// cappedRetry is River's attempt^4 backoff with each delay capped.
type cappedRetry struct {
	max  time.Duration
	base river.DefaultClientRetryPolicy
}

func (p *cappedRetry) NextRetry(job *rivertype.JobRow) time.Time {
	now := time.Now().UTC()
	next := p.base.NextRetry(job)
	if next.Sub(now) > p.max {
		// Keep some jitter so that jobs failed together do not retry in
		// lockstep.
		return now.Add(p.max - time.Duration(rand.Int64N(int64(p.max/10)+1)))
	}
	return next
}

// engine is the part of a River client that depends on the driver's
// transaction type.
type engine interface {
	start(ctx context.Context) error
	stop(ctx context.Context) error
	insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insertManyTx(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	uiHandler(ctx context.Context, prefix string, logger *slog.Logger) (http.Handler, error)
}

type riverEngine[TTx any] struct {
	c      *river.Client[TTx]
	unwrap func(*store.Tx) TTx
}

func (e *riverEngine[TTx]) start(ctx context.Context) error { return e.c.Start(ctx) }
func (e *riverEngine[TTx]) stop(ctx context.Context) error  { return e.c.Stop(ctx) }
func (e *riverEngine[TTx]) insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return e.c.Insert(ctx, args, opts)
}
func (e *riverEngine[TTx]) insertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return e.c.InsertTx(ctx, e.unwrap(tx), args, opts)
}
func (e *riverEngine[TTx]) insertManyTx(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	return e.c.InsertManyTx(ctx, e.unwrap(tx), params)
}
func (e *riverEngine[TTx]) subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return e.c.Subscribe(kinds...)
}
func (e *riverEngine[TTx]) uiHandler(ctx context.Context, prefix string, logger *slog.Logger) (http.Handler, error) {
	h, err := riverui.NewHandler(&riverui.HandlerOpts{Endpoints: riverui.NewEndpoints(e.c, nil), Logger: logger, Prefix: prefix})
	if err != nil {
		return nil, err
	}
	if err := h.Start(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// Queue is codedesk's River client on either engine.
type Queue struct {
	db      *store.DB
	eng     engine
	logger  *slog.Logger
	working bool
}

// New builds a River client on db. Workers are registered by the caller
// through workers (nil for an insert-only client).
func New(db *store.DB, workers *river.Workers, cfg Config) (*Queue, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rc := &river.Config{
		Logger:            logger.With("component", "river"),
		FetchCooldown:     orDefault(cfg.FetchCooldown, 5*time.Millisecond),
		FetchPollInterval: orDefault(cfg.FetchPollInterval, 50*time.Millisecond),
		ID:                cfg.ID,
		// Completed jobs are kept a day for the admin job view.
		CompletedJobRetentionPeriod: 24 * time.Hour,
		RetryPolicy:                 cfg.RetryPolicy,
		JobTimeout:                  orDefault(cfg.JobTimeout, time.Minute),
		RescueStuckJobsAfter:        orDefault(cfg.RescueStuckJobsAfter, 2*time.Minute),
		SoftStopTimeout:             orDefault(cfg.SoftStopTimeout, 20*time.Second),
	}
	if rc.RetryPolicy == nil && cfg.RetryMaxDelay > 0 {
		rc.RetryPolicy = &cappedRetry{max: cfg.RetryMaxDelay}
	}
	if rc.RescueStuckJobsAfter <= rc.JobTimeout {
		return nil, fmt.Errorf("creating river client: rescue-stuck-after %v must exceed job-timeout %v", rc.RescueStuckJobsAfter, rc.JobTimeout)
	}
	if workers != nil && cfg.Workers > 0 {
		send := max(2, cfg.Workers/4)
		rc.Queues = map[string]river.QueueConfig{
			QueueMail: {MaxWorkers: cfg.Workers},
			QueueSend: {MaxWorkers: send},
		}
		rc.Workers = workers
	}
	q := &Queue{db: db, logger: logger, working: rc.Workers != nil}
	switch db.Dialect() {
	case store.SQLite:
		c, err := river.NewClient(riversqlite.New(db.SQLDB()), rc)
		if err != nil {
			return nil, fmt.Errorf("creating river client: %w", err)
		}
		q.eng = &riverEngine[*sql.Tx]{c: c, unwrap: (*store.Tx).SQL}
	case store.Postgres:
		c, err := river.NewClient(riverpgxv5.New(db.Pool()), rc)
		if err != nil {
			return nil, fmt.Errorf("creating river client: %w", err)
		}
		q.eng = &riverEngine[pgx.Tx]{c: c, unwrap: (*store.Tx).Pgx}
	default:
		return nil, errors.New("creating river client: unknown database dialect")
	}
	return q, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Start starts working jobs (a no-op for an insert-only client).
func (q *Queue) Start(ctx context.Context) error {
	if !q.working {
		return nil
	}
	if err := q.eng.start(ctx); err != nil {
		return fmt.Errorf("starting river: %w", err)
	}
	return nil
}

// Stop stops fetching new jobs and waits for jobs in flight, for at most
// SoftStopTimeout: then River cancels their contexts (they fail and are
// retried, here or on another node) and Stop returns once they have
// returned, or when ctx is done.
func (q *Queue) Stop(ctx context.Context) error {
	if !q.working {
		return nil
	}
	return q.eng.stop(ctx)
}

// InsertTx enqueues a job in the caller's transaction: it exists if and only
// if the transaction commits.
func (q *Queue) InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs) error {
	res, err := q.eng.insertTx(ctx, tx, args, nil)
	if err != nil {
		return fmt.Errorf("enqueueing %s: %w", args.Kind(), err)
	}
	if res.UniqueSkippedAsDuplicate {
		q.logger.DebugContext(ctx, "job already enqueued", "kind", args.Kind(), "job_id", res.Job.ID)
	}
	return nil
}

// InsertManyTx enqueues several jobs in the caller's transaction with one
// round of inserts.
func (q *Queue) InsertManyTx(ctx context.Context, tx *store.Tx, args []river.JobArgs) error {
	if len(args) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a}
	}
	if _, err := q.eng.insertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueueing %d %s jobs: %w", len(args), args[0].Kind(), err)
	}
	return nil
}

// Subscribe returns River events of the given kinds (tests and benchmarks).
func (q *Queue) Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return q.eng.subscribe(kinds...)
}

// UIHandler returns River's own web UI (riverui) mounted at prefix. It has
// no authentication of its own: wrap it.
func (q *Queue) UIHandler(ctx context.Context, prefix string) (http.Handler, error) {
	return q.eng.uiHandler(ctx, prefix, q.logger.With("component", "riverui"))
}

// DB returns the database the queue runs on.
func (q *Queue) DB() *store.DB { return q.db }

// completeTx marks a running job completed inside tx, so the state change,
// the next job and the completion commit together: a crash can never leave
// the case moved on with its old job still to run.
func completeTx[A river.JobArgs](ctx context.Context, tx *store.Tx, job *river.Job[A]) error {
	var err error
	switch tx.Dialect() {
	case store.SQLite:
		_, err = river.JobCompleteTx[*riversqlite.Driver](ctx, tx.SQL(), job)
	case store.Postgres:
		_, err = river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx.Pgx(), job)
	}
	if err != nil {
		return fmt.Errorf("completing job %d: %w", job.ID, err)
	}
	return nil
}
