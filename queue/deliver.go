package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/codedesk/codedesk/internal/mailbox"
	"github.com/codedesk/codedesk/internal/mailparse"
	"github.com/codedesk/codedesk/internal/store"
)

// Sink stores what the mailbox poller fetches: the raw message, its ingest
// job and the mailbox checkpoint commit in one transaction. It implements
// mailbox.Sink.
type Sink struct {
	q       *Queue
	metrics *Metrics
	now     func() time.Time
	// beforeCommit, when set (tests), runs inside the transaction just
	// before it commits; an error rolls everything back.
	beforeCommit func(*mailbox.Fetched) error
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

// Deliver implements mailbox.Sink. A message already stored — same UID, or
// same Message-ID and content — is absorbed: no second row, no second job.
func (s *Sink) Deliver(ctx context.Context, m *mailbox.Fetched) error {
	hash := mailparse.ContentHash(m.Raw)
	msgID := mailparse.SynthesizedMessageID(hash)
	if p, err := mailparse.Parse(m.Raw, mailparse.Options{}); err == nil && p.MessageID != "" {
		msgID = p.MessageID
	}
	uv, uid := int64(m.UIDValidity), int64(m.UID)
	row := &store.Message{
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
	var inserted bool
	err := s.q.db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if _, inserted, err = store.InsertMessage(ctx, tx, row); err != nil {
			return err
		}
		if inserted {
			if err := s.q.InsertTx(ctx, tx, IngestArgs{MessageID: row.ID}); err != nil {
				return err
			}
		}
		if err := store.SaveCheckpoint(ctx, tx, store.Checkpoint{Mailbox: m.Mailbox, UIDValidity: m.UIDValidity, LastUID: m.UID}); err != nil {
			return err
		}
		if s.beforeCommit != nil {
			return s.beforeCommit(m)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storing fetched message uid %d: %w", m.UID, err)
	}
	s.metrics.storedMessage(inserted)
	if inserted {
		s.q.logger.InfoContext(ctx, "message stored", "message_id", row.ID, "uid", m.UID, "size", m.Size, "truncated", m.Truncated)
	} else {
		s.q.logger.InfoContext(ctx, "duplicate message absorbed", "message_id", row.ID, "uid", m.UID)
	}
	return nil
}
