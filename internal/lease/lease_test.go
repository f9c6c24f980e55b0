package lease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

func TestStoreLeaseRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now()
		ttl := 5 * time.Second
		tokA, ok, err := store.AcquireLease(ctx, db, "mb", "a", now, ttl)
		if err != nil || !ok || tokA != 1 {
			t.Fatalf("first acquire = %d, %v, %v; want 1, true, nil", tokA, ok, err)
		}
		if _, ok, err := store.AcquireLease(ctx, db, "mb", "b", now.Add(time.Second), ttl); err != nil || ok {
			t.Fatalf("b acquired a held lease: ok=%v err=%v", ok, err)
		}
		if err := store.RenewLease(ctx, db, "mb", "a", tokA, now.Add(2*time.Second), ttl); err != nil {
			t.Fatalf("renew: %v", err)
		}
		// Expired (renewed at +2s for 5s → +7s): b takes it over with a new token.
		tokB, ok, err := store.AcquireLease(ctx, db, "mb", "b", now.Add(8*time.Second), ttl)
		if err != nil || !ok || tokB <= tokA {
			t.Fatalf("take-over = %d, %v, %v; want a token above %d", tokB, ok, err, tokA)
		}
		if err := store.RenewLease(ctx, db, "mb", "a", tokA, now.Add(8*time.Second), ttl); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("stale renew = %v, want ErrLeaseLost", err)
		}
		if err := store.CheckLease(ctx, db, "mb", "a", tokA, now.Add(8*time.Second)); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("stale check = %v, want ErrLeaseLost", err)
		}
		if err := store.CheckLease(ctx, db, "mb", "b", tokB, now.Add(9*time.Second)); err != nil {
			t.Fatalf("holder check: %v", err)
		}
		// A holder that renews too late has lost it even if nobody took it.
		if err := store.RenewLease(ctx, db, "mb", "b", tokB, now.Add(20*time.Second), ttl); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("late renew = %v, want ErrLeaseLost", err)
		}
		// Release lets another take it at once.
		tokB2, ok, _ := store.AcquireLease(ctx, db, "mb", "b", now.Add(21*time.Second), ttl)
		if !ok {
			t.Fatal("b could not re-acquire its expired lease")
		}
		if err := store.ReleaseLease(ctx, db, "mb", "b", tokB2, now.Add(22*time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := store.AcquireLease(ctx, db, "mb", "c", now.Add(22*time.Second), ttl); !ok {
			t.Fatal("c could not take a released lease")
		}
		l, err := store.GetLease(ctx, db, "mb")
		if err != nil || l.Holder != "c" {
			t.Fatalf("lease = %+v, %v; want holder c", l, err)
		}
		// Other names are independent.
		if _, ok, _ := store.AcquireLease(ctx, db, "other", "a", now.Add(22*time.Second), ttl); !ok {
			t.Fatal("a second lease name was not free")
		}
	})
}

// workers counts how many nodes run the work at once.
type workers struct {
	mu      sync.Mutex
	running map[string]bool
	maxSeen int
	starts  atomic.Int32
}

func (w *workers) work(name string) func(ctx context.Context, h *Held) error {
	return func(ctx context.Context, h *Held) error {
		w.mu.Lock()
		w.running[name] = true
		w.maxSeen = max(w.maxSeen, len(w.running))
		w.mu.Unlock()
		w.starts.Add(1)
		<-ctx.Done()
		w.mu.Lock()
		delete(w.running, name)
		w.mu.Unlock()
		return nil
	}
}

func (w *workers) holder() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for n := range w.running {
		return n
	}
	return ""
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
	return 0
}

func TestOneHolderAndHandOver(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		w := &workers{running: map[string]bool{}}
		cancels := map[string]context.CancelFunc{}
		var wg sync.WaitGroup
		for _, n := range []string{"n1", "n2", "n3"} {
			ctx, cancel := context.WithCancel(context.Background())
			cancels[n] = cancel
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = Run(ctx, db, Config{Name: "mailbox:x", Holder: n, TTL: 900 * time.Millisecond, RetryInterval: 100 * time.Millisecond}, w.work(n))
			}()
		}
		t.Cleanup(func() {
			for _, c := range cancels {
				c()
			}
			wg.Wait()
		})
		waitFor(t, 5*time.Second, "a holder", func() bool { return w.holder() != "" })
		// Several renewals later there is still exactly one.
		time.Sleep(2 * time.Second)
		first := w.holder()
		if first == "" {
			t.Fatal("the holder stopped while nobody competed differently")
		}
		// A clean stop releases the lease: another node takes over well
		// before the TTL would have run out.
		cancels[first]()
		took := waitFor(t, 5*time.Second, "a new holder", func() bool { h := w.holder(); return h != "" && h != first })
		if took > 800*time.Millisecond {
			t.Errorf("hand-over after a clean stop took %v, want < 800ms (released, not expired)", took)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.maxSeen != 1 {
			t.Fatalf("%d nodes worked at once, want 1", w.maxSeen)
		}
	})
}

func TestTakeOverFromDeadHolder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ttl := time.Second
		// A node that took the lease and then died: it never renews.
		if _, ok, err := store.AcquireLease(ctx, db, "mailbox:x", "dead", time.Now(), ttl); !ok || err != nil {
			t.Fatalf("acquire: %v %v", ok, err)
		}
		died := time.Now()
		w := &workers{running: map[string]bool{}}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = Run(ctx, db, Config{Name: "mailbox:x", Holder: "live", TTL: ttl, RetryInterval: 100 * time.Millisecond}, w.work("live"))
		}()
		waitFor(t, 5*time.Second, "take-over", func() bool { return w.holder() == "live" })
		if since := time.Since(died); since < ttl-50*time.Millisecond || since > ttl+time.Second {
			t.Errorf("took over %v after the holder died; want about the ttl (%v)", since, ttl)
		}
		cancel()
		<-done
	})
}

func TestStopsWorkWhenLeaseLost(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ttl := 900 * time.Millisecond
		w := &workers{running: map[string]bool{}}
		var changes []bool
		var mu sync.Mutex
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = Run(ctx, db, Config{Name: "mailbox:x", Holder: "a", TTL: ttl, RetryInterval: 5 * time.Second,
				OnChange: func(h bool) { mu.Lock(); changes = append(changes, h); mu.Unlock() }}, w.work("a"))
		}()
		waitFor(t, 5*time.Second, "holder a", func() bool { return w.holder() == "a" })
		// Another node took the row over (as after a partition: a's renewals
		// could not reach the database and its lease expired there).
		if _, err := db.Exec(ctx, "UPDATE leases SET holder = 'b', token = token + 1 WHERE name = 'mailbox:x'"); err != nil {
			t.Fatal(err)
		}
		took := waitFor(t, 3*time.Second, "a to stop", func() bool { return w.holder() == "" })
		if took > ttl {
			t.Errorf("a stopped %v after losing the lease; want within one renewal (%v)", took, ttl/3)
		}
		mu.Lock()
		if len(changes) != 2 || !changes[0] || changes[1] {
			t.Errorf("OnChange calls = %v, want [true false]", changes)
		}
		mu.Unlock()
		cancel()
		<-done
	})
}

func TestHeldCheckFencesStaleHolder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		got := make(chan *Held, 1)
		go func() {
			_ = Run(ctx, db, Config{Name: "mailbox:x", Holder: "a", TTL: 900 * time.Millisecond}, func(ctx context.Context, h *Held) error {
				got <- h
				<-ctx.Done()
				return nil
			})
		}()
		h := <-got
		if err := db.WithTx(ctx, func(tx *store.Tx) error { return h.Check(ctx, tx) }); err != nil {
			t.Fatalf("check while held: %v", err)
		}
		if _, err := db.Exec(ctx, "UPDATE leases SET token = token + 1 WHERE name = 'mailbox:x'"); err != nil {
			t.Fatal(err)
		}
		err := db.WithTx(ctx, func(tx *store.Tx) error { return h.Check(ctx, tx) })
		if !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("check after take-over = %v, want ErrLeaseLost", err)
		}
	})
}

// TestStepDown: a holder whose work cannot be done from its node steps
// down; another node takes the lease at once, and the first stays out for
// the cooldown.
func TestStepDown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cfg := func(holder string) Config {
			return Config{Name: "mailbox:x", Holder: holder, TTL: 3 * time.Second, RetryInterval: 100 * time.Millisecond,
				StepDownCooldown: 2 * time.Second}
		}
		w := &workers{running: map[string]bool{}}
		var aTries atomic.Int32
		done := make(chan struct{}, 2)
		// a is first and cannot do the work.
		go func() {
			_ = Run(ctx, db, cfg("a"), func(ctx context.Context, h *Held) error {
				aTries.Add(1)
				time.Sleep(100 * time.Millisecond)
				return fmt.Errorf("no IMAP from here: %w", ErrStepDown)
			})
			done <- struct{}{}
		}()
		waitFor(t, 5*time.Second, "a's first try", func() bool { return aTries.Load() == 1 })
		go func() {
			_ = Run(ctx, db, cfg("b"), w.work("b"))
			done <- struct{}{}
		}()
		took := waitFor(t, 5*time.Second, "b to take over", func() bool { return w.holder() == "b" })
		if took > time.Second {
			t.Errorf("b took over %v after a stepped down; want well under the 3 s ttl (a released the lease)", took)
		}
		time.Sleep(2500 * time.Millisecond) // past a's cooldown: a competes again but b holds the lease
		if got := aTries.Load(); got != 1 {
			t.Errorf("a worked %d times; want 1 (b holds the lease since)", got)
		}
		cancel()
		<-done
		<-done
	})
}
