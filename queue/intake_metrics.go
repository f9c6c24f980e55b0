package queue

import (
	"context"
	"time"

	"github.com/codedesk/codedesk/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// IntakeCounts is what the desk holds of inbound mail, for /healthz.
type IntakeCounts struct {
	// Pending messages are stored but not yet ingested.
	Pending int `json:"pending"`
	// Unprocessable messages could not be read (or were too large) and
	// wait for staff as needs_attention.
	Unprocessable int `json:"unprocessable"`
	// Oversized messages were kept as header only.
	Oversized int `json:"oversized"`
	// Ignored messages were not answered (auto-replies, bounces, lists…).
	Ignored int `json:"ignored"`
	// NeedsAttention is the number of cases waiting for staff.
	NeedsAttention int `json:"needs_attention"`
}

// CountIntake reads the counts from the database.
func CountIntake(ctx context.Context, db *store.DB) (IntakeCounts, error) {
	byStatus, err := store.CountMessagesByStatus(ctx, db)
	if err != nil {
		return IntakeCounts{}, err
	}
	over, err := store.CountOversizedMessages(ctx, db)
	if err != nil {
		return IntakeCounts{}, err
	}
	cases, err := store.CountCasesByStatus(ctx, db)
	if err != nil {
		return IntakeCounts{}, err
	}
	return IntakeCounts{
		Pending:        byStatus[store.MessageReceived],
		Unprocessable:  byStatus[store.MessageUnparseable],
		Oversized:      over,
		Ignored:        byStatus[store.MessageIgnored],
		NeedsAttention: cases[store.StatusNeedsAttention],
	}, nil
}

// intakeCollector exports IntakeCounts as gauges, read from the database
// at each scrape (bounded to 2 s; a failed read exports nothing).
type intakeCollector struct {
	db                                         *store.DB
	pending, unprocessable, oversized, ignored *prometheus.Desc
	needsAttention                             *prometheus.Desc
}

// NewIntakeCollector returns a Prometheus collector of the intake counts:
// codedesk_messages_pending, codedesk_messages_unprocessable,
// codedesk_messages_oversized, codedesk_messages_ignored and
// codedesk_cases_needs_attention.
func NewIntakeCollector(db *store.DB) prometheus.Collector {
	return &intakeCollector{
		db:             db,
		pending:        prometheus.NewDesc("codedesk_messages_pending", "Inbound messages stored and not yet ingested.", nil, nil),
		unprocessable:  prometheus.NewDesc("codedesk_messages_unprocessable", "Inbound messages that could not be read or were too large, kept for staff.", nil, nil),
		oversized:      prometheus.NewDesc("codedesk_messages_oversized", "Inbound messages over the size limit, kept as header only.", nil, nil),
		ignored:        prometheus.NewDesc("codedesk_messages_ignored", "Inbound messages not answered (auto-replies, bounces, list mail, own copies).", nil, nil),
		needsAttention: prometheus.NewDesc("codedesk_cases_needs_attention", "Cases waiting for staff.", nil, nil),
	}
}

func (c *intakeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.unprocessable
	ch <- c.oversized
	ch <- c.ignored
	ch <- c.needsAttention
}

func (c *intakeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := CountIntake(ctx, c.db)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(n.Pending))
	ch <- prometheus.MustNewConstMetric(c.unprocessable, prometheus.GaugeValue, float64(n.Unprocessable))
	ch <- prometheus.MustNewConstMetric(c.oversized, prometheus.GaugeValue, float64(n.Oversized))
	ch <- prometheus.MustNewConstMetric(c.ignored, prometheus.GaugeValue, float64(n.Ignored))
	ch <- prometheus.MustNewConstMetric(c.needsAttention, prometheus.GaugeValue, float64(n.NeedsAttention))
}
