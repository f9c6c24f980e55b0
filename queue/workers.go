package queue

import (
	"context"
	"log/slog"
	"time"

	"github.com/codedesk/codedesk/internal/analysis"
	"github.com/codedesk/codedesk/internal/mailer"
	"github.com/codedesk/codedesk/internal/mailparse"
	"github.com/codedesk/codedesk/internal/reply"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/riverqueue/river"
)

// Analyser answers one question; analysis.Engine implements it.
type Analyser interface {
	Analyse(ctx context.Context, q analysis.Question) (analysis.Result, error)
}

// Sender sends one reply; mailer.Mailer implements it.
type Sender interface {
	Send(ctx context.Context, o mailer.Outgoing) (mailer.Result, error)
}

// Policy decides what happens without a person.
type Policy struct {
	AutoSend      bool    // send drafts without review …
	MinConfidence float64 // … when the analysis is at least this confident
}

// Desk is who replies.
type Desk struct {
	Address string   // From of replies
	Name    string   // display name and signature
	Own     []string // every address of ours: mail from them is never answered
	Mailbox string   // the IMAP mailbox questions arrive in
}

// Deps are what the workers need.
type Deps struct {
	DB       *store.DB
	Analyser Analyser
	Renderer *reply.Renderer
	Sender   Sender
	Policy   Policy
	Desk     Desk
	Logger   *slog.Logger
	// ParseOptions are passed to mailparse.Parse.
	ParseOptions mailparse.Options
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
	// Metrics is optional.
	Metrics *Metrics
	// Delivery: BCC copy, Sent folder and reply rate limits (delivery.go).
	Delivery Delivery
}

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Workers registers codedesk's workers. The queue they insert follow-up jobs
// into is set by Bind once the client exists (River needs the workers before
// the client, the workers need the client to enqueue).
type Workers struct {
	deps *Deps
	q    *Queue
	reg  *river.Workers
}

// NewWorkers builds every worker over deps.
func NewWorkers(deps *Deps) *Workers {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Workers{deps: deps, reg: river.NewWorkers()}
	river.AddWorker(w.reg, &IngestWorker{w: w})
	river.AddWorker(w.reg, &AnalyseWorker{w: w})
	river.AddWorker(w.reg, &DraftWorker{w: w})
	river.AddWorker(w.reg, &SendWorker{w: w})
	river.AddWorker(w.reg, &SentCopyWorker{w: w})
	return w
}

// River returns the registry to pass to New.
func (w *Workers) River() *river.Workers { return w.reg }

// Bind tells the workers which queue to insert follow-up jobs into.
func (w *Workers) Bind(q *Queue) { w.q = q }
