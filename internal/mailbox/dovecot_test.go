package mailbox

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dovecottest"
	"github.com/prometheus/client_golang/prometheus"
)

func dovecotConfig(s *dovecottest.Server) Config {
	cfg := testConfig(s.Addr())
	cfg.Username = dovecottest.DefaultUser
	cfg.Password = dovecottest.DefaultPassword
	return cfg
}

func TestDovecotIdlePickup(t *testing.T) {
	t.Parallel()
	s := dovecottest.Start(t, nil)
	s.Append(t, dovecottest.DefaultUser, "INBOX", question("dv0"))
	sink := newMemSink()
	cfg := dovecotConfig(s)
	cfg.PollInterval = 30 * time.Second // only an IDLE push explains a fast pick-up
	r := startPoller(t, cfg, sink)
	sink.waitStored(t, 1, 10*time.Second)

	var lags []time.Duration
	r.waitIdle(t, 0, 10*time.Second)
	for i := 1; i <= 5; i++ {
		idles := r.idles.Load() // the poller is in IDLE now
		start := time.Now()
		s.Append(t, dovecottest.DefaultUser, "INBOX", question(fmt.Sprintf("dv%d", i)))
		sink.waitStored(t, i+1, 10*time.Second)
		lags = append(lags, time.Since(start))
		// Let the poller get back into IDLE before the next arrival.
		r.waitIdle(t, idles, 10*time.Second)
	}
	slices.Sort(lags)
	t.Logf("Dovecot arrival -> stored with IDLE over %d messages: min %v, median %v, max %v",
		len(lags), lags[0], lags[len(lags)/2], lags[len(lags)-1])
	if lags[len(lags)-1] > 3*time.Second {
		t.Errorf("slowest pick-up %v, want well under PollInterval %v (IDLE push)", lags[len(lags)-1], cfg.PollInterval)
	}
	for uid := uint32(1); uid <= 6; uid++ {
		flags, err := flagsOf(s.Addr(), dovecottest.DefaultUser, dovecottest.DefaultPassword, uid)
		if err != nil || !hasSeen(flags) {
			t.Errorf("UID %d flags = %v, %v; want \\Seen", uid, flags, err)
		}
	}
}

func TestDovecotRestartMidIdleLosesNothing(t *testing.T) {
	t.Parallel()
	s := dovecottest.Start(t, nil)
	const before, during = 5, 40
	for i := range before {
		s.Append(t, dovecottest.DefaultUser, "INBOX", question(fmt.Sprintf("pre%d", i)))
	}
	sink := newMemSink()
	reg := prometheus.NewRegistry()
	cfg := dovecotConfig(s)
	cfg.Metrics = NewMetrics(reg)
	r := startPoller(t, cfg, sink)
	sink.waitStored(t, before, 10*time.Second)
	r.waitIdle(t, 0, 10*time.Second)

	// An MTA keeps delivering while Dovecot restarts twice under the
	// poller, once while it waits in IDLE. An append that fails because
	// Dovecot is down is retried, as an MTA would.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	appendErrs := make(chan error, 1)
	go func() {
		defer wg.Done()
		for i := 0; i < during; i++ {
			raw := question(fmt.Sprintf("mid%d", i))
			for {
				if _, err := s.AppendErr(dovecottest.DefaultUser, "INBOX", raw); err == nil {
					break
				}
				select {
				case <-ctx.Done():
					appendErrs <- fmt.Errorf("appending mid%d: %w", i, ctx.Err())
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	s.Restart(t) // mid-IDLE, with appends in flight
	time.Sleep(300 * time.Millisecond)
	s.Restart(t)
	wg.Wait()
	select {
	case err := <-appendErrs:
		t.Fatal(err)
	default:
	}

	// Every distinct message is stored once. (An APPEND whose reply was
	// lost in a restart may have been stored twice by Dovecot; the sink's
	// Message-ID dedupe absorbs that copy.)
	sink.waitStored(t, before+during, 20*time.Second)
	time.Sleep(200 * time.Millisecond) // let any stray extra delivery show up
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.stored) != before+during {
		t.Errorf("stored %d messages, want %d", len(sink.stored), before+during)
	}
	seen := map[string]int{}
	for _, f := range sink.stored {
		seen[messageID(f.Raw)]++
	}
	for i := range before + during {
		id := fmt.Sprintf("pre%d@example.test", i)
		if i >= before {
			id = fmt.Sprintf("mid%d@example.test", i-before)
		}
		if seen[id] != 1 {
			t.Errorf("message %s stored %d times, want exactly 1", id, seen[id])
		}
	}
	for k, n := range sink.calls {
		if n != 1 {
			t.Errorf("Deliver called %d times for UID %d, want 1", n, k.uid)
		}
	}
	if v := metricValue(t, reg, "codedesk_mailbox_reconnects_total"); v < 2 {
		t.Errorf("reconnects_total = %v, want >= 2 (two restarts)", v)
	}
	t.Logf("restart test: %d stored, %d Deliver calls, %d duplicates absorbed, %v reconnects",
		len(sink.stored), len(sink.calls), sink.duplicates, metricValue(t, reg, "codedesk_mailbox_reconnects_total"))
}

func TestDovecotTooManyConnections(t *testing.T) {
	t.Parallel()
	s := dovecottest.Start(t, &dovecottest.Options{ExtraConfig: "mail_max_userip_connections = 1"})
	// Another client holds the only allowed connection.
	holder := s.Dial(t, dovecottest.DefaultUser)
	if _, err := holder.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("Select() error = %v", err)
	}
	p, err := New(dovecotConfig(s), newMemSink())
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	_, err = p.session(context.Background())
	if err == nil {
		t.Fatalf("session() = nil error with the connection limit reached, want an error")
	}
	if !isLimit(err) {
		t.Errorf("isLimit(%v) = false, want true", err)
	}
	t.Logf("Dovecot over its connection limit: %v", err)
}
