package queue

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/codedesk/codedesk/internal/mailbox"
	"github.com/codedesk/codedesk/internal/mailparse"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/riverqueue/river"
)

// Sink stores what the mailbox poller fetches: the raw message, its ingest
// job and the mailbox checkpoint commit in one transaction. It implements
// mailbox.Sink.
type Sink struct {
	q       *Queue
	metrics *Metrics
	now     func() time.Time
	// beforeCommit, when set (tests), runs for each message inside the
	// transaction just before it commits; an error rolls everything back.
	beforeCommit func(*mailbox.Fetched) error
	// fence, when set, runs first in every delivery transaction and fails
	// it when this node no longer holds the mailbox's lease.
	fence atomic.Pointer[Fence]
}

// Fence checks, inside a transaction, that the caller may still act (that
// it holds the mailbox's lease); see internal/lease.
type Fence func(ctx context.Context, tx *store.Tx) error

// SetFence makes every later Deliver check f in its transaction (nil: no
// check). The poller's node sets it each time it takes the mailbox's lease.
func (s *Sink) SetFence(f Fence) {
	if f == nil {
		s.fence.Store(nil)
		return
	}
	s.fence.Store(&f)
}

// NewSink returns the poller's sink on q.
func NewSink(q *Queue, m *Metrics) *Sink {
	return &Sink{q: q, metrics: m, now: time.Now}
}

var _ mailbox.Sink = (*Sink)(nil)

// Checkpoint implements mailbox.Sink.
func (s *Sink) Checkpoint(ctx context.Context, mb string) (uidValidity, lastUID uint32, ok bool, err error) {
	c, err := store.GetCheckpoint(ctx, s.q.db, mb)
	if errors.Is(err, store.ErrNotFound) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	return c.UIDValidity, c.LastUID, true, nil
}

// Deliver implements mailbox.Sink: the batch's messages, their ingest jobs
// and the checkpoint commit in one transaction. A message already stored —
// same UID, or same Message-ID and content — is absorbed: no second row, no
// second job.
func (s *Sink) Deliver(ctx context.Context, batch []*mailbox.Fetched) error {
	if len(batch) == 0 {
		return nil
	}
	rows := make([]*store.Message, len(batch))
	for i, m := range batch {
		rows[i] = s.row(m)
	}
	inserted := make([]bool, len(batch))
	fence := s.fence.Load()
	err := s.q.db.WithTx(ctx, func(tx *store.Tx) error {
		if fence != nil {
			if err := (*fence)(ctx, tx); err != nil {
				return err
			}
		}
		var jobs []river.JobArgs
		for i, row := range rows {
			var err error
			if _, inserted[i], err = store.InsertMessage(ctx, tx, row); err != nil {
				return err
			}
			if inserted[i] {
				jobs = append(jobs, IngestArgs{MessageID: row.ID})
			}
		}
		if err := s.q.InsertManyTx(ctx, tx, jobs); err != nil {
			return err
		}
		last := batch[len(batch)-1]
		if err := store.SaveCheckpoint(ctx, tx, store.Checkpoint{Mailbox: last.Mailbox, UIDValidity: last.UIDValidity, LastUID: last.UID}); err != nil {
			return err
		}
		if s.beforeCommit != nil {
			for _, m := range batch {
				if err := s.beforeCommit(m); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storing %d fetched messages from uid %d: %w", len(batch), batch[0].UID, err)
	}
	for i, row := range rows {
		s.metrics.storedMessage(inserted[i])
		if inserted[i] {
			s.q.logger.InfoContext(ctx, "message stored", "message_id", row.ID, "uid", batch[i].UID, "size", batch[i].Size, "truncated", batch[i].Truncated)
		} else {
			s.q.logger.InfoContext(ctx, "duplicate message absorbed", "message_id", row.ID, "uid", batch[i].UID)
		}
	}
	return nil
}

// row is the database row of a fetched message. The Message-ID is the
// message's own, or — when it has none or cannot be parsed — a stand-in
// derived from its content, so that a re-fetch is still recognised.
func (s *Sink) row(m *mailbox.Fetched) *store.Message {
	hash := mailparse.ContentHash(m.Raw)
	msgID := mailparse.SynthesizedMessageID(hash)
	if p, err := mailparse.Parse(m.Raw, mailparse.Options{}); err == nil && p.MessageID != "" {
		msgID = p.MessageID
	}
	uv, uid := int64(m.UIDValidity), int64(m.UID)
	return &store.Message{
		Direction:   store.Inbound,
		Mailbox:     m.Mailbox,
		UIDValidity: &uv,
		UID:         &uid,
		MessageID:   msgID,
		ContentHash: hash,
		Size:        m.Size,
		Raw:         m.Raw,
		Truncated:   m.Truncated,
		Status:      store.MessageReceived,
		ReceivedAt:  s.now(),
	}
}
