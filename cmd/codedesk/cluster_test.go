package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/devmail"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/queue"
)

// TestTwoNodesOneMailbox runs two nodes on one database and one mailbox:
// exactly one polls (holds the lease), both report it in /healthz, each
// question is answered once, and when the polling node stops the other
// takes the mailbox over at once (the lease is released on a clean stop).
func TestTwoNodesOneMailbox(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		dev := deskFixture(ctx, t, db)
		nodes := map[string]*node{}
		for i, id := range []string{"n1", "n2"} {
			cfg := testServeConfig(dev)
			cfg.Cluster = config.Cluster{NodeID: id, LeaseTTL: 2 * time.Second}
			n, err := startNode(ctx, nodeConfig{Serve: cfg, DB: db, Logger: testLogger(t).With("node", id), Migrate: i == 0,
				ShutdownTimeout: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			nodes[id] = n
		}
		leader := func() string {
			var ids []string
			for id, n := range nodes {
				if n.leader.Load() {
					ids = append(ids, id)
				}
			}
			if len(ids) > 1 {
				t.Fatalf("nodes %v poll the mailbox at once", ids)
			}
			if len(ids) == 0 {
				return ""
			}
			return ids[0]
		}
		var first string
		for deadline := time.Now().Add(10 * time.Second); first == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			first = leader()
		}
		if first == "" {
			t.Fatal("no node took the mailbox's lease")
		}
		// Both nodes' health names the poller; only the poller reports IMAP.
		for id, n := range nodes {
			h := getHealth(t, n)
			if h.Mailbox == nil || h.Mailbox.PolledBy != first || h.Mailbox.Leader != (id == first) || h.Mailbox.NodeID != id {
				t.Errorf("%s /healthz mailbox = %+v, want polled_by %s, leader %v", id, h.Mailbox, first, id == first)
			}
		}

		ask := func(q string) {
			t.Helper()
			opts := devmail.AskOptions{Question: q, SMTPAddr: dev.SMTPAddr(), IMAPAddr: dev.IMAPAddr(),
				Timeout: 45 * time.Second, Recheck: 200 * time.Millisecond}
			qid, err := devmail.Send(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := devmail.WaitReply(ctx, opts, qid)
			if err != nil {
				t.Fatal(err)
			}
			if rep.InReplyTo != qid {
				t.Fatalf("reply In-Reply-To %q, want %q", rep.InReplyTo, qid)
			}
		}
		ask("What is E11.22?")

		stopped := time.Now()
		if err := nodes[first].Close(); err != nil {
			t.Fatal(err)
		}
		other := map[string]string{"n1": "n2", "n2": "n1"}[first]
		delete(nodes, first)
		for leader() != other {
			if time.Since(stopped) > 5*time.Second {
				t.Fatalf("%s did not take the mailbox over within 5 s of %s stopping", other, first)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s took over %v after %s stopped cleanly", other, time.Since(stopped), first)
		ask("Is K0001 still valid?")

		// Each question got one reply: two cases, two sent drafts, and the
		// mailbox lease belongs to the survivor.
		cases, err := store.ListCases(ctx, db, store.CaseFilter{})
		if err != nil || len(cases) != 2 {
			t.Fatalf("cases = %d (%v), want 2", len(cases), err)
		}
		l, err := store.GetLease(ctx, db, mailboxLeaseName(testServeConfig(dev).IMAP))
		if err != nil || l.Holder != other {
			t.Errorf("lease = %+v (%v), want holder %s", l, err, other)
		}
	}, queue.Migrate)
}

func getHealth(t *testing.T, n *node) health {
	t.Helper()
	resp, err := http.Get("http://" + n.httpAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestPollerStepsDownWhenIMAPUnreachable: the node holding the mailbox's
// lease cannot reach the IMAP server (a firewall on its side) while the
// database is fine. It hands the mailbox over after --imap-step-down-after
// and a node that can reach the server answers the question.
func TestPollerStepsDownWhenIMAPUnreachable(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t, queue.Migrate)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dev := deskFixture(ctx, t, db)
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()

	start := func(id, imapAddr string) *node {
		cfg := testServeConfig(dev)
		cfg.IMAP.Addr = imapAddr
		cfg.IMAP.Timeout = time.Second
		cfg.Cluster = config.Cluster{NodeID: id, LeaseTTL: 2 * time.Second, StepDown: 2 * time.Second}
		n, err := startNode(ctx, nodeConfig{Serve: cfg, DB: db, Logger: testLogger(t).With("node", id), ShutdownTimeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.Close() })
		return n
	}
	cut := start("cut-off", dead)
	for deadline := time.Now().Add(5 * time.Second); !cut.leader.Load(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the cut-off node did not take the lease")
		}
	}
	good := start("reaches-imap", dev.IMAPAddr())
	began := time.Now()
	for !good.leader.Load() {
		if time.Since(began) > 10*time.Second {
			t.Fatal("the node that reaches IMAP did not get the mailbox within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("mailbox handed over %v after the second node started", time.Since(began).Round(time.Millisecond))
	if cut.leader.Load() {
		t.Fatal("both nodes hold the mailbox")
	}
	opts := devmail.AskOptions{Question: "What is E11.22?", SMTPAddr: dev.SMTPAddr(), IMAPAddr: dev.IMAPAddr(),
		Timeout: 30 * time.Second, Recheck: 200 * time.Millisecond}
	qid, err := devmail.Send(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := devmail.WaitReply(ctx, opts, qid); err != nil {
		t.Fatal(err)
	}
}
