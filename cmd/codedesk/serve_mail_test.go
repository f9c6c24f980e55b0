package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/devmail"
	"github.com/codedesk/codedesk/queue"
)

// TestHealthzMailFields: /healthz reports the intake counts and, with
// XOAUTH2 login, the token state — degraded (503) from the first failed
// refresh, so an expired or revoked token is noticed at once.
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
	code, h := get()
	if code != http.StatusOK || h.Intake == nil || h.OAuth == nil {
		t.Fatalf("healthz = %d %+v; want 200 with intake and oauth sections", code, h)
	}
	// A send needs a token: the refresh fails.
	if _, err := n.oauth.Token(ctx); err == nil {
		t.Fatal("Token() with a revoked refresh token = nil error")
	}
	code, h = get()
	if code != http.StatusServiceUnavailable || h.Status != "degraded" || h.OAuth.ConsecutiveFailures != 1 {
		t.Errorf("healthz after a failed refresh = %d %s %+v; want 503 degraded with 1 failure", code, h.Status, h.OAuth)
	}
}
