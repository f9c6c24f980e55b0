package queue

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/mailbox"
	"github.com/codedesk/codedesk/internal/store"
)

// TestSinkFence checks that a node which lost the mailbox's lease stores
// nothing: the fence runs in the delivery transaction and its refusal rolls
// back the messages, their jobs and the checkpoint.
func TestSinkFence(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q, err := New(db, nil, Config{Logger: logger()})
		if err != nil {
			t.Fatal(err)
		}
		sink := NewSink(q, nil)
		raw := []byte("From: coder@clinic.test\r\nTo: desk@codedesk.test\r\nSubject: E11.22?\r\nMessage-ID: <fence-1@clinic.test>\r\n\r\nWhat is E11.22?\r\n")
		f := &mailbox.Fetched{Mailbox: "INBOX", UIDValidity: 1, UID: 1, Size: int64(len(raw)), Raw: raw}

		lost := errors.New("lease lost")
		sink.SetFence(func(ctx context.Context, tx *store.Tx) error { return lost })
		if err := sink.Deliver(ctx, []*mailbox.Fetched{f}); !errors.Is(err, lost) {
			t.Fatalf("Deliver with a refusing fence = %v, want the fence's error", err)
		}
		if _, err := store.GetCheckpoint(ctx, db, "INBOX"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("checkpoint after a fenced delivery: %v, want none", err)
		}
		var n int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM messages").Scan(&n); err != nil || n != 0 {
			t.Fatalf("messages after a fenced delivery = %d (%v), want 0", n, err)
		}

		sink.SetFence(func(ctx context.Context, tx *store.Tx) error { return nil })
		if err := sink.Deliver(ctx, []*mailbox.Fetched{f}); err != nil {
			t.Fatal(err)
		}
		sink.SetFence(nil)
		if err := db.QueryRow(ctx, "SELECT count(*) FROM messages").Scan(&n); err != nil || n != 1 {
			t.Fatalf("messages after an allowed delivery = %d (%v), want 1", n, err)
		}
	}, Migrate)
}
