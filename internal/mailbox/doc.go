// Package mailbox is codedesk's IMAP poller: it reads new messages from one
// mailbox and hands each to a Sink, which stores the raw message and its
// ingest job in one database transaction.
//
// The poller keeps one connection: LOGIN, SELECT, then fetch cycles. A
// cycle searches "UID n:*" above the checkpoint the Sink keeps
// (mailbox, UIDVALIDITY, last UID), fetches each message in UID order with
// BODY.PEEK[] (header only when it is over the size limit), calls
// Sink.Deliver, and only after Deliver returned nil sets \Seen. Between
// cycles it waits in IDLE when the server has it (woken by a push, and at
// the latest after PollInterval) or polls every PollInterval. Every read
// from the network has a deadline and a size limit; a lost connection is
// re-established with exponential backoff and jitter.
//
// docs/mailbox.md describes the states, timeouts, backoff and why no
// message is lost or stored twice.
package mailbox
