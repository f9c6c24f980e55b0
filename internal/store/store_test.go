package store_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

func ptr[T any](v T) *T { return &v }

func TestMessagesDedupe(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := &store.Message{Mailbox: "INBOX", UIDValidity: ptr[int64](7), UID: ptr[int64](1),
			MessageID: "a@x", ContentHash: "h1", Raw: []byte("raw"), Size: 3, Subject: "Q"}
		id, ins, err := store.InsertMessage(ctx, db, m)
		if err != nil || !ins || id == 0 {
			t.Fatalf("InsertMessage() = %d, %v, %v; want new row", id, ins, err)
		}
		// Same UID again (a re-fetch): absorbed.
		again := *m
		id2, ins2, err := store.InsertMessage(ctx, db, &again)
		if err != nil || ins2 || id2 != id {
			t.Fatalf("InsertMessage(same uid) = %d, %v, %v; want %d, false", id2, ins2, err, id)
		}
		// New UIDVALIDITY, same content: absorbed by Message-ID + hash.
		moved := *m
		moved.UIDValidity, moved.UID = ptr[int64](8), ptr[int64](40)
		id3, ins3, err := store.InsertMessage(ctx, db, &moved)
		if err != nil || ins3 || id3 != id {
			t.Fatalf("InsertMessage(new uidvalidity) = %d, %v, %v; want %d, false", id3, ins3, err, id)
		}
		// Reused Message-ID with different content: a new message.
		reused := *m
		reused.UID, reused.ContentHash = ptr[int64](2), "h2"
		_, ins4, err := store.InsertMessage(ctx, db, &reused)
		if err != nil || !ins4 {
			t.Fatalf("InsertMessage(reused id) inserted = %v, %v; want true", ins4, err)
		}
		got, err := store.GetMessage(ctx, db, id)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Raw) != "raw" || got.Status != store.MessageReceived || got.Truncated || *got.UID != 1 {
			t.Fatalf("GetMessage() = %+v", got)
		}
		if d := time.Since(got.ReceivedAt); d > time.Minute || d < -time.Minute {
			t.Fatalf("ReceivedAt = %v", got.ReceivedAt)
		}
	})
}

func TestCheckpointNeverMovesBack(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := store.GetCheckpoint(ctx, db, "INBOX"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetCheckpoint() err = %v, want ErrNotFound", err)
		}
		for _, c := range []store.Checkpoint{{"INBOX", 4000000000, 10, time.Time{}}, {"INBOX", 4000000000, 5, time.Time{}}} {
			if err := store.SaveCheckpoint(ctx, db, c); err != nil {
				t.Fatal(err)
			}
		}
		c, err := store.GetCheckpoint(ctx, db, "INBOX")
		if err != nil || c.LastUID != 10 || c.UIDValidity != 4000000000 {
			t.Fatalf("GetCheckpoint() = %+v, %v; want uidvalidity 4000000000, last 10", c, err)
		}
		if err := store.SaveCheckpoint(ctx, db, store.Checkpoint{Mailbox: "INBOX", UIDValidity: 9, LastUID: 2}); err != nil {
			t.Fatal(err)
		}
		c, _ = store.GetCheckpoint(ctx, db, "INBOX")
		if c.UIDValidity != 9 || c.LastUID != 2 {
			t.Fatalf("after UIDVALIDITY change = %+v; want 9/2", c)
		}
	})
}

func TestCaseFlowAndRollback(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var caseID int64
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			caseID, err = store.CreateCase(ctx, tx, &store.Case{Subject: "E11.22?", Requester: "coder@clinic.test", Status: store.StatusParsed})
			if err != nil {
				return err
			}
			return store.AddParticipant(ctx, tx, caseID, "Coder@Clinic.test")
		})
		if err != nil {
			t.Fatal(err)
		}
		ok, err := store.IsParticipant(ctx, db, caseID, "coder@clinic.test")
		if err != nil || !ok {
			t.Fatalf("IsParticipant() = %v, %v", ok, err)
		}
		moved, err := store.TransitionCase(ctx, db, caseID, []store.CaseStatus{store.StatusParsed}, store.StatusAnalysed, "")
		if err != nil || !moved {
			t.Fatalf("TransitionCase() = %v, %v", moved, err)
		}
		moved, _ = store.TransitionCase(ctx, db, caseID, []store.CaseStatus{store.StatusParsed}, store.StatusAnalysed, "")
		if moved {
			t.Fatal("TransitionCase() moved a case that was not in the from state")
		}
		// A failing transaction leaves nothing behind.
		boom := errors.New("boom")
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			if _, err := store.CreateCase(ctx, tx, &store.Case{Subject: "lost"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("WithTx() = %v, want boom", err)
		}
		cases, err := store.ListCases(ctx, db, store.CaseFilter{})
		if err != nil || len(cases) != 1 || cases[0].Status != store.StatusAnalysed {
			t.Fatalf("ListCases() = %+v, %v", cases, err)
		}
		conf := 0.9
		if err := store.SetCaseAnalysis(ctx, db, caseID, "code_lookup", conf); err != nil {
			t.Fatal(err)
		}
		c, err := store.GetCase(ctx, db, caseID)
		if err != nil || c.Kind != "code_lookup" || c.Confidence == nil || *c.Confidence != conf {
			t.Fatalf("GetCase() = %+v, %v", c, err)
		}
		// Drafts: a new draft supersedes a pending one; the outgoing
		// Message-ID is recorded once.
		d1 := &store.Draft{CaseID: caseID, To: "coder@clinic.test", Subject: "Re: x", BodyText: "t", BodyHTML: "<p>t</p>"}
		if _, err := store.CreateDraft(ctx, db, d1); err != nil {
			t.Fatal(err)
		}
		d2 := &store.Draft{CaseID: caseID, To: "coder@clinic.test", Subject: "Re: x", BodyText: "t2", BodyHTML: "<p>t2</p>"}
		if _, err := store.CreateDraft(ctx, db, d2); err != nil {
			t.Fatal(err)
		}
		old, _ := store.GetDraft(ctx, db, d1.ID)
		if old.Status != store.DraftSuperseded {
			t.Fatalf("old draft status = %s, want superseded", old.Status)
		}
		ok, err = store.ApproveDraft(ctx, db, d2.ID, "system", true)
		if err != nil || !ok {
			t.Fatalf("ApproveDraft() = %v, %v", ok, err)
		}
		id1, err := store.SetOutgoingMessageID(ctx, db, d2.ID, "first@codedesk")
		if err != nil || id1 != "first@codedesk" {
			t.Fatalf("SetOutgoingMessageID() = %q, %v", id1, err)
		}
		id2, _ := store.SetOutgoingMessageID(ctx, db, d2.ID, "second@codedesk")
		if id2 != "first@codedesk" {
			t.Fatalf("SetOutgoingMessageID() second call = %q, want the first ID kept", id2)
		}
		got, err := store.GetDraft(ctx, db, d2.ID)
		if err != nil || !got.Auto || got.Status != store.DraftApproved || got.ReviewedAt == nil {
			t.Fatalf("GetDraft() = %+v, %v", got, err)
		}
		a := &store.Analysis{CaseID: caseID, MessageID: 0, Kind: "code_lookup", Confidence: 0.5, Result: []byte(`{"codes":[]}`)}
		// message_id references messages: store one first.
		m := &store.Message{Mailbox: "INBOX", MessageID: "q@x", ContentHash: "h", CaseID: &caseID}
		if _, _, err := store.InsertMessage(ctx, db, m); err != nil {
			t.Fatal(err)
		}
		a.MessageID = m.ID
		if _, err := store.InsertAnalysis(ctx, db, a); err != nil {
			t.Fatal(err)
		}
		ga, err := store.GetAnalysis(ctx, db, a.ID)
		if err != nil || ga.Kind != "code_lookup" || len(ga.Result) == 0 {
			t.Fatalf("GetAnalysis() = %+v, %v", ga, err)
		}
		cid, err := store.CaseByMessageIDs(ctx, db, []string{"<nope@x>", "<q@x>"})
		if err != nil || cid != caseID {
			t.Fatalf("CaseByMessageIDs() = %d, %v; want %d", cid, err, caseID)
		}
		if err := store.AddEvent(ctx, db, caseID, store.ActorSystem, "drafted", "draft_id=1"); err != nil {
			t.Fatal(err)
		}
		ev, err := store.CaseEvents(ctx, db, caseID)
		if err != nil || len(ev) != 1 {
			t.Fatalf("CaseEvents() = %v, %v", ev, err)
		}
	})
}

func TestCopyFrom(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Exec(ctx, "CREATE TABLE copy_t (a INTEGER, b TEXT)"); err != nil {
			t.Fatal(err)
		}
		const n = 1000
		i := 0
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			got, err := tx.CopyFrom(ctx, "copy_t", []string{"a", "b"}, func() ([]any, error) {
				if i == n {
					return nil, io.EOF
				}
				i++
				return []any{i, "x"}, nil
			})
			if got != n {
				t.Errorf("CopyFrom() = %d, want %d", got, n)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var count int
		if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM copy_t WHERE b = ?", "x").Scan(&count); err != nil || count != n {
			t.Fatalf("count = %d, %v", count, err)
		}
	})
}
