package queue

import (
	"github.com/riverqueue/river"
)

// Job args are a wire contract stored as JSON in river_job: they carry IDs
// only, never message bodies, addresses or patient details. Kinds and JSON
// tags are snake_case and must not change once released.

// IngestArgs asks for one stored inbound message to be parsed and threaded.
type IngestArgs struct {
	MessageID int64 `json:"message_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (IngestArgs) Kind() string { return "ingest" }

// InsertOpts makes ingest unique per message.
func (IngestArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMail, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// AnalyseArgs asks for a case's latest question to be analysed.
type AnalyseArgs struct {
	CaseID    int64 `json:"case_id" river:"unique"`
	MessageID int64 `json:"message_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (AnalyseArgs) Kind() string { return "analyse" }

// InsertOpts makes analysis unique per (case, message).
func (AnalyseArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMail, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// DraftArgs asks for a reply to be drafted from an analysis.
type DraftArgs struct {
	CaseID     int64 `json:"case_id"`
	AnalysisID int64 `json:"analysis_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (DraftArgs) Kind() string { return "draft" }

// InsertOpts makes drafting unique per analysis.
func (DraftArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMail, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// SendArgs asks for an approved draft to be sent.
type SendArgs struct {
	DraftID int64 `json:"draft_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (SendArgs) Kind() string { return "send" }

// InsertOpts makes sending unique per draft and gives it more attempts:
// River's backoff then covers a mail server that is down for about a day.
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSend, MaxAttempts: SendMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Queue names: sending has its own queue so a slow SMTP server never holds
// up parsing and drafting.
const (
	QueueMail = "mail"
	QueueSend = "send"
)

// SendMaxAttempts is how often a temporary SMTP failure is retried before the
// case is marked failed. River's backoff (attempt^4 seconds) makes 12
// attempts span roughly six hours.
const SendMaxAttempts = 12

// SentCopyArgs asks for a sent reply (an outbound message row) to be filed
// in the desk's Sent folder over IMAP.
type SentCopyArgs struct {
	MessageID int64 `json:"message_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (SentCopyArgs) Kind() string { return "sent_copy" }

// InsertOpts puts filing on the send queue, unique per message.
func (SentCopyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSend, MaxAttempts: 8, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}
