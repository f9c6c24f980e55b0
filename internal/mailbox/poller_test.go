package mailbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/prometheus/client_golang/prometheus"
)

func TestPicksUpExistingAndNewMailWithIdle(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	existing := [][]byte{question("q1"), question("q2")}
	for _, raw := range existing {
		srv.appendMsg(t, raw)
	}
	sink := newMemSink()
	reg := prometheus.NewRegistry()
	cfg := testConfig(srv.addr)
	cfg.Metrics = NewMetrics(reg)
	r := startPoller(t, cfg, sink)

	sink.waitStored(t, 2, 5*time.Second)
	r.waitIdle(t, 0, 5*time.Second)
	if st := r.p.Status(); !st.Connected || !st.Idle || st.LastSuccess.IsZero() || st.Delivered != 2 {
		t.Fatalf("Status() = %+v, want connected, idle, a last success and 2 delivered", st)
	}
	// imapmemserver (beta.8) can lose a push sent right after "+ idling";
	// give its IDLE loop a moment to register (see stack notes). Dovecot
	// does not need this.
	time.Sleep(50 * time.Millisecond)

	start := time.Now()
	uid := srv.appendMsg(t, question("q3"))
	sink.waitStored(t, 3, 3*time.Second)
	lag := time.Since(start)
	// PollInterval is 5 s: only the IDLE push explains a fast pick-up.
	if lag > time.Second {
		t.Fatalf("new mail stored %v after arrival, want well under PollInterval (IDLE push)", lag)
	}
	t.Logf("arrival -> stored with IDLE (imapmemserver): %v", lag)
	// Metrics and Status are updated right after Deliver returns.
	waitFor(t, time.Second, "Status().Delivered == 3", func() bool { return r.p.Status().Delivered == 3 })

	got := sink.storedSnapshot()
	for i, raw := range append(existing, question("q3")) {
		if !bytes.Equal(got[i].Raw, raw) {
			t.Errorf("stored[%d].Raw = %q, want %q", i, got[i].Raw, raw)
		}
		if got[i].UID != uint32(i+1) || got[i].UIDValidity == 0 || got[i].Mailbox != DefaultMailbox || got[i].Truncated {
			t.Errorf("stored[%d] = {mailbox %q, uidvalidity %d, uid %d, truncated %v}, want INBOX, nonzero, %d, false",
				i, got[i].Mailbox, got[i].UIDValidity, got[i].UID, got[i].Truncated, i+1)
		}
		if got[i].Size != int64(len(raw)) || got[i].InternalDate.IsZero() {
			t.Errorf("stored[%d] size, date = %d, %v; want %d and a date", i, got[i].Size, got[i].InternalDate, len(raw))
		}
	}
	if _, last := sink.checkpoint(); last != uid {
		t.Errorf("checkpoint last UID = %d, want %d", last, uid)
	}
	if v := metricValue(t, reg, "codedesk_mailbox_messages_fetched_total"); v != 3 {
		t.Errorf("messages_fetched_total = %v, want 3", v)
	}
	if v := metricValue(t, reg, "codedesk_mailbox_idle"); v != 1 {
		t.Errorf("idle gauge = %v, want 1", v)
	}
	if v := metricValue(t, reg, "codedesk_mailbox_connected"); v != 1 {
		t.Errorf("connected gauge = %v, want 1", v)
	}
	waitFor(t, time.Second, "a fetch cycle after the push", func() bool { return r.p.Status().LastSuccess.After(start) })
	if v := metricValue(t, reg, "codedesk_mailbox_last_success_timestamp_seconds"); v < float64(start.UnixNano())/1e9 {
		t.Errorf("last_success_timestamp_seconds = %v, want >= %d", v, start.Unix())
	}
	if v := metricValue(t, reg, "codedesk_mailbox_fetch_lag_seconds"); v != 3 {
		t.Errorf("fetch_lag_seconds count = %v, want 3", v)
	}
	r.stop(t)
	if v := metricValue(t, reg, "codedesk_mailbox_connected"); v != 0 {
		t.Errorf("connected gauge after stop = %v, want 0", v)
	}
}

func TestCheckpointRespectedAcrossRestarts(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	for i := range 3 {
		srv.appendMsg(t, question(fmt.Sprintf("a%d", i)))
	}
	sink := newMemSink()
	r := startPoller(t, testConfig(srv.addr), sink)
	sink.waitStored(t, 3, 5*time.Second)
	r.stop(t)

	srv.appendMsg(t, question("b0"))
	srv.appendMsg(t, question("b1"))
	r = startPoller(t, testConfig(srv.addr), sink)
	sink.waitStored(t, 5, 5*time.Second)
	r.waitIdle(t, 0, 5*time.Second)
	r.stop(t)

	sink.mu.Lock()
	defer sink.mu.Unlock()
	for k, n := range sink.calls {
		if n != 1 {
			t.Errorf("Deliver called %d times for UID %d, want 1 (the checkpoint must skip stored mail)", n, k.uid)
		}
	}
	if len(sink.calls) != 5 || sink.duplicates != 0 {
		t.Errorf("Deliver calls for %d UIDs with %d duplicates, want 5 and 0", len(sink.calls), sink.duplicates)
	}
}

func TestSeenOnlyAfterDeliver(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	uids := []uint32{srv.appendMsg(t, question("s1")), srv.appendMsg(t, question("s2"))}
	sink := newMemSink()
	var checked atomic.Int64
	sink.before = func(f *Fetched) error {
		// Inside Deliver, before "commit": the message must not be \Seen
		// yet, neither from the fetch (BODY.PEEK) nor from a STORE.
		flags, err := flagsOf(srv.addr, testUser, testPass, f.UID)
		if err != nil {
			t.Errorf("flagsOf(%d) error = %v", f.UID, err)
		} else if hasSeen(flags) {
			t.Errorf("UID %d flags during Deliver = %v, want no \\Seen", f.UID, flags)
		}
		checked.Add(1)
		return nil
	}
	startPoller(t, testConfig(srv.addr), sink)
	sink.waitStored(t, 2, 5*time.Second)
	if checked.Load() != 2 {
		t.Fatalf("checked flags in %d Deliver calls, want 2", checked.Load())
	}
	for _, uid := range uids {
		waitFor(t, 3*time.Second, fmt.Sprintf("\\Seen on UID %d after Deliver", uid), func() bool {
			flags, err := flagsOf(srv.addr, testUser, testPass, uid)
			return err == nil && hasSeen(flags)
		})
	}
}

func TestDeliverErrorRefetchesSameMessage(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	for i := range 3 {
		srv.appendMsg(t, question(fmt.Sprintf("e%d", i)))
	}
	sink := newMemSink()
	var failing atomic.Bool
	failing.Store(true)
	var attempts atomic.Int64
	sink.before = func(f *Fetched) error {
		if f.UID == 2 && failing.Load() {
			attempts.Add(1)
			return errors.New("database is locked (synthetic)")
		}
		return nil
	}
	reg := prometheus.NewRegistry()
	cfg := testConfig(srv.addr)
	cfg.Metrics = NewMetrics(reg)
	r := startPoller(t, cfg, sink)

	// Each cycle tries the batch, then one message at a time up to UID 2.
	waitFor(t, 5*time.Second, "3 failed cycles on UID 2", func() bool {
		return attempts.Load() >= 4 && r.p.Status().DeliveryFailures >= 3
	})
	if n := sink.storedCount(); n != 1 {
		t.Fatalf("stored %d messages while UID 2 fails, want 1 (never past an undelivered message)", n)
	}
	if _, last := sink.checkpoint(); last != 1 {
		t.Fatalf("checkpoint last UID = %d while UID 2 fails, want 1", last)
	}
	for _, uid := range []uint32{2, 3} {
		flags, err := flagsOf(srv.addr, testUser, testPass, uid)
		if err != nil || hasSeen(flags) {
			t.Fatalf("UID %d flags = %v, %v; want no \\Seen before it is delivered", uid, flags, err)
		}
	}
	if st := r.p.Status(); !strings.Contains(st.LastError, "synthetic") || st.DeliveryFailures < 3 {
		t.Errorf("Status() LastError, DeliveryFailures = %q, %d; want the delivery error and >= 3", st.LastError, st.DeliveryFailures)
	}
	if v := metricValue(t, reg, "codedesk_mailbox_delivery_errors_total"); v < 3 {
		t.Errorf("delivery_errors_total = %v, want >= 3", v)
	}

	failing.Store(false)
	sink.waitStored(t, 3, 5*time.Second)
	for i, f := range sink.storedSnapshot() {
		if f.UID != uint32(i+1) {
			t.Errorf("stored[%d].UID = %d, want %d (UID order)", i, f.UID, i+1)
		}
	}
	waitFor(t, 3*time.Second, "\\Seen on UID 2", func() bool {
		flags, err := flagsOf(srv.addr, testUser, testPass, 2)
		return err == nil && hasSeen(flags)
	})
	waitFor(t, 3*time.Second, "Status().LastError and DeliveryFailures to clear after a good cycle", func() bool {
		st := r.p.Status()
		return st.LastError == "" && st.DeliveryFailures == 0
	})
}

func TestCheckpointErrorIsRetried(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	srv.appendMsg(t, question("c1"))
	sink := newMemSink()
	sink.cpErr = errors.New("connection refused (synthetic database)")
	r := startPoller(t, testConfig(srv.addr), sink)
	waitFor(t, 3*time.Second, "the checkpoint error in Status", func() bool {
		return strings.Contains(r.p.Status().LastError, "synthetic database")
	})
	if n := sink.storedCount(); n != 0 {
		t.Fatalf("stored %d messages without a checkpoint, want 0", n)
	}
	sink.mu.Lock()
	sink.cpErr = nil
	sink.mu.Unlock()
	sink.waitStored(t, 1, 5*time.Second)
}

// lostCheckpointSink forgets its checkpoint, so every cycle offers every
// message again, as after a database restore.
type lostCheckpointSink struct{ *memSink }

func (s lostCheckpointSink) Checkpoint(ctx context.Context, mailbox string) (uint32, uint32, bool, error) {
	return 0, 0, false, nil
}

func TestDuplicateDeliveryHarmless(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	srv.appendMsg(t, question("d1"))
	srv.appendMsg(t, question("d2"))
	srv.appendMsg(t, question("d1")) // the same message delivered twice by the MTA
	inner := newMemSink()
	cfg := testConfig(srv.addr)
	cfg.PollInterval = 100 * time.Millisecond
	startPoller(t, cfg, lostCheckpointSink{inner})

	waitFor(t, 5*time.Second, "redeliveries", func() bool {
		inner.mu.Lock()
		defer inner.mu.Unlock()
		return inner.duplicates >= 4
	})
	got := inner.storedSnapshot()
	if len(got) != 2 {
		t.Fatalf("stored %d messages, want 2 (one per Message-ID)", len(got))
	}
	for uid := uint32(1); uid <= 3; uid++ {
		flags, err := flagsOf(srv.addr, testUser, testPass, uid)
		if err != nil || !hasSeen(flags) {
			t.Errorf("UID %d flags = %v, %v; want \\Seen (a duplicate is delivered, not an error)", uid, flags, err)
		}
	}
}

func TestOversizedMessageHeaderOnly(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	header := "From: Coder <coder@example.test>\nTo: desk@codedesk.test\nSubject: scan attached\n" +
		"Message-ID: <big@example.test>\nMIME-Version: 1.0\nContent-Type: text/plain\n\n"
	big := crlf(header + strings.Repeat("synthetic scan line 0123456789 abcdefghij\n", 200)) // ~8.6 KB
	small := question("small")
	srv.appendMsg(t, big)
	srv.appendMsg(t, small)

	sink := newMemSink()
	reg := prometheus.NewRegistry()
	cfg := testConfig(srv.addr)
	cfg.MaxMessageSize = 4096
	cfg.Metrics = NewMetrics(reg)
	startPoller(t, cfg, sink)
	sink.waitStored(t, 2, 5*time.Second)

	got := sink.storedSnapshot()
	if !got[0].Truncated || !bytes.Equal(got[0].Raw, crlf(header)) || got[0].Size != int64(len(big)) {
		t.Errorf("oversized: Truncated %v, Size %d, Raw %q; want true, %d, the header only",
			got[0].Truncated, got[0].Size, got[0].Raw, len(big))
	}
	if got[1].Truncated || !bytes.Equal(got[1].Raw, small) {
		t.Errorf("small: Truncated %v, Raw %q; want false and the whole message", got[1].Truncated, got[1].Raw)
	}
	// The metric is counted just after Deliver returns: wait for it.
	waitFor(t, 3*time.Second, "messages_oversized_total = 1", func() bool {
		return metricValue(t, reg, "codedesk_mailbox_messages_oversized_total") == 1
	})
	waitFor(t, 3*time.Second, "\\Seen on the oversized message", func() bool {
		flags, err := flagsOf(srv.addr, testUser, testPass, 1)
		return err == nil && hasSeen(flags)
	})
}

func TestUIDValidityChangeRescans(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	for i := range 3 {
		srv.appendMsg(t, question(fmt.Sprintf("v%d", i)))
	}
	sink := newMemSink()
	reg := prometheus.NewRegistry()
	cfg := testConfig(srv.addr)
	cfg.Metrics = NewMetrics(reg)
	r := startPoller(t, cfg, sink)
	sink.waitStored(t, 3, 5*time.Second)
	r.stop(t)
	oldUV, _ := sink.checkpoint()

	// The mailbox is rebuilt (e.g. restored from backup): new UIDVALIDITY,
	// UIDs start at 1 again, below the old checkpoint of 3.
	if err := srv.user.Delete("INBOX"); err != nil {
		t.Fatalf("Delete(INBOX) error = %v", err)
	}
	if err := srv.user.Create("INBOX", nil); err != nil {
		t.Fatalf("Create(INBOX) error = %v", err)
	}
	srv.appendMsg(t, question("v0")) // already stored: absorbed
	srv.appendMsg(t, question("new"))

	r = startPoller(t, cfg, sink)
	sink.waitStored(t, 4, 5*time.Second)
	r.waitIdle(t, 0, 5*time.Second)
	r.stop(t)

	newUV, last := sink.checkpoint()
	if newUV == oldUV || last != 2 {
		t.Fatalf("checkpoint = (%d, %d), want (new UIDVALIDITY != %d, 2)", newUV, last, oldUV)
	}
	got := sink.storedSnapshot()
	if f := got[3]; f.UIDValidity != newUV || f.UID != 2 || messageID(f.Raw) != "new@example.test" {
		t.Errorf("new message stored as (%d, %d, %s), want (%d, 2, new@example.test)", f.UIDValidity, f.UID, messageID(f.Raw), newUV)
	}
	sink.mu.Lock()
	dups := sink.duplicates
	sink.mu.Unlock()
	if dups != 1 {
		t.Errorf("duplicates = %d, want 1 (the re-appended v0)", dups)
	}
	if v := metricValue(t, reg, "codedesk_mailbox_uidvalidity_changes_total"); v != 1 {
		t.Errorf("uidvalidity_changes_total = %v, want 1", v)
	}
}

func TestPollsWithoutIdle(t *testing.T) {
	t.Parallel()
	srv := startMem(t, imap.CapSet{imap.CapIMAP4rev1: {}})
	px := startProxy(t, srv.addr, stripIdle)
	srv.appendMsg(t, question("p1"))
	sink := newMemSink()
	reg := prometheus.NewRegistry()
	cfg := testConfig(px.addr())
	cfg.PollInterval = 200 * time.Millisecond
	cfg.Metrics = NewMetrics(reg)
	r := startPoller(t, cfg, sink)
	sink.waitStored(t, 1, 5*time.Second)
	if st := r.p.Status(); !st.Connected || st.Idle {
		t.Fatalf("Status() = %+v, want connected and polling (Idle false)", st)
	}

	srv.appendMsg(t, question("p2"))
	srv.appendMsg(t, question("p3"))
	sink.waitStored(t, 3, 3*time.Second)
	if px.sawIdle.Load() {
		t.Errorf("the poller sent IDLE to a server without the IDLE capability")
	}
	if r.idles.Load() != 0 {
		t.Errorf("entered IDLE %d times, want 0", r.idles.Load())
	}
	if v := metricValue(t, reg, "codedesk_mailbox_idle"); v != 0 {
		t.Errorf("idle gauge = %v, want 0", v)
	}
}

func TestReconnectsAfterDroppedConnection(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	px := startProxy(t, srv.addr, nil)
	srv.appendMsg(t, question("r1"))
	sink := newMemSink()
	reg := prometheus.NewRegistry()
	cfg := testConfig(px.addr())
	cfg.Metrics = NewMetrics(reg)
	r := startPoller(t, cfg, sink)
	sink.waitStored(t, 1, 5*time.Second)
	r.waitIdle(t, 0, 5*time.Second)

	idles := r.idles.Load()
	px.cut()
	srv.appendMsg(t, question("r2")) // arrives while we are disconnected
	sink.waitStored(t, 2, 5*time.Second)
	if n := px.accepted.Load(); n < 2 {
		t.Errorf("proxy accepted %d connections, want >= 2 (a reconnect)", n)
	}
	if v := metricValue(t, reg, "codedesk_mailbox_reconnects_total"); v < 1 {
		t.Errorf("reconnects_total = %v, want >= 1", v)
	}
	if v := metricValue(t, reg, "codedesk_mailbox_connection_errors_total"); v < 1 {
		t.Errorf("connection_errors_total = %v, want >= 1", v)
	}
	r.waitIdle(t, idles, 5*time.Second)
	time.Sleep(50 * time.Millisecond) // imapmemserver IDLE race, see above
	srv.appendMsg(t, question("r3"))
	sink.waitStored(t, 3, 3*time.Second)
}

func TestReadTimeoutOnFrozenServer(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	px := startProxy(t, srv.addr, nil)
	srv.appendMsg(t, question("f1"))
	sink := newMemSink()
	reg := prometheus.NewRegistry()
	cfg := testConfig(px.addr())
	cfg.PollInterval = 300 * time.Millisecond
	cfg.Timeout = 300 * time.Millisecond
	cfg.Metrics = NewMetrics(reg)
	r := startPoller(t, cfg, sink)
	sink.waitStored(t, 1, 5*time.Second)
	r.waitIdle(t, 0, 5*time.Second)

	// The server stops answering but keeps the TCP connection open: only
	// a read timeout can notice. New connections hang before the greeting,
	// so the connect path must time out too.
	frozeAt := time.Now()
	px.freeze()
	waitFor(t, 5*time.Second, "a connection error from the frozen server", func() bool {
		return metricValue(t, reg, "codedesk_mailbox_connection_errors_total") >= 1
	})
	detected := time.Since(frozeAt)
	// IDLE ends after PollInterval, DONE then gets Timeout to be answered.
	if limit := cfg.PollInterval + cfg.Timeout + time.Second; detected > limit {
		t.Errorf("frozen server noticed after %v, want within %v", detected, limit)
	}
	waitFor(t, 5*time.Second, "a greeting timeout on a new connection", func() bool {
		return metricValue(t, reg, "codedesk_mailbox_connection_errors_total") >= 2
	})
	if st := r.p.Status(); st.Connected || st.LastError == "" {
		t.Errorf("Status() while frozen = %+v, want disconnected with an error", st)
	}
	t.Logf("frozen server detected after %v; last error: %s", detected, r.p.Status().LastError)

	srv.appendMsg(t, question("f2"))
	px.thaw()
	sink.waitStored(t, 2, 5*time.Second)
}

func TestCancelStopsRunPromptly(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	sink := newMemSink()
	cfg := testConfig(srv.addr)
	cfg.PollInterval = time.Minute
	cfg.Timeout = time.Minute
	r := startPoller(t, cfg, sink)
	r.waitIdle(t, 0, 5*time.Second)
	start := time.Now()
	r.stop(t)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Run() returned %v after cancel, want promptly", d)
	}
	if r.p.Status().Connected {
		t.Errorf("Status().Connected after Run returned = true, want false")
	}
}

func TestRunTwiceRefused(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	r := startPoller(t, testConfig(srv.addr), newMemSink())
	r.waitIdle(t, 0, 5*time.Second)
	if err := r.p.Run(context.Background()); err == nil {
		t.Fatalf("second concurrent Run() = nil, want an error")
	}
}

func TestLoginFailureRetriesWithBackoff(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	cfg := testConfig(srv.addr)
	cfg.Password = "wrong"
	reg := prometheus.NewRegistry()
	cfg.Metrics = NewMetrics(reg)
	r := startPoller(t, cfg, newMemSink())
	waitFor(t, 5*time.Second, "several login attempts", func() bool {
		return metricValue(t, reg, "codedesk_mailbox_reconnects_total") >= 3
	})
	st := r.p.Status()
	if !strings.Contains(st.LastError, "logging in") || strings.Contains(st.LastError, "wrong") || strings.Contains(st.LastError, testUser) {
		t.Errorf("Status().LastError = %q, want a login error without credentials", st.LastError)
	}
}

// byeServer greets every connection with text and closes it.
func byeServer(t *testing.T, text string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen() error = %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(text))
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func TestTooManyConnectionsDetected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, greeting string
		limited        bool
	}{
		{"bye greeting", "* BYE Too many connections from your IP\r\n", true},
		{"limit code", "* BYE [LIMIT] try later\r\n", true},
		{"plain close", "", false},
		{"other bye", "* BYE shutting down\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(testConfig(byeServer(t, tc.greeting)), newMemSink())
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			_, err = p.session(context.Background())
			if err == nil {
				t.Fatalf("session() = nil, want an error")
			}
			if got := isLimit(err); got != tc.limited {
				t.Errorf("isLimit(%v) = %v, want %v", err, got, tc.limited)
			}
		})
	}
	// A BYE after login, seen only in the bytes before the connection
	// closed (Dovecot's mail_max_userip_connections).
	err := &byeError{text: "Maximum number of connections from user+IP exceeded (mail_max_userip_connections=10)",
		err: errors.New("unexpected EOF")}
	if !isLimit(fmt.Errorf("selecting mailbox: %w", err)) {
		t.Errorf("isLimit(BYE Maximum number of connections) = false, want true")
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	wantMax := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range wantMax {
		w *= time.Millisecond
		d := b.next(false)
		if d < w/2 || d > w {
			t.Errorf("attempt %d: next() = %v, want in [%v, %v]", i, d, w/2, w)
		}
	}
	if d := b.next(true); d < time.Second || d > 2*time.Second {
		t.Errorf("limited next() = %v, want in [1s, 2s] (at least twice max, jittered)", d)
	}
	b.reset()
	if d := b.next(false); d > 100*time.Millisecond {
		t.Errorf("next() after reset = %v, want <= 100ms", d)
	}
	if d := (&backoff{}).next(false); d != 0 {
		t.Errorf("zero backoff next() = %v, want 0", d)
	}
}

type sizedReader struct {
	*strings.Reader
	size int64
}

func (r sizedReader) Size() int64 { return r.size }

func TestReadLimited(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		data       string
		announced  int64
		limit      int64
		keepPrefix bool
		want       string
		over       bool
	}{
		{"fits", "hello", 5, 10, false, "hello", false},
		{"exact", "hello", 5, 5, false, "hello", false},
		{"announced too big", "hello world", 11, 5, false, "", true},
		{"announced too big, prefix", "hello world", 11, 5, true, "hello", true},
		{"server understated size", "hello world", 3, 5, false, "", true},
		{"understated, prefix", "hello world", 3, 5, true, "hello", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, over, err := readLimited(sizedReader{strings.NewReader(tc.data), tc.announced}, tc.limit, tc.keepPrefix)
			if err != nil || string(got) != tc.want || over != tc.over {
				t.Errorf("readLimited() = %q, %v, %v; want %q, %v, nil", got, over, err, tc.want, tc.over)
			}
		})
	}
	// A literal cut short (the connection closed mid-FETCH reads as EOF)
	// is an error, never a shorter message.
	if got, _, err := readLimited(sizedReader{strings.NewReader("hel"), 11}, 100, false); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("readLimited(cut short) = %q, %v; want io.ErrUnexpectedEOF", got, err)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	ok := Config{Addr: "127.0.0.1:143", Username: "u"}
	if _, err := New(ok, newMemSink()); err != nil {
		t.Fatalf("New(minimal loopback config) error = %v", err)
	}
	p, _ := New(ok, newMemSink())
	if p.cfg.Mailbox != "INBOX" || p.cfg.PollInterval != DefaultPollInterval || p.cfg.Timeout != DefaultTimeout ||
		p.cfg.MaxMessageSize != DefaultMaxMessageSize || p.cfg.Security != SecurityNone {
		t.Errorf("defaults = %+v, want INBOX, 30s, 30s, 25 MiB, none", p.cfg)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"bad addr", func(c *Config) { c.Addr = "nohostport" }, "addr"},
		{"cleartext to remote host", func(c *Config) { c.Addr = "imap.example.test:143" }, "in the clear"},
		{"unknown security", func(c *Config) { c.Security = "ssl" }, "security"},
		{"no username", func(c *Config) { c.Username = "" }, "username"},
		{"tiny size limit", func(c *Config) { c.MaxMessageSize = 10 }, "max message size"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout"},
		{"backoff inverted", func(c *Config) { c.ReconnectMin = time.Minute; c.ReconnectMax = time.Second }, "backoff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			_, err := New(c, newMemSink())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New() error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	remoteTLS := ok
	remoteTLS.Addr, remoteTLS.Security = "imap.example.test:993", SecurityTLS
	if _, err := New(remoteTLS, newMemSink()); err != nil {
		t.Errorf("New(tls to remote host) error = %v, want nil", err)
	}
	if _, err := New(ok, nil); err == nil {
		t.Errorf("New(nil sink) = nil error, want one")
	}
}

func TestTLSAndStartTLS(t *testing.T) {
	t.Parallel()
	for _, security := range []string{SecurityTLS, SecurityStartTLS} {
		t.Run(security, func(t *testing.T) {
			t.Parallel()
			serverTLS, roots := selfSigned(t)
			srv := startMemOpts(t, memOpts{tls: serverTLS, implicit: security == SecurityTLS})
			srv.appendMsg(t, question("tls1"))
			sink := newMemSink()
			cfg := testConfig(srv.addr)
			cfg.Security = security
			cfg.TLSConfig = &tls.Config{RootCAs: roots}
			startPoller(t, cfg, sink)
			sink.waitStored(t, 1, 5*time.Second)

			// An untrusted certificate is refused, not ignored.
			bad := newMemSink()
			cfg.TLSConfig = nil
			r := startPoller(t, cfg, bad)
			waitFor(t, 5*time.Second, "a certificate error", func() bool {
				return strings.Contains(r.p.Status().LastError, "certificate")
			})
			if n := bad.storedCount(); n != 0 {
				t.Errorf("stored %d messages over an untrusted connection, want 0", n)
			}
		})
	}
}

func TestPlaintextLoginRefusedWithoutStartTLS(t *testing.T) {
	t.Parallel()
	serverTLS, _ := selfSigned(t)
	srv := startMemOpts(t, memOpts{tls: serverTLS})
	cfg := testConfig(srv.addr) // Security none against a server that requires TLS
	r := startPoller(t, cfg, newMemSink())
	waitFor(t, 5*time.Second, "a login error", func() bool {
		return strings.Contains(r.p.Status().LastError, "logging in")
	})
}

// understateSizes makes the server claim every message has 100 bytes.
func understateSizes(line []byte) []byte {
	return rfc822Size.ReplaceAll(line, []byte("RFC822.SIZE 100"))
}

var rfc822Size = regexp.MustCompile(`RFC822\.SIZE \d+`)

func TestServerUnderstatingSize(t *testing.T) {
	t.Parallel()
	header := "From: Coder <coder@example.test>\nSubject: big\nMessage-ID: <%s@example.test>\n\n"
	for _, tc := range []struct {
		name    string
		bodyLen int
	}{
		// Over MaxMessageSize but within the read cap: the rest of the
		// body is drained and the header fetched on the same connection.
		{"slightly", 10 << 10},
		// Past the read cap: the connection is dropped rather than read
		// on, and after reconnecting only the header is fetched.
		{"grossly", 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startMem(t, nil)
			px := startProxy(t, srv.addr, understateSizes)
			h := crlf(fmt.Sprintf(header, tc.name))
			srv.appendMsg(t, append(bytes.Clone(h), bytes.Repeat([]byte("0123456789abcdef\r\n"), tc.bodyLen/18)...))
			srv.appendMsg(t, question("after"))
			sink := newMemSink()
			cfg := testConfig(px.addr())
			cfg.MaxMessageSize = 8 << 10
			cfg.readCapSlack = 16 << 10
			startPoller(t, cfg, sink)
			sink.waitStored(t, 2, 5*time.Second)
			got := sink.storedSnapshot()
			if !got[0].Truncated || !bytes.Equal(got[0].Raw, h) || got[0].Size != 100 {
				t.Errorf("stored Truncated %v, Size %d, Raw %q; want true, the claimed 100, the header", got[0].Truncated, got[0].Size, got[0].Raw)
			}
			if got[1].Truncated || messageID(got[1].Raw) != "after@example.test" {
				t.Errorf("next message Truncated %v, id %q; want whole after@example.test", got[1].Truncated, messageID(got[1].Raw))
			}
		})
	}
}

func TestReadCap(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer a.Close()
	dc := newDeadlineConn(b, time.Second, 10)
	dc.arm(time.Second)
	go a.Write([]byte("0123456789abcdef"))
	buf := make([]byte, 64)
	n, err := dc.Read(buf)
	if !errors.Is(err, errReadCap) || n != 16 {
		t.Fatalf("Read() = %d, %v; want 16, errReadCap", n, err)
	}
	if _, err := dc.Read(buf); !errors.Is(err, errReadCap) {
		t.Fatalf("Read() after the cap = %v, want errReadCap again", err)
	}
}
