package mailbox

import (
	"context"
	"errors"
	"fmt"
	"github.com/codedesk/codedesk/internal/mailauth"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// Fetched is one message read from the mailbox.
type Fetched struct {
	Mailbox      string
	UIDValidity  uint32
	UID          uint32
	Size         int64     // RFC822.SIZE as the server reported it
	InternalDate time.Time // arrival time on the server (1 s resolution)
	Raw          []byte    // the whole message, or only its header when Truncated
	Truncated    bool      // larger than Config.MaxMessageSize: header only
}

// Sink durably stores fetched messages. The poller calls it from one
// goroutine at a time.
type Sink interface {
	// Checkpoint returns the stored position for the mailbox: every message
	// up to lastUID under uidValidity is stored. ok is false before the
	// first message.
	Checkpoint(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, ok bool, err error)
	// Deliver stores a batch of messages (in ascending UID order), enqueues
	// their ingest jobs and advances the checkpoint to the last UID (and its
	// UIDVALIDITY) in one transaction: all of the batch or none of it. It
	// returns nil only after that transaction committed. A message already
	// stored, by (mailbox, UIDVALIDITY, UID) or by Message-ID, is not an
	// error: the checkpoint still advances.
	Deliver(ctx context.Context, batch []*Fetched) error
}

// Status is a snapshot of the poller for health checks.
type Status struct {
	// Connected is true while logged in with the mailbox selected.
	Connected bool
	// Idle is true when the server has IDLE (false: the poller polls).
	Idle bool
	// UIDValidity of the mailbox in the current or last session.
	UIDValidity uint32
	// LastSuccess is when the last search-and-fetch cycle completed.
	LastSuccess time.Time
	// LastError is the last connection or delivery error ("" if none
	// since the last success); LastErrorAt is when it happened.
	LastError   string
	LastErrorAt time.Time
	// Pending is how many messages the last search found above the
	// checkpoint that are not yet delivered.
	Pending int
	// Delivered counts messages delivered since the poller started.
	Delivered uint64
	// DeliveryFailures counts fetch cycles in a row that the Sink failed
	// (0 after a good cycle). A growing number means a message is stuck:
	// the poller never skips it, so the Sink must store, not reject, mail
	// it cannot understand.
	DeliveryFailures int
}

// Poller reads one mailbox and hands every new message to a Sink. Create
// it with New, start it with Run, and read its health with Status.
type Poller struct {
	cfg  Config
	sink Sink
	log  *slog.Logger
	m    *mailboxMetrics

	running atomic.Bool

	mu       sync.Mutex
	status   Status
	warnedUV uint32 // UIDVALIDITY whose change was already logged
	// headerOnly holds (UIDVALIDITY, UID) of messages whose body overran
	// the read cap although RFC822.SIZE was under the limit; they are
	// fetched as header only.
	headerOnly map[[2]uint32]bool

	// onIdle, when set (by tests), is called each time IDLE has started.
	onIdle func()
}

// New checks cfg, fills in defaults and returns a poller for it.
func New(cfg Config, sink Sink) (*Poller, error) {
	if sink == nil {
		return nil, errors.New("mailbox: nil sink")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Poller{
		cfg:  cfg,
		sink: sink,
		log:  cfg.Logger.With("mailbox", cfg.Mailbox),
		m:    cfg.Metrics.forMailbox(cfg.Mailbox),
	}, nil
}

// Run is New followed by Poller.Run.
func Run(ctx context.Context, cfg Config, sink Sink) error {
	p, err := New(cfg, sink)
	if err != nil {
		return err
	}
	return p.Run(ctx)
}

// Status returns a snapshot of the poller's state; it is cheap and safe to
// call from any goroutine.
func (p *Poller) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// Run reads the mailbox until ctx is cancelled, then returns nil. It keeps
// one IMAP connection: on any failure it closes it and reconnects after an
// exponential backoff with jitter (ReconnectMin doubling to ReconnectMax,
// reset after a session that completed a fetch cycle; longer when the
// server says it has too many connections). A poller runs once at a time.
func (p *Poller) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("mailbox: poller already running")
	}
	defer p.running.Store(false)

	b := backoff{min: p.cfg.ReconnectMin, max: p.cfg.ReconnectMax}
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			return nil
		}
		if attempt > 0 {
			p.m.reconnects.Inc()
		}
		good, err := p.session(ctx)
		p.setConnected(false, false, 0)
		if ctx.Err() != nil {
			p.log.Info("mailbox poller stopped")
			return nil
		}
		if good {
			b.reset()
		}
		limited := isLimit(err)
		delay := b.next(limited)
		p.m.connectionErrors.Inc()
		p.recordError(err)
		p.log.Warn("imap session ended", "error", err, "too_many_connections", limited,
			"retry_in", delay.Round(time.Millisecond))
		if !sleep(ctx, delay) {
			return nil
		}
	}
}

// sinkError marks a failure of the Sink, which is retried on the same
// connection.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

// byeError is a session failure after the server said BYE.
type byeError struct {
	text string
	err  error
}

func (e *byeError) Error() string {
	return fmt.Sprintf("server said BYE %q: %v", e.text, e.err)
}
func (e *byeError) Unwrap() error { return e.err }

// isLimit reports whether err says the server has too many connections
// from us (a NO [LIMIT] reply, or a BYE about connections, as Dovecot's
// mail_max_userip_connections sends).
func isLimit(err error) bool {
	var ie *imap.Error
	if errors.As(err, &ie) {
		if ie.Code == imap.ResponseCodeLimit {
			return true
		}
		if ie.Type == imap.StatusResponseTypeBye && mentionsConnections(ie.Text) {
			return true
		}
	}
	var be *byeError
	return errors.As(err, &be) && (strings.Contains(be.text, "[LIMIT]") || mentionsConnections(be.text))
}

func mentionsConnections(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "connections") || strings.Contains(s, "too many")
}

// session runs one IMAP connection: connect, log in, select, then
// alternate fetch cycles with waits (IDLE or poll) until an error or ctx
// ends it. good reports whether at least one fetch cycle completed.
func (p *Poller) session(ctx context.Context) (good bool, err error) {
	wake := make(chan struct{}, 1)
	opts := &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			// Runs on the client's reader goroutine: only signal.
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	c, dc, err := dial(ctx, &p.cfg, opts)
	if err != nil {
		return false, err
	}
	defer c.Close()
	// imapclient takes no context: closing the connection unblocks every
	// command in flight.
	stop := context.AfterFunc(ctx, func() { dc.Close() })
	defer stop()
	defer func() {
		if err != nil && dc.capExceeded() {
			err = fmt.Errorf("%w: %w", errReadCap, err)
		}
		if err != nil {
			if bye := dc.lastBye(); bye != "" {
				err = &byeError{text: truncate(bye, 200), err: err}
			}
		}
	}()

	dc.arm(p.cfg.Timeout)
	if err := c.WaitGreeting(); err != nil {
		return false, fmt.Errorf("waiting for the greeting of %s: %w", p.cfg.Addr, err)
	}
	if err := p.login(ctx, c); err != nil {
		return false, err
	}
	sel, err := c.Select(p.cfg.Mailbox, nil).Wait()
	if err != nil {
		return false, fmt.Errorf("selecting mailbox: %w", err)
	}
	idle := c.Caps().Has(imap.CapIdle)
	dc.disarm()
	p.setConnected(true, idle, sel.UIDValidity)
	p.log.Info("imap session started", "addr", p.cfg.Addr, "idle", idle,
		"uid_validity", sel.UIDValidity, "messages", sel.NumMessages)

	retry := backoff{min: p.cfg.ReconnectMin, max: p.cfg.ReconnectMax}
	for {
		err := p.sync(ctx, c, dc, sel.UIDValidity)
		if ctx.Err() != nil {
			return good, ctx.Err()
		}
		var se *sinkError
		if errors.As(err, &se) {
			// The database, not the server, failed: keep the connection
			// and try the same message again after a pause.
			delay := retry.next(false)
			p.recordError(err)
			p.mu.Lock()
			p.status.DeliveryFailures++
			failures := p.status.DeliveryFailures
			p.mu.Unlock()
			p.log.Warn("storing fetched mail failed", "error", err, "consecutive_failures", failures,
				"retry_in", delay.Round(time.Millisecond))
			if !sleep(ctx, delay) {
				return good, ctx.Err()
			}
			continue
		}
		if err != nil {
			return good, err
		}
		good = true
		retry.reset()
		if idle {
			err = p.idleWait(ctx, c, dc, wake)
		} else {
			err = p.pollWait(ctx, c, wake)
		}
		if err != nil {
			return good, err
		}
	}
}

func (p *Poller) login(ctx context.Context, c *imapclient.Client) error { return login(ctx, c, &p.cfg) }

// login authenticates: AUTHENTICATE XOAUTH2 when the config has a token
// source, else LOGIN, or AUTHENTICATE PLAIN when the server disables LOGIN.
func login(ctx context.Context, c *imapclient.Client, cfg *Config) error {
	caps := c.Caps()
	if caps == nil {
		return errors.New("reading capabilities: no answer")
	}
	if cfg.TokenSource != nil {
		token, err := cfg.TokenSource(ctx)
		if err != nil {
			return fmt.Errorf("logging in (XOAUTH2): %w", err)
		}
		if err := c.Authenticate(mailauth.NewXOAuth2Client(cfg.Username, token)); err != nil {
			return fmt.Errorf("logging in (AUTHENTICATE XOAUTH2): %w", err)
		}
		return nil
	}
	if caps.Has(imap.CapLoginDisabled) {
		if !caps.Has(imap.AuthCap(sasl.Plain)) {
			return errors.New("logging in: the server disables LOGIN and offers no AUTH=PLAIN (use TLS)")
		}
		if err := c.Authenticate(sasl.NewPlainClient("", cfg.Username, cfg.Password)); err != nil {
			return fmt.Errorf("logging in (AUTHENTICATE PLAIN): %w", err)
		}
		return nil
	}
	if err := c.Login(cfg.Username, cfg.Password).Wait(); err != nil {
		return fmt.Errorf("logging in: %w", err)
	}
	return nil
}

// idleWait waits in IDLE until the server pushes a new message count, the
// bounded re-IDLE interval (PollInterval) passes, the connection drops or
// ctx is cancelled, then ends IDLE so the caller can search again.
func (p *Poller) idleWait(ctx context.Context, c *imapclient.Client, dc *deadlineConn, wake <-chan struct{}) error {
	select {
	case <-wake: // news arrived during the last cycle
		return nil
	default:
	}
	dc.arm(p.cfg.Timeout)
	cmd, err := c.Idle()
	if err != nil {
		return fmt.Errorf("starting IDLE: %w", err)
	}
	dc.arm(p.cfg.PollInterval + p.cfg.Timeout)
	if p.onIdle != nil {
		p.onIdle()
	}
	t := time.NewTimer(p.cfg.PollInterval)
	defer t.Stop()
	select {
	case <-wake:
	case <-t.C:
	case <-ctx.Done():
	case <-c.Closed():
	}
	dc.arm(p.cfg.Timeout)
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("stopping IDLE: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("IDLE: %w", err)
	}
	dc.disarm()
	return nil
}

// pollWait waits PollInterval (or less, when a command brought news).
func (p *Poller) pollWait(ctx context.Context, c *imapclient.Client, wake <-chan struct{}) error {
	t := time.NewTimer(p.cfg.PollInterval)
	defer t.Stop()
	select {
	case <-t.C:
	case <-wake:
	case <-ctx.Done():
	case <-c.Closed():
		return errors.New("connection closed by the server")
	}
	return nil
}

func (p *Poller) setConnected(connected, idle bool, uidValidity uint32) {
	p.mu.Lock()
	p.status.Connected = connected
	if connected {
		p.status.Idle = idle
		p.status.UIDValidity = uidValidity
	}
	p.mu.Unlock()
	p.m.connected.Set(b2f(connected))
	if connected {
		p.m.idle.Set(b2f(idle))
	}
}

func (p *Poller) recordError(err error) {
	p.mu.Lock()
	p.status.LastError = err.Error()
	p.status.LastErrorAt = time.Now()
	p.mu.Unlock()
}

func (p *Poller) recordSuccess() {
	now := time.Now()
	p.mu.Lock()
	p.status.LastSuccess = now
	p.status.LastError = ""
	p.status.DeliveryFailures = 0
	p.mu.Unlock()
	p.m.lastSuccess.Set(float64(now.UnixNano()) / 1e9)
}

func (p *Poller) setPending(n int) {
	p.mu.Lock()
	p.status.Pending = n
	p.mu.Unlock()
	p.m.pending.Set(float64(n))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
