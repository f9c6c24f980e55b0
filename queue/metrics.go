package queue

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pipeline's Prometheus collectors. A nil *Metrics records
// nothing.
type Metrics struct {
	stored     prometheus.Counter
	duplicates prometheus.Counter
	ingestedN  *prometheus.CounterVec
	draftedN   *prometheus.CounterVec
	sentN      prometheus.Counter
	sendErrors *prometheus.CounterVec
	latency    prometheus.Histogram
	limited    prometheus.Counter
	inDoubt    *prometheus.CounterVec
	sentCopies *prometheus.CounterVec
}

// NewMetrics registers the pipeline's collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		stored: prometheus.NewCounter(prometheus.CounterOpts{Name: "codedesk_messages_stored_total",
			Help: "Inbound messages stored with their ingest job."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "codedesk_messages_duplicate_total",
			Help: "Fetched messages absorbed as duplicates of stored ones."}),
		ingestedN: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codedesk_messages_ingested_total",
			Help: "Messages ingested, by outcome (question, ignored, oversized, unparseable)."}, []string{"outcome"}),
		draftedN: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codedesk_drafts_total",
			Help: "Drafts made, by the case state that followed."}, []string{"next"}),
		sentN: prometheus.NewCounter(prometheus.CounterOpts{Name: "codedesk_replies_sent_total",
			Help: "Replies accepted by the SMTP server."}),
		sendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codedesk_send_errors_total",
			Help: "SMTP send failures, by whether they were temporary."}, []string{"temporary"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "codedesk_reply_latency_seconds",
			Help:    "Time from a question's arrival to its reply being accepted by SMTP.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 16)}),
	}
	m.limited = prometheus.NewCounter(prometheus.CounterOpts{Name: "codedesk_replies_rate_limited_total",
		Help: "Automatic replies held for review by the per-sender or per-thread rate limit."})
	m.inDoubt = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codedesk_send_in_doubt_total",
		Help: "Retries of a send whose previous outcome was unknown, by what followed (copy_found, waiting, resent)."}, []string{"outcome"})
	m.sentCopies = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "codedesk_sent_folder_copies_total",
		Help: "Replies filed in the Sent folder, by result (ok, error)."}, []string{"result"})
	reg.MustRegister(m.stored, m.duplicates, m.ingestedN, m.draftedN, m.sentN, m.sendErrors, m.latency,
		m.limited, m.inDoubt, m.sentCopies)
	return m
}

func (m *Metrics) storedMessage(inserted bool) {
	if m == nil {
		return
	}
	if inserted {
		m.stored.Inc()
	} else {
		m.duplicates.Inc()
	}
}

func (m *Metrics) ingested(outcome string) {
	if m != nil {
		m.ingestedN.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) drafted(next string) {
	if m != nil {
		m.draftedN.WithLabelValues(next).Inc()
	}
}

func (m *Metrics) sent(latency time.Duration) {
	if m != nil {
		m.sentN.Inc()
		m.latency.Observe(latency.Seconds())
	}
}

func (m *Metrics) sendError(temporary bool) {
	if m == nil {
		return
	}
	if temporary {
		m.sendErrors.WithLabelValues("true").Inc()
	} else {
		m.sendErrors.WithLabelValues("false").Inc()
	}
}

func (m *Metrics) rateLimited() {
	if m != nil {
		m.limited.Inc()
	}
}

func (m *Metrics) sendInDoubt(outcome string) {
	if m != nil {
		m.inDoubt.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) sentCopy(ok bool) {
	if m == nil {
		return
	}
	if ok {
		m.sentCopies.WithLabelValues("ok").Inc()
	} else {
		m.sentCopies.WithLabelValues("error").Inc()
	}
}
