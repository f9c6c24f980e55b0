package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/devmail"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/queue"
)

// fixtureCodeSets are small files in the official formats (written for the
// codes package's tests) holding E11.22 and K0001 among others.
var fixtureCodeSets = []string{
	"../../internal/codes/testdata/icd10cm_order_2025.txt",
	"../../internal/codes/testdata/HCPC2025_JAN_ANWEB_fixture.txt",
}

// testServeConfig is a serve configuration pointing at a devmail server.
func testServeConfig(dev *devmail.Server) config.Serve {
	var c config.Serve
	c.IMAP = config.IMAP{Addr: dev.IMAPAddr(), Security: "none", Username: "desk@codedesk.test", Password: "desk",
		Mailbox: "INBOX", PollInterval: 2 * time.Second, Timeout: 5 * time.Second}
	c.SMTP = config.SMTP{Addr: dev.SMTPAddr(), Security: "none", Username: "desk@codedesk.test", Password: "desk",
		Timeout: 5 * time.Second, From: "desk@codedesk.test", FromName: "codedesk coding desk"}
	c.Policy = config.Policy{AutoSend: true, MinConfidence: 0.6}
	c.Queue = config.Queue{Workers: 10, FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond,
		JobTimeout: time.Minute, RescueStuckAfter: 2 * time.Minute}
	c.Cluster = config.Cluster{LeaseTTL: 6 * time.Second}
	c.HTTP = config.HTTP{Addr: "127.0.0.1:0"}
	return c
}

// deskFixture imports the fixture code sets into db and starts a
// development mail server on free ports, closed when the test ends.
func deskFixture(ctx context.Context, t *testing.T, db *store.DB) *devmail.Server {
	t.Helper()
	if _, err := codes.Import(ctx, db, fixtureCodeSets, codes.ImportOptions{Logger: testLogger(t)}); err != nil {
		t.Fatal(err)
	}
	dev, err := devmail.Start(ctx, devmail.Config{IMAPAddr: "127.0.0.1:0", SMTPAddr: "127.0.0.1:0", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dev.Close() })
	return dev
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// TestEndToEnd sends a question over SMTP to the desk mailbox, lets a full
// node (poller, River workers, SMTP sender) answer it, and reads the
// threaded reply from the coder's IMAP inbox — on SQLite and PostgreSQL.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		dev := deskFixture(ctx, t, db)
		n, err := startNode(ctx, nodeConfig{Serve: testServeConfig(dev), DB: db, Logger: testLogger(t), Migrate: true,
			ShutdownTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()

		opts := devmail.AskOptions{
			Question: "What is E11.22? Also need the HCPCS for a standard wheelchair, K0001",
			SMTPAddr: dev.SMTPAddr(), IMAPAddr: dev.IMAPAddr(), Timeout: 60 * time.Second, Recheck: 200 * time.Millisecond,
		}
		start := time.Now()
		qid, err := devmail.Send(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := devmail.WaitReply(ctx, opts, qid)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("reply after %v:\n%s", time.Since(start), rep.Text)
		if rep.InReplyTo != qid {
			t.Errorf("In-Reply-To = %q, want the question's Message-ID %q", rep.InReplyTo, qid)
		}
		for _, want := range []string{
			"Type 2 diabetes mellitus with diabetic chronic kidney disease",
			"Standard wheelchair",
			"E11.22", "K0001", "[Case #",
		} {
			if !strings.Contains(strings.Join(strings.Fields(rep.Text+" "+rep.Subject), " "), want) {
				t.Errorf("reply does not contain %q", want)
			}
		}
		if !strings.HasPrefix(rep.Subject, "Re: ") {
			t.Errorf("Subject = %q, want Re: …", rep.Subject)
		}
		if !strings.Contains(string(rep.Raw), "Auto-Submitted: auto-replied") {
			t.Errorf("auto-sent reply lacks Auto-Submitted: auto-replied")
		}
		// The case is closed as sent (the send job records it just after the
		// SMTP server accepted the reply), with the outgoing message recorded.
		var cases []store.Case
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			cases, err = store.ListCases(ctx, db, store.CaseFilter{})
			if err != nil || len(cases) != 1 {
				t.Fatalf("ListCases() = %v, %v; want one case", cases, err)
			}
			if cases[0].Status == store.StatusSent || time.Now().After(deadline) {
				break
			}
		}
		if cases[0].Status != store.StatusSent {
			t.Errorf("case status = %s, want sent", cases[0].Status)
		}
		d, err := store.LatestDraft(ctx, db, cases[0].ID)
		if err != nil || d.OutgoingMessageID != rep.MessageID {
			t.Errorf("draft outgoing Message-ID = %q (%v), want %q", d.OutgoingMessageID, err, rep.MessageID)
		}
	}, queue.Migrate)
}

// TestServeWithoutCodeSets checks that a desk with no code sets still
// answers, and says which code sets are missing and how to load them.
func TestServeWithoutCodeSets(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db := dbtest.SQLite(t, queue.Migrate)
	dev, err := devmail.Start(ctx, devmail.Config{IMAPAddr: "127.0.0.1:0", SMTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	cfg := testServeConfig(dev)
	cfg.Policy.MinConfidence = 0 // answer even an unsure reply automatically
	n, err := startNode(ctx, nodeConfig{Serve: cfg, DB: db, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	rep, err := devmail.Ask(ctx, devmail.AskOptions{Question: "What is E11.22?", SMTPAddr: dev.SMTPAddr(), IMAPAddr: dev.IMAPAddr(),
		Timeout: 45 * time.Second, Recheck: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(rep.Text), " ")
	for _, want := range []string{"I cannot confirm E11.22 yet", "ICD-10-CM code set is not loaded", "codedesk codes import"} {
		if !strings.Contains(text, want) {
			t.Errorf("reply does not contain %q:\n%s", want, rep.Text)
		}
	}
}
