package mailauth

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// tokenServer is an OAuth token endpoint for tests: each refresh with the
// current refresh token returns a new access token and rotates the refresh
// token; an old refresh token is refused (invalid_grant), as providers do.
type tokenServer struct {
	*httptest.Server
	mu            sync.Mutex
	refresh       string // the one valid refresh token
	n             int    // refreshes served
	fail          bool
	refreshExpiry int // refresh_token_expires_in, 0: not sent
}

func newTokenServer(t *testing.T, refresh string) *tokenServer {
	ts := &tokenServer{refresh: refresh}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "refresh_token" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if ts.fail || r.Form.Get("refresh_token") != ts.refresh {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"token revoked"}`))
			return
		}
		ts.n++
		ts.refresh = fmt.Sprintf("refresh-%d", ts.n)
		resp := map[string]any{"access_token": fmt.Sprintf("access-%d", ts.n), "token_type": "Bearer",
			"expires_in": 3600, "refresh_token": ts.refresh}
		if ts.refreshExpiry > 0 {
			resp["refresh_token_expires_in"] = ts.refreshExpiry
		}
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.n
}

// newTestLogger writes text logs to b under mu.
func newTestLogger(b *strings.Builder, mu *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{b, mu}, nil))
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock               { return &clock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)} }
func testConfig(url string) Config {
	return Config{Name: "desk", ClientID: "codedesk", TokenURL: url, RefreshToken: "bootstrap"}
}
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	return metric(t, reg, name, false)
}

func metric(t *testing.T, reg *prometheus.Registry, name string, counter bool) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if counter {
				sum += m.GetCounter().GetValue()
			} else {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

func TestRefreshRotatesAndPersists(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ts := newTokenServer(t, "bootstrap")
		clk := newClock()
		reg := prometheus.NewRegistry()
		cfg := testConfig(ts.URL)
		cfg.Now, cfg.Metrics = clk.now, NewMetrics(reg)
		src, err := New(cfg, db)
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		tok, err := src.Token(ctx)
		if err != nil || tok != "access-1" {
			t.Fatalf("Token() = %q, %v; want access-1", tok, err)
		}
		// Cached while valid.
		clk.add(30 * time.Minute)
		if tok, _ := src.Token(ctx); tok != "access-1" || ts.count() != 1 {
			t.Errorf("Token() = %q after %d refreshes; want the cached access-1", tok, ts.count())
		}
		// The rotated refresh token was persisted: a new process (a restart)
		// refreshes with it, not with the configured bootstrap token, which
		// the provider no longer accepts.
		stored, err := store.GetOAuthToken(ctx, db, "desk")
		if err != nil || stored.RefreshToken != "refresh-1" {
			t.Fatalf("stored refresh token = %q, %v; want refresh-1", stored.RefreshToken, err)
		}
		clk.add(time.Hour)
		src2, _ := New(cfg, db)
		if tok, err := src2.Token(ctx); err != nil || tok != "access-2" {
			t.Fatalf("Token() after restart and expiry = %q, %v; want access-2", tok, err)
		}
		if stored, _ := store.GetOAuthToken(ctx, db, "desk"); stored.RefreshToken != "refresh-2" {
			t.Errorf("stored refresh token = %q, want refresh-2", stored.RefreshToken)
		}
		if got := metric(t, reg, "codedesk_oauth_refreshes_total", true); got != 2 {
			t.Errorf("refreshes metric = %v, want 2", got)
		}
		if st := src2.Status(); !st.Healthy() || st.AccessExpiry.IsZero() {
			t.Errorf("Status() = %+v; want healthy with an access expiry", st)
		}
	})
}

func TestRefreshFailureAlertsOnFirstFailure(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ts := newTokenServer(t, "bootstrap")
		reg := prometheus.NewRegistry()
		var logs strings.Builder
		var logMu sync.Mutex
		cfg := testConfig(ts.URL)
		cfg.Metrics = NewMetrics(reg)
		cfg.Logger = newTestLogger(&logs, &logMu)
		src, _ := New(cfg, db)
		ts.mu.Lock()
		ts.fail = true
		ts.mu.Unlock()
		for range 3 {
			if _, err := src.Token(t.Context()); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Fatalf("Token() error = %v, want the endpoint's invalid_grant", err)
			}
		}
		st := src.Status()
		if st.Healthy() || st.ConsecutiveFailures != 3 || !strings.Contains(st.LastError, "invalid_grant") {
			t.Errorf("Status() = %+v; want unhealthy after 3 failures", st)
		}
		if got := metric(t, reg, "codedesk_oauth_refresh_failures_total", true); got != 3 {
			t.Errorf("failures metric = %v, want 3", got)
		}
		logMu.Lock()
		out := logs.String()
		logMu.Unlock()
		if strings.Count(out, "level=ERROR") != 1 || strings.Contains(out, "revoked") {
			t.Errorf("logs = %q; want one ERROR (the first failure) and no endpoint body", out)
		}
		ts.mu.Lock()
		ts.fail = false
		ts.mu.Unlock()
		if _, err := src.Token(t.Context()); err != nil || !src.Status().Healthy() {
			t.Errorf("Token() after recovery = %v, status %+v; want healthy", err, src.Status())
		}
	})
}

func TestRefreshTokenExpiryWarning(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ts := newTokenServer(t, "bootstrap")
		ts.refreshExpiry = 3 * 24 * 3600 // three days left
		clk := newClock()
		reg := prometheus.NewRegistry()
		cfg := testConfig(ts.URL)
		cfg.Now, cfg.Metrics = clk.now, NewMetrics(reg)
		src, _ := New(cfg, db)
		if _, err := src.Token(t.Context()); err != nil {
			t.Fatal(err)
		}
		st := src.Status()
		if !st.Expiring || st.Healthy() || !st.RefreshExpiry.Equal(clk.now().Add(72*time.Hour)) {
			t.Errorf("Status() = %+v; want expiring in 72h (warned within 7 days)", st)
		}
		if got := gauge(t, reg, "codedesk_oauth_refresh_token_expiry_timestamp_seconds"); got != float64(clk.now().Add(72*time.Hour).Unix()) {
			t.Errorf("refresh expiry gauge = %v", got)
		}
	})
}

func TestNoRefreshTokenIsAnError(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	cfg := testConfig("http://127.0.0.1:1/token")
	cfg.RefreshToken = ""
	src, _ := New(cfg, db)
	if _, err := src.Token(t.Context()); err == nil || !strings.Contains(err.Error(), "no refresh token") {
		t.Errorf("Token() = %v, want a missing refresh token named", err)
	}
	if _, err := New(Config{}, db); err == nil {
		t.Error("New(empty config) = nil error")
	}
}

// TestKeepNoticesRevocation: the background keeper refreshes when due, so
// a revoked refresh token shows in Status without any login asking.
func TestKeepNoticesRevocation(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	ts := newTokenServer(t, "bootstrap")
	clk := newClock()
	cfg := testConfig(ts.URL)
	cfg.Now = clk.now
	src, _ := New(cfg, db)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { src.Keep(ctx, 10*time.Millisecond); close(done) }()
	waitUntil(t, func() bool { return ts.count() == 1 })
	ts.mu.Lock()
	ts.fail = true
	ts.mu.Unlock()
	clk.add(2 * time.Hour) // the access token is due
	waitUntil(t, func() bool { return src.Status().ConsecutiveFailures > 0 })
	cancel()
	<-done
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestNodesShareRotatingToken runs two sources on one database, as two
// codedesk nodes do: they must never both refresh with the same refresh
// token (the provider accepts each once), and each uses the access token
// the other obtained while it is valid.
func TestNodesShareRotatingToken(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ts := newTokenServer(t, "bootstrap")
		clk := newClock()
		cfg := testConfig(ts.URL)
		cfg.Now = clk.now
		a, err := New(cfg, db)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := New(cfg, db)
		ctx := t.Context()
		var wg sync.WaitGroup
		toks := make([]string, 2)
		errs := make([]error, 2)
		for i, src := range []*Source{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				toks[i], errs[i] = src.Token(ctx)
			}()
		}
		wg.Wait()
		for i := range toks {
			if errs[i] != nil || toks[i] != "access-1" {
				t.Fatalf("node %d Token() = %q, %v; want access-1 (one refresh shared)", i, toks[i], errs[i])
			}
		}
		if ts.count() != 1 {
			t.Fatalf("token endpoint served %d refreshes for two nodes starting together, want 1", ts.count())
		}
		// An hour on, b refreshes first with the rotated token it finds in
		// the database (its memory still holds the bootstrap token), and a
		// then uses b's new access token.
		clk.add(time.Hour)
		if tok, err := b.Token(ctx); err != nil || tok != "access-2" {
			t.Fatalf("b Token() after expiry = %q, %v; want access-2", tok, err)
		}
		if tok, err := a.Token(ctx); err != nil || tok != "access-2" {
			t.Fatalf("a Token() after b refreshed = %q, %v; want b's access-2", tok, err)
		}
		if ts.count() != 2 {
			t.Errorf("token endpoint served %d refreshes, want 2", ts.count())
		}
		if !a.Status().Healthy() || !b.Status().Healthy() {
			t.Errorf("statuses = %+v / %+v, want both healthy", a.Status(), b.Status())
		}
	})
}
