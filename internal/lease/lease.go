// Package lease runs a piece of work on exactly one node of several that
// share a database: the mailbox poller, of which there must be one per
// mailbox however many codedesk nodes run.
//
// The lease is a row (store.AcquireLease): its holder renews it every TTL/3
// and gives it up on a clean stop; another node takes it once it has
// expired, so a node that dies or is cut off from the database is replaced
// within TTL plus one retry interval. A holder that cannot renew in time
// stops its work before its lease can expire, so two nodes never work the
// same lease at once as long as their clocks agree to well within the TTL.
// Work done on the lease's behalf can also check it inside its own
// transaction (Held.Check), which fences off a holder that was paused (GC,
// SIGSTOP, a stalled VM) past its expiry.
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/codedesk/codedesk/internal/store"
)

// Config names the lease and its holder.
type Config struct {
	// Name identifies the work, e.g. "mailbox:desk@example.org/INBOX".
	Name string
	// Holder identifies this node (its --node-id).
	Holder string
	// TTL is how long a lease lasts without renewal (default 6s). A node
	// that dies is replaced after at most TTL + RetryInterval.
	TTL time.Duration
	// RetryInterval is how often a standby node tries to take the lease
	// (default 1s).
	RetryInterval time.Duration
	// StepDownCooldown is how long a node that stepped down (its work
	// returned ErrStepDown) waits before it competes again, so that another
	// node gets the lease (default 2×TTL).
	StepDownCooldown time.Duration
	Logger           *slog.Logger
	// OnChange, when set, is called with true when this node starts holding
	// the lease and false when it stops (metrics, health).
	OnChange func(held bool)
	// now is the clock (tests).
	now func() time.Time
}

func (c Config) withDefaults() (Config, error) {
	if c.Name == "" || c.Holder == "" {
		return c, errors.New("lease: name and holder are required")
	}
	if c.TTL <= 0 {
		c.TTL = 6 * time.Second
	}
	if c.TTL < 300*time.Millisecond {
		return c, fmt.Errorf("lease: ttl %v is too short (at least 300ms)", c.TTL)
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = time.Second
	}
	if c.StepDownCooldown <= 0 {
		c.StepDownCooldown = 2 * c.TTL
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// ErrStepDown, returned (wrapped) by the work, makes this node give the
// lease up and stay out of the competition for StepDownCooldown: the work
// cannot be done from here (say the mailbox's server is unreachable from
// this node) and another node should try.
var ErrStepDown = errors.New("stepping down")

// Held is the lease while this node holds it, as passed to the work.
type Held struct {
	db    *store.DB
	cfg   *Config
	Token int64 // fencing token: grows with every take-over
}

// Check returns store.ErrLeaseLost (wrapped) unless this node still holds
// the lease. Run it inside the transaction that acts on the lease's behalf.
func (h *Held) Check(ctx context.Context, q store.Querier) error {
	return store.CheckLease(ctx, q, h.cfg.Name, h.cfg.Holder, h.Token, h.cfg.now())
}

// Run competes for the lease until ctx is cancelled. While it holds the
// lease it runs work with a context that is cancelled as soon as the lease
// cannot be renewed in time, or ctx ends; it then waits for work to return.
// When ctx ends it releases a held lease, so that another node takes over at
// once. Work that returns by itself is started again while the lease is held
// (after RetryInterval). Run returns nil when ctx is cancelled.
func Run(ctx context.Context, db *store.DB, cfg Config, work func(ctx context.Context, h *Held) error) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	log := cfg.Logger.With("lease", cfg.Name, "node_id", cfg.Holder)
	for {
		token, ok, err := store.AcquireLease(ctx, db, cfg.Name, cfg.Holder, cfg.now(), cfg.TTL)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Warn("could not try the lease", "error", err)
		case ok:
			log.Info("lease acquired: this node does the work", "token", token)
			stepped := lead(ctx, db, &cfg, &Held{db: db, cfg: &cfg, Token: token}, work, log)
			if ctx.Err() != nil {
				return nil
			}
			if stepped && !sleep(ctx, cfg.StepDownCooldown) {
				return nil
			}
		}
		if !sleep(ctx, cfg.RetryInterval) {
			return nil
		}
	}
}

// lead runs work while the lease is renewed; it returns when the lease is
// lost, or when ctx ends or the work steps down (after releasing the lease;
// stepped reports the latter).
func lead(ctx context.Context, db *store.DB, cfg *Config, h *Held, work func(context.Context, *Held) error, log *slog.Logger) (stepped bool) {
	if cfg.OnChange != nil {
		cfg.OnChange(true)
		defer cfg.OnChange(false)
	}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stepDown := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for wctx.Err() == nil {
			err := work(wctx, h)
			if errors.Is(err, ErrStepDown) && wctx.Err() == nil {
				stepDown <- err
				return
			}
			if err != nil && wctx.Err() == nil {
				log.Warn("work under the lease ended", "error", err)
			}
			sleep(wctx, cfg.RetryInterval)
		}
	}()
	release := func(reason string) {
		// The context may be gone: use a short detached one.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := store.ReleaseLease(rctx, db, cfg.Name, cfg.Holder, h.Token, cfg.now()); err != nil {
			log.Warn("could not release the lease; another node takes over when it expires", "error", err)
		} else {
			log.Info("lease released", "reason", reason)
		}
	}
	defer wg.Wait()
	defer stop()

	// validUntil is when this node must stop working unless a renewal
	// succeeds: the lease's expiry minus a safety margin for clock skew
	// and the time a renewal takes to commit.
	margin := cfg.TTL / 6
	validUntil := cfg.now().Add(cfg.TTL - margin)
	tick := time.NewTicker(cfg.TTL / 3)
	defer tick.Stop()
	for {
		wait := time.Until(validUntil)
		timer := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			stop()
			wg.Wait()
			release("stopping") // hand over at once
			return false
		case err := <-stepDown:
			timer.Stop()
			stop()
			wg.Wait()
			log.Warn("stepping down: another node should do the work", "error", err, "cooldown", cfg.StepDownCooldown)
			release("stepped down")
			return true
		case <-timer.C:
			log.Warn("lease not renewed in time: stopping the work", "token", h.Token)
			return false
		case <-tick.C:
			timer.Stop()
			start := cfg.now()
			rctx, cancel := context.WithDeadline(ctx, validUntil)
			err := store.RenewLease(rctx, db, cfg.Name, cfg.Holder, h.Token, start, cfg.TTL)
			cancel()
			switch {
			case err == nil:
				validUntil = start.Add(cfg.TTL - margin)
			case errors.Is(err, store.ErrLeaseLost):
				log.Warn("lease lost to another node: stopping the work", "token", h.Token)
				return false
			case ctx.Err() != nil:
				// Handled by the next loop turn (release).
			default:
				log.Warn("could not renew the lease", "error", err, "valid_for", time.Until(validUntil).Round(time.Millisecond))
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
