package chaos

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dovecottest"
)

// EnvDatabaseURL is the PostgreSQL server the harness makes its schema in
// (the same variable internal/dbtest reads).
const EnvDatabaseURL = "CODEDESK_TEST_DATABASE_URL"

// requireServers skips (or, with CODEDESK_REQUIRE_DOVECOT=1, fails) the
// test when PostgreSQL or Dovecot is not available, and returns the URL.
func requireServers(tb testing.TB) string {
	tb.Helper()
	requireDovecot(tb)
	url := os.Getenv(EnvDatabaseURL)
	if url == "" {
		tb.Skipf("chaos: %s is not set; the harness runs its nodes on PostgreSQL", EnvDatabaseURL)
	}
	return url
}

func requireDovecot(tb testing.TB) {
	tb.Helper()
	if err := dovecottest.Available(); err != nil {
		if os.Getenv(dovecottest.EnvRequire) == "1" {
			tb.Fatalf("chaos: %v (%s=1 requires Dovecot)", err, dovecottest.EnvRequire)
		}
		tb.Skipf("chaos: %v; install dovecot-imapd and run as root (or set %s=1 to make this a failure)", err, dovecottest.EnvRequire)
	}
}

func testLogger(tb testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return discardLogger()
}

// TestChaosShort is the harness with small numbers (make test): two
// PostgreSQL nodes and the SQLite node, 80 questions, 5 SIGKILLs of which
// one lands between the SMTP server accepting a reply and the node
// recording it, IMAP cuts mid-IDLE and mid-FETCH, one Dovecot restart,
// a rolling SIGTERM restart of every node, 421/451 bursts and one 550
// recipient. Every question must be answered
// exactly once.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos: starts real processes and servers; skipped with -short")
	}
	url := requireServers(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := Config{
		Nodes: 2, SQLiteNode: true, Questions: 80, SQLiteShare: 0.2,
		Kills: 5, WindowKills: 1, IMAPCuts: 6, DovecotRestarts: 1, SMTPBursts: 3, Rejects: 1,
		Pace: 200 * time.Millisecond, Seed: time.Now().UnixNano() % 1000, DatabaseURL: url,
		Binary: os.Getenv("CODEDESK_CHAOS_BINARY"), Timeout: 60 * time.Second, Logger: testLogger(t),
	}
	start := time.Now()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("chaos: %v", err)
	}
	var out strings.Builder
	res.Print(&out)
	t.Logf("chaos run (%s):\n%s", time.Since(start).Round(time.Second), out.String())
	if !res.OK() {
		t.Fatalf("chaos: the promise did not hold (seed %d): %s", res.Seed, strings.Join(res.Problems, "; "))
	}
	if res.Delivered != 80 || res.Accepted != 79 || res.Kills < 5 || res.WindowKills < 1 || res.DovecotRest != 1 {
		t.Fatalf("chaos: delivered %d, accepted %d, kills %d (window %d), Dovecot restarts %d; want 80, 79, >= 5 (>= 1), 1",
			res.Delivered, res.Accepted, res.Kills, res.WindowKills, res.DovecotRest)
	}
	if res.Rolling != 1 || res.RollingNodes < 1 || res.RollingClean != res.RollingNodes {
		t.Fatalf("chaos: rolling restarts %d, nodes %d, clean %d; want 1 over every running node, all clean", res.Rolling, res.RollingNodes, res.RollingClean)
	}
	if res.IMAPIdleCuts+res.IMAPFetchCuts+res.IMAPAllCuts == 0 || res.SMTPFaults == 0 {
		t.Fatalf("chaos: IMAP cuts %d/%d/%d, SMTP faults %d; want some of each", res.IMAPIdleCuts, res.IMAPFetchCuts, res.IMAPAllCuts, res.SMTPFaults)
	}
}

// TestChaosCatchesDuplicates proves the check can fail: the SQLite node
// runs without --imap-verify-folder, so a send killed between the server
// accepting it and the node recording it has nothing to be verified
// against and is sent again when its job is rescued. The harness must
// report those questions as answered twice (and no Sent-copy recovery).
func TestChaosCatchesDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos: starts real processes and servers; skipped with -short")
	}
	requireDovecot(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Run(ctx, Config{
		Nodes: 0, SQLiteNode: true, Questions: 20, Kills: 2, WindowKills: 2, NoVerify: true,
		JobTimeout: 3 * time.Second, RescueStuckAfter: 5 * time.Second,
		Pace: 200 * time.Millisecond, Seed: 7, Binary: os.Getenv("CODEDESK_CHAOS_BINARY"),
		Timeout: 60 * time.Second, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatalf("chaos: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(res.RunDir) }) // kept by Run because the run "failed"
	var out strings.Builder
	res.Print(&out)
	t.Logf("chaos run without verification:\n%s", out.String())
	if res.WindowKills != 2 {
		t.Fatalf("kills in the send window = %d, want 2", res.WindowKills)
	}
	if res.AnsweredTwice < 1 || res.OK() || res.CopyRecovered != 0 {
		t.Fatalf("answered twice = %d, OK = %v, recorded from a copy = %d; want the duplicates caught", res.AnsweredTwice, res.OK(), res.CopyRecovered)
	}
	found := false
	for _, p := range res.Problems {
		found = found || strings.Contains(p, "answered more than once")
	}
	if !found {
		t.Fatalf("problems %q do not name the duplicates", res.Problems)
	}
}
