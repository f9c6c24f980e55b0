package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/analysis"
	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/mailbox"
	"github.com/codedesk/codedesk/internal/mailer"
	"github.com/codedesk/codedesk/internal/reply"
	"github.com/codedesk/codedesk/internal/smtptest"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/riverqueue/river/rivertype"
)

// TestDeliverBatch: a batch commits together; a duplicate inside it is
// absorbed; a failure rolls the whole batch back.
func TestDeliverBatch(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6})
		var batch []*mailbox.Fetched
		for i, id := range []string{"a@x", "b@x", "a@x"} {
			raw := []byte(strings.ReplaceAll(question(id, "coder@clinic.test", "Q", "K0001?"), "\n", "\r\n"))
			batch = append(batch, &mailbox.Fetched{Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i + 1), Size: int64(len(raw)), Raw: raw})
		}
		boom := errors.New("boom")
		b.sink.beforeCommit = func(f *mailbox.Fetched) error {
			if f.UID == 3 {
				return boom
			}
			return nil
		}
		if err := b.sink.Deliver(b.ctx, batch); !errors.Is(err, boom) {
			t.Fatalf("Deliver() = %v, want boom", err)
		}
		if n := b.count(t, "SELECT COUNT(*) FROM messages"); n != 0 {
			t.Fatalf("messages after a failed batch = %d, want 0", n)
		}
		b.sink.beforeCommit = nil
		if err := b.sink.Deliver(b.ctx, batch); err != nil {
			t.Fatal(err)
		}
		if n := b.count(t, "SELECT COUNT(*) FROM messages"); n != 2 {
			t.Errorf("messages = %d, want 2 (the third repeats the first)", n)
		}
		if n := b.count(t, "SELECT COUNT(*) FROM river_job WHERE kind = ?", IngestArgs{}.Kind()); n != 2 {
			t.Errorf("ingest jobs = %d, want 2", n)
		}
		if _, last, _, _ := b.sink.Checkpoint(b.ctx, "INBOX"); last != 3 {
			t.Errorf("checkpoint = %d, want 3", last)
		}
	}, Migrate)
}

var fixtureCodeSets = []string{
	"../internal/codes/testdata/icd10cm_order_2025.txt",
	"../internal/codes/testdata/HCPC2025_JAN_ANWEB_fixture.txt",
}

// fastRetry retries after 50 ms so retry paths run quickly in tests.
type fastRetry struct{}

func (fastRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(50 * time.Millisecond) }

type testBundle struct {
	db   *store.DB
	q    *Queue
	sink *Sink
	smtp *smtptest.Sink
	deps *Deps
	uid  atomic.Uint32
	ctx  context.Context
}

type setupOpts struct {
	autoSend      bool
	minConfidence float64
	noCodeSets    bool
	// deps, when set, adjusts the dependencies before the workers start.
	deps func(*Deps)
}

func logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// setup starts a working queue on db with the real analyser, renderer and
// mailer, sending to an smtptest sink.
func setup(t *testing.T, db *store.DB, o setupOpts) *testBundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	if !o.noCodeSets {
		if _, err := codes.Import(ctx, db, fixtureCodeSets, codes.ImportOptions{Logger: logger()}); err != nil {
			t.Fatal(err)
		}
	}
	kb, err := codes.Load(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	renderer, err := reply.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	sink := smtptest.Start(t, smtptest.Options{})
	deps := &Deps{
		DB:       db,
		Analyser: analysis.NewEngine(func() analysis.Codebook { return kb }),
		Renderer: renderer,
		Sender:   mailer.New(mailer.Config{Addr: sink.Addr(), Security: mailer.SecurityNone, Timeout: 5 * time.Second}),
		Policy:   Policy{AutoSend: o.autoSend, MinConfidence: o.minConfidence},
		Desk:     Desk{Address: "desk@codedesk.test", Name: "codedesk coding desk", Mailbox: "INBOX"},
		Logger:   logger(),
	}
	if o.deps != nil {
		o.deps(deps)
	}
	w := NewWorkers(deps)
	q, err := New(db, w.River(), Config{Workers: 4, Logger: logger(), RetryPolicy: fastRetry{}})
	if err != nil {
		t.Fatal(err)
	}
	w.Bind(q)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = q.Stop(sctx)
	})
	return &testBundle{db: db, q: q, sink: NewSink(q, nil), smtp: sink, deps: deps, ctx: ctx}
}

// deliver stores a raw message as the poller would, with the next UID.
func (b *testBundle) deliver(t *testing.T, raw string) {
	t.Helper()
	uid := b.uid.Add(1)
	r := []byte(strings.ReplaceAll(raw, "\n", "\r\n"))
	if err := b.sink.Deliver(b.ctx, []*mailbox.Fetched{{Mailbox: "INBOX", UIDValidity: 1, UID: uid, Size: int64(len(r)), Raw: r}}); err != nil {
		t.Fatal(err)
	}
}

// waitCase waits until case id reaches status.
func (b *testBundle) waitCase(t *testing.T, id int64, status store.CaseStatus) store.Case {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := store.GetCase(b.ctx, b.db, id)
		if err == nil && c.Status == status {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("case %d status = %s (%s), %v; want %s", id, c.Status, c.StatusReason, err, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *testBundle) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := b.db.QueryRow(b.ctx, query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func question(id, from, subject, body string, extra ...string) string {
	h := fmt.Sprintf("From: Dana Coder <%s>\nTo: desk@codedesk.test\nSubject: %s\nMessage-ID: <%s>\nDate: Fri, 27 Nov 2026 10:00:00 +0000\n", from, subject, id)
	for _, e := range extra {
		h += e + "\n"
	}
	return h + "Content-Type: text/plain; charset=utf-8\n\n" + body + "\n"
}

func TestAutoSendAnswersInThread(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6})
		b.deliver(t, question("q1@clinic.test", "coder@clinic.test", "Quick one", "What is E11.22 and K0001?"))
		c := b.waitCase(t, 1, store.StatusSent)
		if c.Kind != analysis.KindCodeLookup || c.FirstResponseAt == nil {
			t.Errorf("case = %+v; want code_lookup with first response", c)
		}
		msgs := b.smtp.WaitFor(t, 1, 10*time.Second)
		m := msgs[0]
		if got := m.Header.Get("In-Reply-To"); got != "<q1@clinic.test>" {
			t.Errorf("In-Reply-To = %q", got)
		}
		if got := m.Header.Get("Subject"); got != "Re: Quick one [Case #1]" {
			t.Errorf("Subject = %q", got)
		}
		if got := m.Header.Get("Auto-Submitted"); got != "auto-replied" {
			t.Errorf("Auto-Submitted = %q", got)
		}
		if len(m.To) != 1 || m.To[0] != "coder@clinic.test" {
			t.Errorf("RCPT TO = %v", m.To)
		}
		body := strings.Join(strings.Fields(string(m.Raw)), " ")
		if !strings.Contains(body, "Hello Dana,") || !strings.Contains(body, "Standard wheelchair") {
			t.Errorf("reply lacks greeting or descriptor:\n%s", m.Raw)
		}
		// The outgoing message is stored on the case, so a reply to it threads.
		if n := b.count(t, "SELECT COUNT(*) FROM messages WHERE case_id = ? AND direction = ?", 1, store.Outbound); n != 1 {
			t.Errorf("outbound messages = %d, want 1", n)
		}
	}, Migrate)
}

func TestSendRetriesTemporaryFailures(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6})
		b.smtp.FailNext(2, 451, "4.3.0 try again later")
		b.deliver(t, question("q1@clinic.test", "coder@clinic.test", "Wheelchair", "K0001?"))
		b.waitCase(t, 1, store.StatusSent)
		if got := len(b.smtp.Messages()); got != 1 {
			t.Errorf("messages accepted = %d, want 1", got)
		}
		d, err := store.LatestDraft(b.ctx, db, 1)
		if err != nil || d.Attempts != 2 || d.Status != store.DraftSent {
			t.Errorf("draft = %+v, %v; want 2 failed attempts recorded, then sent", d, err)
		}
		// Every attempt used the Message-ID recorded before the first.
		if got := b.smtp.Messages()[0].Header.Get("Message-ID"); got != "<"+d.OutgoingMessageID+">" {
			t.Errorf("Message-ID = %q, want <%s>", got, d.OutgoingMessageID)
		}
	}, Migrate)
}

func TestSendPermanentFailureIsSurfaced(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6})
		b.smtp.RejectRecipient("gone@clinic.test", 550, "5.1.1 no such user")
		b.deliver(t, question("q1@clinic.test", "gone@clinic.test", "Wheelchair", "K0001?"))
		c := b.waitCase(t, 1, store.StatusFailed)
		if !strings.Contains(c.StatusReason, "550") {
			t.Errorf("case reason = %q, want the server's 550 reply", c.StatusReason)
		}
		d, _ := store.LatestDraft(b.ctx, db, 1)
		if d.Status != store.DraftFailed || d.Attempts != 1 {
			t.Errorf("draft = %s after %d attempts, want failed after 1", d.Status, d.Attempts)
		}
	}, Migrate)
}

func TestReviewApproveAndReject(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{autoSend: false})
		b.deliver(t, question("q1@clinic.test", "coder@clinic.test", "One", "E11.22?"))
		b.deliver(t, question("q2@clinic.test", "coder@clinic.test", "Two", "K0001?"))
		b.waitCase(t, 1, store.StatusAwaitingReview)
		b.waitCase(t, 2, store.StatusAwaitingReview)
		d1, _ := store.LatestDraft(b.ctx, db, 1)
		d2, _ := store.LatestDraft(b.ctx, db, 2)
		if err := b.q.Approve(b.ctx, d1.ID, "reviewer@codedesk.test"); err != nil {
			t.Fatal(err)
		}
		if err := b.q.Approve(b.ctx, d1.ID, "someone-else"); !errors.Is(err, ErrNotPending) {
			t.Errorf("second Approve() = %v, want ErrNotPending", err)
		}
		if err := b.q.Reject(b.ctx, d2.ID, "reviewer@codedesk.test", ""); err == nil {
			t.Error("Reject() without a reason succeeded")
		}
		if err := b.q.Reject(b.ctx, d2.ID, "reviewer@codedesk.test", "asked by phone already"); err != nil {
			t.Fatal(err)
		}
		b.waitCase(t, 1, store.StatusSent)
		c2 := b.waitCase(t, 2, store.StatusRejected)
		if c2.StatusReason != "asked by phone already" {
			t.Errorf("reject reason = %q", c2.StatusReason)
		}
		msgs := b.smtp.WaitFor(t, 1, 10*time.Second)
		if len(msgs) != 1 || msgs[0].Header.Get("Auto-Submitted") != "" {
			t.Errorf("sent %d messages (Auto-Submitted %q); want exactly the reviewed one, without Auto-Submitted", len(msgs), msgs[0].Header.Get("Auto-Submitted"))
		}
		ev, _ := store.CaseEvents(b.ctx, db, 1)
		var actions []string
		for _, e := range ev {
			actions = append(actions, e.Actor+":"+e.Action)
		}
		if !strings.Contains(strings.Join(actions, ","), "reviewer@codedesk.test:approved") {
			t.Errorf("audit trail = %v, want the reviewer's approval", actions)
		}
	}, Migrate)
}

func TestLowConfidenceWaitsForReview(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t, Migrate)
	b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.99})
	b.deliver(t, question("q1@clinic.test", "coder@clinic.test", "One", "E11.22?"))
	c := b.waitCase(t, 1, store.StatusAwaitingReview)
	if !strings.Contains(c.StatusReason, "below") {
		t.Errorf("reason = %q, want the confidence threshold named", c.StatusReason)
	}
}

func TestNotAnsweredMailIsKeptForStaff(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.1})
		b.deliver(t, question("v1@clinic.test", "coder@clinic.test", "Out of office", "I am away until Monday.", "Auto-Submitted: auto-replied"))
		b.deliver(t, "\x00\x01 this is not an email at all")
		// The two are ingested concurrently: which gets case 1 varies.
		waitFor(t, func() bool {
			n := b.count(t, "SELECT COUNT(*) FROM cases WHERE status IN (?, ?)", store.StatusIgnored, store.StatusNeedsAttention)
			return n == 2
		})
		for _, id := range []int64{1, 2} {
			c, err := store.GetCase(b.ctx, db, id)
			if err != nil {
				t.Fatal(err)
			}
			switch c.Status {
			case store.StatusIgnored:
				if !strings.Contains(c.StatusReason, "auto_reply") {
					t.Errorf("ignored reason = %q", c.StatusReason)
				}
			case store.StatusNeedsAttention:
				if !strings.Contains(c.StatusReason, "could not be parsed") {
					t.Errorf("unparseable reason = %q", c.StatusReason)
				}
			}
		}
		// Both messages are kept raw.
		if n := b.count(t, "SELECT COUNT(*) FROM messages WHERE raw IS NOT NULL AND direction = ?", store.Inbound); n != 2 {
			t.Errorf("kept messages = %d, want 2", n)
		}
		time.Sleep(200 * time.Millisecond)
		if n := len(b.smtp.Messages()); n != 0 {
			t.Errorf("sent %d replies to mail that must not be answered", n)
		}
	}, Migrate)
}

func TestThreading(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6})
		b.deliver(t, question("q1@clinic.test", "coder@clinic.test", "Wheelchair", "K0001?"))
		b.waitCase(t, 1, store.StatusSent)
		d, _ := store.LatestDraft(b.ctx, db, 1)
		// A follow-up replying to our reply joins case 1.
		b.deliver(t, question("q2@clinic.test", "coder@clinic.test", "Re: Wheelchair [Case #1]", "And E11.22?",
			"In-Reply-To: <"+d.OutgoingMessageID+">", "References: <q1@clinic.test> <"+d.OutgoingMessageID+">"))
		// A stranger quoting the case tag gets a new case linked to case 1.
		b.deliver(t, question("s1@elsewhere.test", "stranger@elsewhere.test", "Re: Wheelchair [Case #1]", "What about K0001?"))
		waitFor(t, func() bool { return len(b.smtp.Messages()) == 3 })
		if n := b.count(t, "SELECT COUNT(*) FROM messages WHERE case_id = 1 AND direction = ?", store.Inbound); n != 2 {
			t.Errorf("case 1 inbound messages = %d, want 2 (question and follow-up)", n)
		}
		c2 := b.waitCase(t, 2, store.StatusSent)
		if c2.LinkedCaseID == nil || *c2.LinkedCaseID != 1 || c2.Requester != "stranger@elsewhere.test" {
			t.Errorf("stranger's case = %+v; want a new case linked to 1", c2)
		}
	}, Migrate)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 30s")
		}
	}
}

// TestDeliverIsAtomicAndIdempotent: a delivery whose transaction rolls back
// leaves no message, no job and no checkpoint (so the poller fetches it
// again); a message delivered twice makes one row, one job, one case.
func TestDeliverIsAtomicAndIdempotent(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6})
		raw := []byte(strings.ReplaceAll(question("q1@clinic.test", "coder@clinic.test", "One", "K0001?"), "\n", "\r\n"))
		f := &mailbox.Fetched{Mailbox: "INBOX", UIDValidity: 7, UID: 3, Size: int64(len(raw)), Raw: raw}
		boom := errors.New("crash before commit")
		b.sink.beforeCommit = func(*mailbox.Fetched) error { return boom }
		if err := b.sink.Deliver(b.ctx, []*mailbox.Fetched{f}); !errors.Is(err, boom) {
			t.Fatalf("Deliver() = %v, want the injected failure", err)
		}
		if n := b.count(t, "SELECT COUNT(*) FROM messages"); n != 0 {
			t.Errorf("messages after rollback = %d, want 0", n)
		}
		if n := b.count(t, "SELECT COUNT(*) FROM river_job"); n != 0 {
			t.Errorf("jobs after rollback = %d, want 0", n)
		}
		if _, _, ok, _ := b.sink.Checkpoint(b.ctx, "INBOX"); ok {
			t.Error("checkpoint advanced by a rolled-back delivery")
		}
		b.sink.beforeCommit = nil
		for range 2 {
			if err := b.sink.Deliver(b.ctx, []*mailbox.Fetched{f}); err != nil {
				t.Fatal(err)
			}
		}
		// A re-fetch after a UIDVALIDITY change is absorbed too.
		moved := *f
		moved.UIDValidity, moved.UID = 8, 1
		if err := b.sink.Deliver(b.ctx, []*mailbox.Fetched{&moved}); err != nil {
			t.Fatal(err)
		}
		b.waitCase(t, 1, store.StatusSent)
		time.Sleep(200 * time.Millisecond)
		if n := b.count(t, "SELECT COUNT(*) FROM messages WHERE direction = ?", store.Inbound); n != 1 {
			t.Errorf("messages = %d, want 1", n)
		}
		if n := b.count(t, "SELECT COUNT(*) FROM river_job WHERE kind = ?", IngestArgs{}.Kind()); n != 1 {
			t.Errorf("ingest jobs = %d, want 1", n)
		}
		if n := b.count(t, "SELECT COUNT(*) FROM cases"); n != 1 {
			t.Errorf("cases = %d, want 1", n)
		}
		if n := len(b.smtp.Messages()); n != 1 {
			t.Errorf("replies = %d, want 1", n)
		}
		uv, last, ok, err := b.sink.Checkpoint(b.ctx, "INBOX")
		if err != nil || !ok || uv != 8 || last != 1 {
			t.Errorf("Checkpoint() = %d, %d, %v, %v; want 8, 1", uv, last, ok, err)
		}
	}, Migrate)
}
