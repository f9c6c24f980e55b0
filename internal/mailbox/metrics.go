package mailbox

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the poller's Prometheus collectors, each labelled with the
// mailbox name. One Metrics may serve several pollers (one per mailbox).
type Metrics struct {
	// Fetched counts messages delivered to the sink (whole or truncated).
	Fetched *prometheus.CounterVec
	// Oversized counts messages larger than MaxMessageSize, delivered as
	// header only.
	Oversized *prometheus.CounterVec
	// DeliveryErrors counts failed Sink.Deliver and Sink.Checkpoint calls.
	DeliveryErrors *prometheus.CounterVec
	// ConnectionErrors counts sessions that ended in an error (connect,
	// login, timeout, dropped connection).
	ConnectionErrors *prometheus.CounterVec
	// Reconnects counts connection attempts after the first.
	Reconnects *prometheus.CounterVec
	// UIDValidityChanges counts rescans caused by a changed UIDVALIDITY.
	UIDValidityChanges *prometheus.CounterVec
	// LastSuccess is the Unix time of the last search-and-fetch cycle that
	// completed.
	LastSuccess *prometheus.GaugeVec
	// Pending is the number of messages found above the checkpoint and not
	// yet delivered.
	Pending *prometheus.GaugeVec
	// Connected is 1 while a session is logged in and has the mailbox
	// selected.
	Connected *prometheus.GaugeVec
	// Idle is 1 when the server has IDLE and the poller waits in it, 0 when
	// it polls.
	Idle *prometheus.GaugeVec
	// FetchLag observes, per delivered message, the time from the server's
	// INTERNALDATE (arrival, one-second resolution) to its delivery.
	FetchLag *prometheus.HistogramVec
}

// NewMetrics creates the collectors and registers them with reg (use a
// private prometheus.NewRegistry in tests). A nil reg only creates them.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	label := []string{"mailbox"}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "codedesk", Subsystem: "mailbox", Name: name, Help: help}, label)
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "codedesk", Subsystem: "mailbox", Name: name, Help: help}, label)
	}
	m := &Metrics{
		Fetched:            counter("messages_fetched_total", "Messages fetched and stored."),
		Oversized:          counter("messages_oversized_total", "Messages over the size limit, stored as header only."),
		DeliveryErrors:     counter("delivery_errors_total", "Failed attempts to store a fetched message or read the checkpoint."),
		ConnectionErrors:   counter("connection_errors_total", "IMAP sessions that ended in an error."),
		Reconnects:         counter("reconnects_total", "IMAP connection attempts after the first."),
		UIDValidityChanges: counter("uidvalidity_changes_total", "Rescans because the mailbox UIDVALIDITY changed."),
		LastSuccess:        gauge("last_success_timestamp_seconds", "Unix time of the last completed fetch cycle."),
		Pending:            gauge("pending_messages", "Messages above the checkpoint not yet stored."),
		Connected:          gauge("connected", "1 while logged in with the mailbox selected."),
		Idle:               gauge("idle", "1 when waiting in IMAP IDLE, 0 when polling."),
		FetchLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "codedesk", Subsystem: "mailbox", Name: "fetch_lag_seconds",
			Help:    "Time from the server's arrival date (1 s resolution) to storage.",
			Buckets: []float64{0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600},
		}, label),
	}
	if reg != nil {
		reg.MustRegister(m.Fetched, m.Oversized, m.DeliveryErrors, m.ConnectionErrors, m.Reconnects,
			m.UIDValidityChanges, m.LastSuccess, m.Pending, m.Connected, m.Idle, m.FetchLag)
	}
	return m
}

// mailboxMetrics is Metrics curried with one mailbox label.
type mailboxMetrics struct {
	fetched, oversized, deliveryErrors, connectionErrors, reconnects, uidValidityChanges prometheus.Counter
	lastSuccess, pending, connected, idle                                                prometheus.Gauge
	fetchLag                                                                             prometheus.Observer
}

// forMailbox curries m; a nil m gets unregistered collectors, so the poller
// never checks for nil and nothing is exported.
func (m *Metrics) forMailbox(name string) *mailboxMetrics {
	if m == nil {
		m = NewMetrics(nil)
	}
	return &mailboxMetrics{
		fetched:            m.Fetched.WithLabelValues(name),
		oversized:          m.Oversized.WithLabelValues(name),
		deliveryErrors:     m.DeliveryErrors.WithLabelValues(name),
		connectionErrors:   m.ConnectionErrors.WithLabelValues(name),
		reconnects:         m.Reconnects.WithLabelValues(name),
		uidValidityChanges: m.UIDValidityChanges.WithLabelValues(name),
		lastSuccess:        m.LastSuccess.WithLabelValues(name),
		pending:            m.Pending.WithLabelValues(name),
		connected:          m.Connected.WithLabelValues(name),
		idle:               m.Idle.WithLabelValues(name),
		fetchLag:           m.FetchLag.WithLabelValues(name),
	}
}
