package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/devmail"
	"github.com/codedesk/codedesk/internal/smtptest"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/queue"
)

// TestGracefulShutdown stops a node (what SIGTERM does) while a reply is
// being sent. With time enough, the send finishes before the node exits; with
// too little, the send is cancelled within the bound, the lease is handed
// back, and the next node sends the reply — once.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		dev := deskFixture(ctx, t, db)
		sink := smtptest.Start(t, smtptest.Options{})
		start := func(id string, shutdown time.Duration) *node {
			cfg := testServeConfig(dev)
			cfg.SMTP.Addr, cfg.SMTP.Username = sink.Addr(), ""
			cfg.Cluster = config.Cluster{NodeID: id, LeaseTTL: 3 * time.Second}
			n, err := startNode(ctx, nodeConfig{Serve: cfg, DB: db, Logger: testLogger(t).With("node", id), Migrate: true,
				ShutdownTimeout: shutdown})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = n.Close() })
			return n
		}
		ask := func(q string) string {
			id, err := devmail.Send(ctx, devmail.AskOptions{Question: q, SMTPAddr: dev.SMTPAddr(), IMAPAddr: dev.IMAPAddr(), Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		waitUntil := func(what string, cond func() bool) {
			t.Helper()
			for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("timed out waiting for %s", what)
				}
			}
		}
		inReplyTo := func(qid string) int {
			n := 0
			for _, m := range sink.Messages() {
				if strings.Trim(m.Header.Get("In-Reply-To"), "<> ") == strings.Trim(qid, "<> ") {
					n++
				}
			}
			return n
		}

		// 1. The server takes 2 s to accept; the node has 10 s: it waits.
		sink.SetDelay(smtptest.StageData, 2*time.Second)
		n1 := start("n1", 10*time.Second)
		q1 := ask("What is E11.22?")
		waitUntil("the first reply's DATA", func() bool { return sink.DataAttempts() >= 1 })
		began := time.Now()
		if err := n1.Close(); err != nil {
			t.Fatal(err)
		}
		took := time.Since(began)
		if inReplyTo(q1) != 1 {
			t.Fatalf("after a graceful stop the sink holds %d replies to the question, want 1 (the send in flight finished)", inReplyTo(q1))
		}
		if took > 5*time.Second {
			t.Errorf("stopping with one send in flight took %v, want about the server's 2 s", took)
		}

		// 2. The server stalls 20 s before RCPT; the node has 500 ms: the
		// send is cancelled and Close returns within the bound.
		sink.SetDelay(smtptest.StageData, 0)
		sink.SetDelay(smtptest.StageRcpt, 20*time.Second)
		n2 := start("n2", 500*time.Millisecond)
		q2 := ask("Is K0001 a valid HCPCS code?")
		waitUntil("the second reply's send to start", func() bool { return sink.Connections() >= 2 })
		time.Sleep(200 * time.Millisecond)
		began = time.Now()
		if err := n2.Close(); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(began); took > 3*time.Second {
			t.Errorf("stopping with a stalled send took %v, want about the 500 ms shutdown timeout", took)
		}
		sink.SetDelay(smtptest.StageRcpt, 0)
		// Nothing is lost: the next node picks the job up (River retries the
		// cancelled attempt) and sends the reply once.
		start("n3", 5*time.Second)
		waitUntil("the second reply after the restart", func() bool { return inReplyTo(q2) >= 1 })
		time.Sleep(500 * time.Millisecond)
		if got := inReplyTo(q2); got != 1 {
			t.Errorf("the sink holds %d replies to the second question, want 1", got)
		}
		waitUntil("both cases sent", func() bool {
			cs, err := store.ListCases(ctx, db, store.CaseFilter{})
			if err != nil || len(cs) != 2 {
				return false
			}
			return cs[0].Status == store.StatusSent && cs[1].Status == store.StatusSent
		})
	}, queue.Migrate)
}
