package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codedesk/codedesk/internal/analysis"
	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/devmail"
	"github.com/codedesk/codedesk/internal/lease"
	"github.com/codedesk/codedesk/internal/mailauth"
	"github.com/codedesk/codedesk/internal/mailbox"
	"github.com/codedesk/codedesk/internal/mailer"
	"github.com/codedesk/codedesk/internal/mailparse"
	"github.com/codedesk/codedesk/internal/reply"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/internal/web"
	"github.com/codedesk/codedesk/queue"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serveCmd runs a codedesk node: mailbox poller, River workers and the HTTP
// endpoints, until SIGINT/SIGTERM.
type serveCmd struct {
	config.Serve
	Devmail   bool          `name:"devmail" env:"CODEDESK_DEVMAIL" help:"Also run the development mail server in this process (make run), on the IMAP and SMTP addresses above."`
	NoMigrate bool          `name:"no-migrate" env:"CODEDESK_NO_MIGRATE" help:"Do not apply pending schema migrations at start-up."`
	Shutdown  time.Duration `name:"shutdown-timeout" env:"CODEDESK_SHUTDOWN_TIMEOUT" default:"20s" help:"How long jobs in flight may finish after SIGTERM before they are cancelled."`
}

// Run implements the command.
func (c *serveCmd) Run(ctx context.Context, io stdio) error {
	if err := c.Serve.Validate(); err != nil {
		return err
	}
	if err := c.Serve.Web.Validate(); err != nil {
		return err
	}
	logger := newLogger(c.Log, io.Err)
	n, err := startNode(ctx, nodeConfig{Serve: c.Serve, Devmail: c.Devmail, Migrate: !c.NoMigrate, ShutdownTimeout: c.Shutdown,
		Logger: logger, Banner: io.Out})
	if err != nil {
		return err
	}
	<-ctx.Done()
	logger.Info("shutting down")
	return n.Close()
}

// nodeConfig is everything startNode needs; tests build it by hand.
type nodeConfig struct {
	config.Serve
	Devmail         bool
	Migrate         bool
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	Banner          interface{ Write([]byte) (int, error) } // start-up instructions; nil for none
	// DB, when set, is used instead of opening Serve.Database.URL (tests).
	DB *store.DB
}

// node is one running codedesk process.
type node struct {
	cfg      nodeConfig
	db       *store.DB
	ownDB    bool
	dev      *devmail.Server
	q        *queue.Queue
	kb       atomic.Pointer[codes.KB]
	http     *http.Server
	httpAddr string
	poller   context.CancelFunc
	mailbox  *mailbox.Poller
	wg       sync.WaitGroup
	reg      *prometheus.Registry
	demo     *demoAccount // the demo admin created on the devmail path
	mbox     *mailbox.Metrics
	oauth    *mailauth.Source // nil unless IMAP or SMTP logs in with XOAUTH2
	stopKeep context.CancelFunc
	// id names this node (River client ID, lease holder); leader is true
	// while it holds the mailbox's lease.
	id        string
	leader    atomic.Bool
	leaseName string
	leadStart atomic.Int64 // when this node last took the lease (unix ns)
	closed    sync.Once
	started   time.Time
}

// startNode wires config → database → code sets → River → poller → HTTP and
// starts them. Close stops them in reverse order.
func startNode(ctx context.Context, cfg nodeConfig) (_ *node, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
		cfg.Logger = log
	}
	n := &node{cfg: cfg, reg: prometheus.NewRegistry(), started: time.Now()}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if cfg.Devmail {
		n.dev, err = devmail.Start(ctx, devmail.Config{IMAPAddr: cfg.IMAP.Addr, SMTPAddr: cfg.SMTP.Addr, Logger: log.With("component", "devmail")})
		if err != nil {
			return nil, fmt.Errorf("starting development mail server: %w", err)
		}
		log.Info("development mail server listening", "imap", n.dev.IMAPAddr(), "smtp", n.dev.SMTPAddr())
	}

	if cfg.DB != nil {
		n.db = cfg.DB
	} else {
		dbc := cfg.Database
		if dbc.MaxConns == 0 && store.IsPostgresURL(dbc.URL) {
			// Every worker may hold a connection for its transaction; the
			// poller, River's own work and the web desk need a few more.
			dbc.MaxConns = cfg.Queue.Workers + max(2, cfg.Queue.Workers/4) + 10
		}
		if n.db, err = openDB(ctx, dbc); err != nil {
			return nil, err
		}
		n.ownDB = true
	}
	if cfg.Migrate {
		if err := migrateAll(ctx, n.db, log); err != nil {
			return nil, err
		}
	}
	if cfg.CodeSets.Dir != "" {
		if err := importCodeSetsDir(ctx, n.db, cfg.CodeSets.Dir, log); err != nil {
			return nil, err
		}
	}
	if err := n.reloadKB(ctx); err != nil {
		return nil, err
	}

	renderer, err := reply.NewRenderer()
	if err != nil {
		return nil, err
	}
	smtpPass, err := config.Secret(cfg.SMTP.Password, cfg.SMTP.PasswordFile)
	if err != nil {
		return nil, err
	}
	if n.oauth, err = oauthSource(cfg.Serve, n.db, n.reg, log); err != nil {
		return nil, err
	}
	qm := queue.NewMetrics(n.reg)
	n.reg.MustRegister(queue.NewIntakeCollector(n.db))
	deps := &queue.Deps{
		DB:       n.db,
		Analyser: analysis.NewEngine(func() analysis.Codebook { return n.kb.Load() }),
		Renderer: renderer,
		Sender: mailer.New(mailer.Config{Addr: cfg.SMTP.Addr, Security: cfg.SMTP.Security, Username: cfg.SMTP.Username,
			Password: smtpPass, Timeout: cfg.SMTP.Timeout, TokenSource: n.tokenSource(cfg.SMTP.Auth)}),
		Policy:       queue.Policy{AutoSend: cfg.Policy.AutoSend, MinConfidence: cfg.Policy.MinConfidence},
		Desk:         queue.Desk{Address: cfg.SMTP.From, Name: cfg.SMTP.FromName, Own: ownAddresses(cfg.Serve), Mailbox: cfg.IMAP.Mailbox},
		Logger:       log.With("component", "worker"),
		ParseOptions: mailparse.Options{OwnAddresses: ownAddresses(cfg.Serve), AnswerLists: cfg.Policy.AnswerLists},
		Metrics:      qm,
	}
	if deps.Delivery, err = deliveryConfig(cfg.Serve, n.tokenSource(cfg.IMAP.Auth), log); err != nil {
		return nil, err
	}
	workers := queue.NewWorkers(deps)
	n.id = cfg.Cluster.NodeID
	if n.id == "" {
		hostname, _ := os.Hostname()
		n.id = fmt.Sprintf("%s-%d", hostname, os.Getpid())
	}
	n.q, err = queue.New(n.db, workers.River(), queue.Config{Workers: cfg.Queue.Workers, FetchCooldown: cfg.Queue.FetchCooldown,
		FetchPollInterval: cfg.Queue.FetchPollInterval, Logger: log, ID: n.id,
		JobTimeout: cfg.Queue.JobTimeout, RescueStuckJobsAfter: cfg.Queue.RescueStuckAfter, RetryMaxDelay: cfg.Queue.RetryMaxDelay,
		SoftStopTimeout: cfg.ShutdownTimeout})
	if err != nil {
		return nil, err
	}
	workers.Bind(n.q)
	if err := n.q.Start(ctx); err != nil {
		return nil, err
	}

	if err := n.startHTTP(ctx); err != nil {
		return nil, err
	}
	if n.oauth != nil {
		kctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		n.stopKeep = cancel
		n.keepOAuth(kctx)
	}

	if !cfg.IMAP.Disabled {
		imapPass, err := config.Secret(cfg.IMAP.Password, cfg.IMAP.PasswordFile)
		if err != nil {
			return nil, err
		}
		n.mbox = mailbox.NewMetrics(n.reg)
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		n.poller = cancel
		sink := queue.NewSink(n.q, qm)
		mcfg := mailbox.Config{Addr: cfg.IMAP.Addr, Security: cfg.IMAP.Security, Username: cfg.IMAP.Username, Password: imapPass,
			Mailbox: cfg.IMAP.Mailbox, PollInterval: cfg.IMAP.PollInterval, Timeout: cfg.IMAP.Timeout,
			Logger: log.With("component", "mailbox"), Metrics: n.mbox, TokenSource: n.tokenSource(cfg.IMAP.Auth)}
		if n.mailbox, err = mailbox.New(mcfg, sink); err != nil {
			cancel()
			return nil, fmt.Errorf("configuring the mailbox poller: %w", err)
		}
		// Several nodes may share the database: the one holding the
		// mailbox's lease polls it, the others stand by.
		leader := prometheus.NewGauge(prometheus.GaugeOpts{Name: "codedesk_mailbox_leader",
			Help: "1 while this node holds the mailbox's lease and polls it, 0 while it stands by."})
		n.reg.MustRegister(leader)
		lcfg := lease.Config{Name: mailboxLeaseName(cfg.IMAP), Holder: n.id, TTL: cfg.Cluster.LeaseTTL,
			Logger: log.With("component", "lease"),
			OnChange: func(held bool) {
				if held {
					n.leadStart.Store(time.Now().UnixNano())
				}
				n.leader.Store(held)
				leader.Set(b2f(held))
			}}
		n.leaseName = lcfg.Name
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			err := lease.Run(pctx, n.db, lcfg, func(ctx context.Context, h *lease.Held) error {
				sink.SetFence(func(ctx context.Context, tx *store.Tx) error { return h.Check(ctx, tx) })
				return n.pollUnderLease(ctx, cfg.Cluster.StepDown)
			})
			if err != nil {
				log.Error("mailbox poller stopped", "error", err)
			}
		}()
	}
	if cfg.Banner != nil {
		n.printBanner(cfg.Banner)
	}
	log.Info("codedesk serving", "http", n.httpAddr, "database", n.db.Dialect().String(), "auto_send", cfg.Policy.AutoSend)
	return n, nil
}

// mailboxLeaseName names the lease of one mailbox: the nodes that read the
// same account's folder compete for it. The server's address is left out:
// nodes in different networks may reach one server by different names.
func mailboxLeaseName(c config.IMAP) string {
	return "mailbox:" + c.Username + "/" + c.Mailbox
}

// pollUnderLease runs the poller while this node holds the mailbox's lease.
// When the node has had no IMAP session for stepDown (0: never) — the
// server is unreachable from here, though the database is not — it returns
// lease.ErrStepDown so that another node, which may reach the server, takes
// the mailbox over.
func (n *node) pollUnderLease(ctx context.Context, stepDown time.Duration) error {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n.mailbox.Run(pctx) }()
	if stepDown <= 0 {
		return <-done
	}
	downSince := time.Now() // not connected yet
	tick := time.NewTicker(min(time.Second, stepDown/4))
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			st := n.mailbox.Status()
			switch {
			case st.Connected:
				downSince = time.Time{}
			case downSince.IsZero():
				downSince = time.Now()
			case time.Since(downSince) > stepDown:
				cancel()
				<-done
				return fmt.Errorf("%w: no IMAP session for %v (last error: %s)", lease.ErrStepDown,
					time.Since(downSince).Round(time.Second), st.LastError)
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// reloadKB loads the imported code sets into memory and swaps them in.
func (n *node) reloadKB(ctx context.Context) error {
	kb, err := codes.Load(ctx, n.db)
	if err != nil {
		return fmt.Errorf("loading code sets: %w", err)
	}
	n.kb.Store(kb)
	return nil
}

func (n *node) startHTTP(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", n.healthz)
	// The staff desk, with River's own UI for admins under /admin/jobs/.
	jobs, err := n.q.UIHandler(ctx, "/admin/jobs")
	if err != nil {
		return fmt.Errorf("starting the job UI: %w", err)
	}
	if n.cfg.Devmail {
		if n.demo, err = ensureDemoAdmin(ctx, n.db); err != nil {
			return err
		}
	}
	proxies, err := n.cfg.Web.Proxies()
	if err != nil {
		return err
	}
	desk, err := web.New(web.Config{DB: n.db, Actions: n.q, Jobs: jobs, Logger: n.cfg.Logger.With("component", "web"),
		FirstResponseTarget: n.cfg.Web.FirstResponseTarget, IdleTimeout: n.cfg.Web.SessionIdle,
		SessionMaxAge: n.cfg.Web.SessionMaxAge, SecureCookies: n.cfg.Web.SecureCookies, TrustedProxies: proxies})
	if err != nil {
		return err
	}
	mux.Handle("/", desk.Handler())
	ln, err := net.Listen("tcp", n.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", n.cfg.HTTP.Addr, err)
	}
	n.httpAddr = ln.Addr().String()
	n.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context {
		return context.WithoutCancel(ctx)
	}}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.cfg.Logger.Error("http server stopped", "error", err)
		}
	}()
	return nil
}

// Close stops the node: first the poller (no new mail; the mailbox's lease
// is released so that another node takes over at once), then River (jobs in
// flight get ShutdownTimeout to finish, then are cancelled and retried
// elsewhere), then HTTP, then the database.
func (n *node) Close() error {
	n.closed.Do(func() {
		if n.poller != nil {
			n.poller()
		}
		if n.stopKeep != nil {
			n.stopKeep()
		}
		timeout := n.cfg.ShutdownTimeout
		if timeout <= 0 {
			timeout = 20 * time.Second
		}
		// River lets jobs in flight run for the timeout, then cancels them
		// (they are retried) and waits for them to return.
		ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
		defer cancel()
		if n.q != nil {
			if err := n.q.Stop(ctx); err != nil {
				n.cfg.Logger.Warn("stopping workers", "error", err)
			}
		}
		if n.http != nil {
			_ = n.http.Shutdown(ctx)
		}
		n.wg.Wait()
		if n.dev != nil {
			_ = n.dev.Close()
		}
		if n.db != nil && n.ownDB {
			_ = n.db.Close()
		}
	})
	return nil
}

func (n *node) printBanner(w interface{ Write([]byte) (int, error) }) {
	fmt.Fprintf(w, "\ncodedesk is running (database: %s, auto-send: %v).\n", n.db.Dialect(), n.cfg.Policy.AutoSend)
	fmt.Fprintf(w, "  Health and metrics:   http://%s/healthz  http://%s/metrics\n", n.httpAddr, n.httpAddr)
	fmt.Fprintf(w, "  Staff desk:           http://%s/\n", n.httpAddr)
	n.printDeskAccount(w)
	if n.dev != nil {
		fmt.Fprintf(w, "\nA development mail server runs in this process:\n")
		fmt.Fprintf(w, "  IMAP %s, SMTP %s (no TLS, loopback only)\n", n.dev.IMAPAddr(), n.dev.SMTPAddr())
		fmt.Fprintf(w, "  Accounts: desk@codedesk.test / desk (the desk), coder@clinic.test / coder (a demo coder)\n")
		fmt.Fprintf(w, "\nAsk a question from another terminal:\n")
		fmt.Fprintf(w, "  ./bin/codedesk ask \"What is E11.22? Also need the HCPCS for a standard wheelchair, K0001\"\n")
		fmt.Fprintf(w, "\nOr point any mail client at it as coder@clinic.test (IMAP %s, SMTP %s, password coder)\n", n.dev.IMAPAddr(), n.dev.SMTPAddr())
		fmt.Fprintf(w, "and email desk@codedesk.test. See docs/devmail.md.\n\n")
	}
}

// healthz reports whether this node can do its work: the database answers
// and the code sets are loaded. It returns 503 when the database does not.
func (n *node) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, code := "ok", http.StatusOK
	var one int
	dbStatus := "ok"
	if err := n.db.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		dbStatus, status, code = "error", "unavailable", http.StatusServiceUnavailable
	}
	h := health{Status: status, Database: dbStatus}
	if kb := n.kb.Load(); kb != nil {
		h.CodeSetReleases = len(kb.Releases())
	}
	if dbStatus == "ok" {
		if ic, err := queue.CountIntake(ctx, n.db); err == nil {
			h.Intake = &ic
		}
	}
	if n.mailbox != nil && !n.leader.Load() {
		// Another node polls the mailbox (or will once its lease is free):
		// this one stands by and is healthy as far as mail goes.
		mh := &mailboxHealth{NodeID: n.id}
		if l, err := store.GetLease(ctx, n.db, n.leaseName); err == nil && l.ExpiresAt.After(time.Now()) {
			mh.PolledBy = l.Holder
		}
		h.Mailbox = mh
	} else if n.mailbox != nil {
		st := n.mailbox.Status()
		mh := &mailboxHealth{Leader: true, NodeID: n.id, PolledBy: n.id, Connected: st.Connected, Idle: st.Idle, Pending: st.Pending, LastError: st.LastError,
			DeliveryFailures: st.DeliveryFailures}
		if !st.LastSuccess.IsZero() {
			mh.LastSuccess = st.LastSuccess.UTC().Format(time.RFC3339)
			mh.LagSeconds = time.Since(st.LastSuccess).Seconds()
		}
		// A mailbox that has not been read for three poll intervals (or
		// whose deliveries keep failing) makes the node unhealthy.
		stale := 3*n.cfg.IMAP.PollInterval + n.cfg.IMAP.Timeout
		if st.DeliveryFailures >= 3 || (!st.LastSuccess.IsZero() && time.Since(st.LastSuccess) > stale) ||
			(st.LastSuccess.IsZero() && time.Since(n.leadSince()) > stale) {
			h.Status, code = "degraded", http.StatusServiceUnavailable
		}
		h.Mailbox = mh
	}
	if n.oauth != nil {
		st := n.oauth.Status()
		h.OAuth = &st
		if !st.Healthy() {
			h.Status, code = "degraded", http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(h)
}

// leadSince is when this node took the mailbox's lease.
func (n *node) leadSince() time.Time {
	if ns := n.leadStart.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return n.started
}

type health struct {
	Status          string         `json:"status"`
	Database        string         `json:"database"`
	CodeSetReleases int            `json:"code_set_releases"`
	Mailbox         *mailboxHealth `json:"mailbox,omitempty"`
	// Intake: messages pending ingest, unprocessable, oversized, ignored;
	// cases needing staff.
	Intake *queue.IntakeCounts `json:"intake,omitempty"`
	// OAuth: XOAUTH2 token state (last refresh, failures, expiry).
	OAuth *mailauth.Status `json:"oauth,omitempty"`
}

type mailboxHealth struct {
	// Leader is true on the node that holds the mailbox's lease and polls
	// it; PolledBy names that node (empty while nobody holds the lease).
	Leader           bool    `json:"leader"`
	NodeID           string  `json:"node_id"`
	PolledBy         string  `json:"polled_by,omitempty"`
	Connected        bool    `json:"connected"`
	Idle             bool    `json:"idle"`
	LastSuccess      string  `json:"last_success,omitempty"`
	LagSeconds       float64 `json:"lag_seconds,omitempty"`
	Pending          int     `json:"pending"`
	DeliveryFailures int     `json:"delivery_failures"`
	LastError        string  `json:"last_error,omitempty"`
}
