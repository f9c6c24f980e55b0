package queue

import (
	"bytes"
	"errors"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/devmail"
	"github.com/codedesk/codedesk/internal/mailbox"
	"github.com/codedesk/codedesk/internal/mailer"
	"github.com/codedesk/codedesk/internal/mailparse"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// crashOnce makes the first send "die" between the SMTP server accepting
// the reply and the database recording it.
func crashOnce(n *atomic.Int32) func(int64) error {
	return func(int64) error {
		if n.Add(1) == 1 {
			return errors.New("killed between accept and record")
		}
		return nil
	}
}

// TestCrashAfterAcceptCopyArrivesThroughPoller: the worker dies after the
// server accepted the reply. The retry finds no copy yet and waits; the
// desk's BCC copy then arrives through the poller, ingest records the send
// from it, and the retry completes without sending again.
func TestCrashAfterAcceptCopyArrivesThroughPoller(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		var crashes atomic.Int32
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6, deps: func(d *Deps) {
			d.Delivery = Delivery{CopyTo: "desk@codedesk.test", CopyGrace: time.Minute, afterAccept: crashOnce(&crashes)}
		}})
		b.deliver(t, question("q1@clinic.test", "coder@clinic.test", "Wheelchair", "K0001?"))
		msgs := b.smtp.WaitFor(t, 1, 10*time.Second)
		if got := msgs[0].To; len(got) != 2 || got[1] != "desk@codedesk.test" {
			t.Fatalf("RCPT TO = %v, want the requester and the desk's copy address", got)
		}
		if h := msgs[0].Header.Get("Bcc"); h != "" {
			t.Errorf("Bcc header = %q, want none (envelope only)", h)
		}
		// The retry is waiting for the copy: nothing recorded, nothing resent.
		waitFor(t, func() bool {
			return b.count(t, "SELECT COUNT(*) FROM river_job WHERE kind = ? AND state = 'scheduled'", SendArgs{}.Kind()) == 1
		})
		if c, _ := store.GetCase(b.ctx, db, 1); c.Status != store.StatusSending {
			t.Errorf("case status while in doubt = %s, want sending", c.Status)
		}
		// The server delivers the copy to the desk mailbox; the poller stores it.
		b.deliver(t, strings.ReplaceAll(string(msgs[0].Raw), "\r\n", "\n"))
		b.waitCase(t, 1, store.StatusSent)
		d, err := store.LatestDraft(b.ctx, db, 1)
		if err != nil || d.Status != store.DraftSent || !strings.Contains(d.SMTPReply, "copy") {
			t.Errorf("draft = %s %q, %v; want sent, recorded from the copy", d.Status, d.SMTPReply, err)
		}
		if n := b.count(t, "SELECT COUNT(*) FROM messages WHERE case_id = ? AND direction = ? AND status = ?", 1, store.Inbound, store.MessageIgnored); n != 1 {
			t.Errorf("desk copies filed on the case = %d, want 1", n)
		}
		if n := b.count(t, "SELECT COUNT(*) FROM cases"); n != 1 {
			t.Errorf("cases = %d, want 1 (the copy opens none)", n)
		}
		time.Sleep(300 * time.Millisecond)
		if got := len(b.smtp.Messages()); got != 1 {
			t.Errorf("replies accepted by the server = %d, want exactly 1", got)
		}
	}, Migrate)
}

// devmailBundle runs the queue against the development mail server: SMTP
// delivers to real IMAP mailboxes, so the BCC copy and the Sent folder are
// what a real server would hold.
func devmailBundle(t *testing.T, db *store.DB, mod func(*Delivery, *mailbox.Copies)) (*testBundle, *devmail.Server) {
	t.Helper()
	dev, err := devmail.Start(t.Context(), devmail.Config{IMAPAddr: "127.0.0.1:0", SMTPAddr: "127.0.0.1:0", Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	cp, err := mailbox.NewCopies(mailbox.Config{Addr: dev.IMAPAddr(), Username: "desk@codedesk.test", Password: "desk",
		Timeout: 5 * time.Second}, []string{"INBOX", "Sent"}, "Sent")
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6, deps: func(d *Deps) {
		d.Sender = mailer.New(mailer.Config{Addr: dev.SMTPAddr(), Security: mailer.SecurityNone, Timeout: 5 * time.Second})
		mod(&d.Delivery, cp)
	}})
	return b, dev
}

// TestCrashAfterAcceptCopyFoundOverIMAP: after a crash between accept and
// record, the retry searches the desk's IMAP folders for the reply's
// Message-ID, finds the BCC copy the server delivered, and records the
// send instead of sending twice.
func TestCrashAfterAcceptCopyFoundOverIMAP(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		var crashes atomic.Int32
		b, dev := devmailBundle(t, db, func(dl *Delivery, cp *mailbox.Copies) {
			*dl = Delivery{CopyTo: "desk@codedesk.test", Copies: cp, CopyGrace: time.Minute, afterAccept: crashOnce(&crashes)}
		})
		b.deliver(t, question("q1@clinic.test", "coder@clinic.test", "Wheelchair", "K0001?"))
		c := b.waitCase(t, 1, store.StatusSent)
		if crashes.Load() != 1 {
			t.Errorf("sends that reached the server = %d, want 1", crashes.Load())
		}
		if n, err := dev.Count("coder@clinic.test", "INBOX"); err != nil || n != 1 {
			t.Errorf("replies in the requester's INBOX = %d, %v; want exactly 1", n, err)
		}
		d, _ := store.LatestDraft(b.ctx, db, c.ID)
		if !strings.Contains(d.SMTPReply, "copy found in IMAP folder INBOX") {
			t.Errorf("draft SMTP reply = %q, want the copy named", d.SMTPReply)
		}
	}, Migrate)
}

// TestResendWhenNoCopyEverArrives: the previous attempt's outcome is
// unknown and no copy shows up within the grace period (the server never
// had it): the reply is sent again, under the same Message-ID.
func TestResendWhenNoCopyEverArrives(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		var crashes atomic.Int32
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6, deps: func(d *Deps) {
			d.Delivery = Delivery{CopyTo: "desk@codedesk.test", CopyGrace: 300 * time.Millisecond, afterAccept: crashOnce(&crashes)}
		}})
		b.deliver(t, question("q1@clinic.test", "coder@clinic.test", "Wheelchair", "K0001?"))
		b.waitCase(t, 1, store.StatusSent)
		msgs := b.smtp.Messages()
		if len(msgs) != 2 || msgs[0].Header.Get("Message-ID") != msgs[1].Header.Get("Message-ID") {
			t.Fatalf("replies = %d, want 2 under one Message-ID (the first was lost to the recipient's view)", len(msgs))
		}
	}, Migrate)
}

// TestSentFolderCopy: with a Sent folder configured, each sent reply is
// filed there once, over IMAP.
func TestSentFolderCopy(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b, dev := devmailBundle(t, db, func(dl *Delivery, cp *mailbox.Copies) {
			*dl = Delivery{Sent: cp, Copies: cp}
		})
		b.deliver(t, question("q1@clinic.test", "coder@clinic.test", "Wheelchair", "K0001?"))
		b.waitCase(t, 1, store.StatusSent)
		waitFor(t, func() bool { n, _ := dev.Count("desk@codedesk.test", "Sent"); return n == 1 })
		d, _ := store.LatestDraft(b.ctx, db, 1)
		raw, err := dev.Messages(b.ctx, "desk@codedesk.test", "Sent")
		if err != nil || len(raw) != 1 || !bytes.Contains(raw[0], []byte("<"+d.OutgoingMessageID+">")) {
			t.Errorf("Sent folder = %d messages, %v; want the reply with Message-ID %s", len(raw), err, d.OutgoingMessageID)
		}
		waitFor(t, func() bool {
			return b.count(t, "SELECT COUNT(*) FROM river_job WHERE kind = ? AND state = 'completed'", SentCopyArgs{}.Kind()) == 1
		})
	}, Migrate)
}

// TestReplyRateLimits: automatic replies over the per-thread or per-sender
// limit are held for review with the reason, not sent; a reviewer can
// still approve them.
func TestReplyRateLimits(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6, deps: func(d *Deps) {
			d.Delivery = Delivery{ReplyLimitPerSender: 2, ReplyLimitPerThread: 1, ReplyLimitWindow: time.Hour}
		}})
		// Per thread: a follow-up in case 1 after its one automatic reply.
		b.deliver(t, question("q1@clinic.test", "coder@clinic.test", "Wheelchair", "K0001?"))
		b.waitCase(t, 1, store.StatusSent)
		reply := b.smtp.WaitFor(t, 1, 10*time.Second)[0]
		b.deliver(t, question("q2@clinic.test", "coder@clinic.test", "Re: Wheelchair [Case #1]", "And K0001 for a second chair?",
			"In-Reply-To: "+reply.Header.Get("Message-ID")))
		c := b.waitCase(t, 1, store.StatusAwaitingReview)
		if !strings.Contains(c.StatusReason, "in this thread") {
			t.Errorf("case 1 reason = %q, want the per-thread limit", c.StatusReason)
		}
		// Per sender: a second case is answered (2 replies to the address),
		// a third is held.
		b.deliver(t, question("q3@clinic.test", "Coder@Clinic.test", "Another", "K0001?"))
		b.waitCase(t, 2, store.StatusSent)
		b.deliver(t, question("q4@clinic.test", "coder@clinic.test", "Third", "K0001?"))
		c = b.waitCase(t, 3, store.StatusAwaitingReview)
		if !strings.Contains(c.StatusReason, "to this sender") {
			t.Errorf("case 3 reason = %q, want the per-sender limit", c.StatusReason)
		}
		if got := len(b.smtp.Messages()); got != 2 {
			t.Errorf("replies sent = %d, want 2", got)
		}
		// The held draft waits for a person, who may send it anyway.
		d, err := store.LatestDraft(b.ctx, db, 3)
		if err != nil || d.Status != store.DraftPending || d.Auto {
			t.Fatalf("held draft = %s auto=%v, %v; want pending_review, not auto", d.Status, d.Auto, err)
		}
		if err := b.q.Approve(b.ctx, d.ID, "reviewer@codedesk.test"); err != nil {
			t.Fatal(err)
		}
		b.waitCase(t, 3, store.StatusSent)
		if n := b.count(t, "SELECT COUNT(*) FROM events WHERE action = 'rate_limited'"); n != 2 {
			t.Errorf("rate_limited events = %d, want 2", n)
		}
	}, Migrate)
}

// TestIntakeCounts: what /healthz and /metrics report of intake matches
// what was stored: oversized, unprocessable, ignored and pending messages.
func TestIntakeCounts(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6})
		head := []byte("From: Big Sender <big@clinic.test>\r\nSubject: scans\r\nMessage-ID: <big@clinic.test>\r\n\r\n")
		if err := b.sink.Deliver(b.ctx, []*mailbox.Fetched{{Mailbox: "INBOX", UIDValidity: 1, UID: 100, Size: 40 << 20,
			Raw: head, Truncated: true}}); err != nil {
			t.Fatal(err)
		}
		b.deliver(t, question("ooo@clinic.test", "coder@clinic.test", "Out of Office: back Monday", "I am away.", "Auto-Submitted: auto-replied"))
		waitFor(t, func() bool {
			n, _ := CountIntake(b.ctx, db)
			return n.Pending == 0 && n.Ignored == 1 && n.Oversized == 1
		})
		got, err := CountIntake(b.ctx, db)
		want := IntakeCounts{Unprocessable: 1, Oversized: 1, Ignored: 1, NeedsAttention: 1}
		if err != nil || got != want {
			t.Errorf("CountIntake() = %+v, %v; want %+v", got, err, want)
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(NewIntakeCollector(db))
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		vals := map[string]float64{}
		for _, mf := range mfs {
			vals[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
		}
		if vals["codedesk_messages_oversized"] != 1 || vals["codedesk_messages_unprocessable"] != 1 || vals["codedesk_cases_needs_attention"] != 1 {
			t.Errorf("intake gauges = %v; want oversized, unprocessable and needs_attention at 1", vals)
		}
	}, Migrate)
}

// TestIntakeQuestionIncludesForwardedAndAttachments: the analysed text of
// a message carries its forwarded message and its text/CSV attachments,
// bounded.
func TestIntakeQuestionIncludesForwardedAndAttachments(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../internal/mailparse/testdata/forwarded_rfc822.eml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := mailparse.Parse(raw, mailparse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q := intakeQuestion(p)
	if !strings.Contains(q, "Forwarded message") || !strings.Contains(q, strings.TrimSpace(p.Forwarded[0].Text)[:20]) {
		t.Errorf("intakeQuestion() = %q; want the forwarded message's text", q)
	}
	p = &mailparse.Message{Text: "See the lines attached.", Attachments: []mailparse.Attachment{
		{Name: "lines.csv", Text: "line,code\n1,K0001\n"}, {Name: "huge.txt", Text: strings.Repeat("x", 2*maxAttachedText)}}}
	q = intakeQuestion(p)
	if !strings.Contains(q, "Attachment lines.csv") || !strings.Contains(q, "1,K0001") {
		t.Errorf("intakeQuestion() = %.200q; want the CSV attachment", q)
	}
	if len(q) > maxAttachedText+200 {
		t.Errorf("len(intakeQuestion()) = %d, want at most about %d", len(q), maxAttachedText)
	}
}

// TestUnconfirmedSendIsSurfaced: the first attempt's outcome is unknown
// and the desk's mailbox cannot be searched through every retry: nothing
// is sent again, and the case fails with a reason a person can act on.
func TestUnconfirmedSendIsSurfaced(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := ln.Addr().String()
		ln.Close() // nothing listens there: every search fails at once
		cp, err := mailbox.NewCopies(mailbox.Config{Addr: closed, Username: "desk", Password: "desk", Timeout: time.Second},
			[]string{"INBOX"}, "")
		if err != nil {
			t.Fatal(err)
		}
		var crashes atomic.Int32
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6, deps: func(d *Deps) {
			d.Delivery = Delivery{CopyTo: "desk@codedesk.test", Copies: cp, CopyGrace: time.Minute, afterAccept: crashOnce(&crashes)}
		}})
		b.deliver(t, question("q1@clinic.test", "coder@clinic.test", "Wheelchair", "K0001?"))
		c := b.waitCase(t, 1, store.StatusFailed)
		if !strings.Contains(c.StatusReason, "may have been sent") {
			t.Errorf("case reason = %q, want the unknown outcome explained", c.StatusReason)
		}
		if got := len(b.smtp.Messages()); got != 1 {
			t.Errorf("replies accepted = %d, want 1 (never resent)", got)
		}
	}, Migrate)
}

// TestCrashAfterAcceptServerFiledCopy: no BCC, but the mail server files
// what codedesk submits in a Sent folder (as Exchange Online and Gmail
// do). After a crash between accept and record, the retry waits for that
// copy, finds it over IMAP and does not send again.
func TestCrashAfterAcceptServerFiledCopy(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		var crashes atomic.Int32
		b, dev := devmailBundle(t, db, func(dl *Delivery, c *mailbox.Copies) {
			*dl = Delivery{Copies: c, ServerFilesCopies: true, CopyGrace: time.Minute, afterAccept: crashOnce(&crashes)}
		})
		b.deliver(t, question("q1@clinic.test", "coder@clinic.test", "Wheelchair", "K0001?"))
		// The server "files" the submitted reply in the desk's Sent folder.
		var sent [][]byte
		waitFor(t, func() bool { sent, _ = dev.Messages(b.ctx, "coder@clinic.test", "INBOX"); return len(sent) == 1 })
		if err := dev.Append(b.ctx, "desk@codedesk.test", "Sent", sent[0]); err != nil {
			t.Fatal(err)
		}
		b.waitCase(t, 1, store.StatusSent)
		time.Sleep(200 * time.Millisecond)
		if n, _ := dev.Count("coder@clinic.test", "INBOX"); n != 1 || crashes.Load() != 1 {
			t.Errorf("replies delivered = %d after %d sends; want 1 and 1", n, crashes.Load())
		}
		d, _ := store.LatestDraft(b.ctx, db, 1)
		if !strings.Contains(d.SMTPReply, "IMAP folder Sent") {
			t.Errorf("draft SMTP reply = %q, want the copy in Sent named", d.SMTPReply)
		}
	}, Migrate)
}
