package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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

// TestHealthzMailFields: /healthz reports the intake counts and, with
// XOAUTH2 login, the token state — degraded (503) from the first failed
// refresh, which the node attempts at start, so a revoked token is noticed
// at once.
func TestHealthzMailFields(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db := dbtest.SQLite(t, queue.Migrate)
	dev, err := devmail.Start(ctx, devmail.Config{IMAPAddr: "127.0.0.1:0", SMTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	revoked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
	}))
	defer revoked.Close()
	cfg := testServeConfig(dev)
	cfg.IMAP.Disabled = true
	cfg.SMTP.Auth = config.AuthXOAuth2
	cfg.OAuth = config.OAuth{ClientID: "codedesk", TokenURL: revoked.URL, RefreshToken: "old", WarnBefore: time.Hour}
	cfg.Database.URL = "unused: the test passes its own database"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := startNode(ctx, nodeConfig{Serve: cfg, DB: db, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	get := func() (int, health) {
		resp, err := http.Get("http://" + n.httpAddr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h health
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, h
	}
	// The node refreshes the token at start (and every few minutes): the
	// refusal shows at once, before any send needs a token.
	var code int
	var h health
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if code, h = get(); h.OAuth != nil && h.OAuth.ConsecutiveFailures > 0 {
			break
		}
	}
	if code != http.StatusServiceUnavailable || h.Status != "degraded" || h.OAuth == nil || h.OAuth.ConsecutiveFailures < 1 ||
		!strings.Contains(h.OAuth.LastError, "invalid_grant") {
		t.Errorf("healthz with a revoked refresh token = %d %s %+v; want 503 degraded with the failure", code, h.Status, h.OAuth)
	}
	if h.Intake == nil {
		t.Error("healthz has no intake section")
	}
}

// TestServeCopiesReplies runs a node as an operator would configure it for
// safe delivery — every reply BCC'd to the desk and filed in Sent — asks a
// question through the development mail server and checks what the desk
// account holds: the question and the copy of the reply in INBOX (the
// copy filed on the case, not answered), the reply in Sent, one case.
func TestServeCopiesReplies(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	db := dbtest.SQLite(t, queue.Migrate)
	if _, err := codes.Import(ctx, db, fixtureCodeSets, codes.ImportOptions{Logger: testLogger(t)}); err != nil {
		t.Fatal(err)
	}
	dev, err := devmail.Start(ctx, devmail.Config{IMAPAddr: "127.0.0.1:0", SMTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	cfg := testServeConfig(dev)
	cfg.SMTP.CopyTo, cfg.SMTP.CopyGrace, cfg.IMAP.SentFolder = "desk@codedesk.test", time.Minute, "Sent"
	n, err := startNode(ctx, nodeConfig{Serve: cfg, DB: db, Logger: testLogger(t), ShutdownTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	rep, err := devmail.Ask(ctx, devmail.AskOptions{Question: "Is K0001 the code for a standard wheelchair?", SMTPAddr: dev.SMTPAddr(),
		IMAPAddr: dev.IMAPAddr(), Timeout: 60 * time.Second, Recheck: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	count := func(account, folder string) int {
		c, _ := dev.Count(account, folder)
		return c
	}
	// Filing in Sent is a River job of its own: on a loaded machine its
	// first attempt may time out and River retries it (1 s, then 16 s).
	deadline := time.Now().Add(60 * time.Second)
	for count("desk@codedesk.test", "Sent") < 1 || count("desk@codedesk.test", "INBOX") < 2 {
		if time.Now().After(deadline) {
			var state, errs string
			_ = db.QueryRow(ctx, "SELECT state, CAST(errors AS TEXT) FROM river_job WHERE kind = 'sent_copy'").Scan(&state, &errs)
			t.Fatalf("desk INBOX %d, Sent %d; want the question and the copy, and the reply filed (sent_copy job %s, errors %s)",
				count("desk@codedesk.test", "INBOX"), count("desk@codedesk.test", "Sent"), state, errs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The poller fetches the copy and ingest files it on the case.
	var copies int
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM messages WHERE message_id = ? AND direction = ? AND status = ? AND case_id = 1",
			rep.MessageID, store.Inbound, store.MessageIgnored).Scan(&copies); err != nil {
			t.Fatal(err)
		}
		if copies == 1 {
			break
		}
	}
	if copies != 1 {
		t.Errorf("desk copies of the reply filed on case 1 = %d, want 1", copies)
	}
	cases, err := store.ListCases(ctx, db, store.CaseFilter{})
	if err != nil || len(cases) != 1 || cases[0].Status != store.StatusSent {
		t.Errorf("cases = %+v, %v; want one, sent", cases, err)
	}
	if got := count("coder@clinic.test", "INBOX"); got != 1 {
		t.Errorf("replies in the coder's INBOX = %d, want 1", got)
	}
}
