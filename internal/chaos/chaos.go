// Package chaos is the fault harness of issue #7: it runs real codedesk
// processes (several on one PostgreSQL, one on SQLite) against a real IMAP
// server (a private Dovecot) behind a proxy it can cut, and an SMTP sink
// that records every message it accepts; delivers questions while it
// SIGKILLs and restarts nodes, cuts IMAP connections mid-IDLE and
// mid-FETCH, restarts Dovecot and makes the sink answer 421/451 in bursts
// and 550 for chosen recipients; waits until everything is quiet and checks
// the two promises: no question lost, none answered twice. docs/chaos.md
// explains the faults and how to read the result.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Config is one harness run.
type Config struct {
	// Nodes is how many nodes share the PostgreSQL database (default 3).
	Nodes int
	// SQLiteNode adds one node on its own SQLite file and mailbox.
	SQLiteNode bool
	// Questions to deliver (default 1000); SQLiteShare of them (default
	// 0.1) go to the SQLite node's mailbox when it runs.
	Questions   int
	SQLiteShare float64
	// Kills is how many SIGKILLs to do (default Questions/50, at least
	// 4); WindowKills of them (default max(1, Kills/5)) are aimed at the
	// window between the SMTP server accepting a reply and the node
	// recording it.
	Kills       int
	WindowKills int
	// IMAPCuts (default max(4, Questions/50)) cut connections mid-IDLE,
	// mid-FETCH or all at once; DovecotRestarts (default 1); SMTPBursts
	// (default max(3, Questions/60)) of 421 at the greeting or 451 after
	// DATA; Rejects recipients answered 550 (default 3).
	IMAPCuts        int
	DovecotRestarts int
	// RollingRestarts (default 1) restart every node in turn with SIGTERM
	// mid-run, as an upgrade would: each must exit 0 within its shutdown
	// bound and come back before the next one stops.
	RollingRestarts int
	SMTPBursts      int
	Rejects         int
	// NoFaults turns every fault off (the benchmarks).
	NoFaults bool
	// Pace is the time between two deliveries (default 200ms).
	Pace time.Duration
	// Seed makes the schedule of faults and the questions reproducible
	// (the timing of processes is not).
	Seed int64
	// DatabaseURL is the PostgreSQL server; the run makes a schema of its
	// own in it and drops it at the end.
	DatabaseURL string
	// Binary is a built codedesk; empty: go build ./cmd/codedesk.
	Binary string
	// CodeSets are imported into each database once (default: the small
	// fixtures in internal/codes/testdata).
	CodeSets []string
	// Workers per node (default 8: 8 on the mail queue, 2 on send).
	Workers int
	// LeaseTTL is the nodes' --imap-lease-ttl (default 3s); JobTimeout and
	// RescueStuckAfter their --job-timeout (10s) and --rescue-stuck-after
	// (15s).
	LeaseTTL         time.Duration
	JobTimeout       time.Duration
	RescueStuckAfter time.Duration
	// NoVerify runs the nodes without --imap-verify-folder, so a send
	// interrupted in the accepted-not-recorded window is sent again: the
	// harness's own test uses it to prove the check catches a duplicate.
	NoVerify bool
	// SMTPDelay makes the sink wait before answering each DATA (a relay's
	// latency; the benchmarks).
	SMTPDelay time.Duration
	// Timeout bounds the wait for quiescence after the last delivery
	// (default 3 min).
	Timeout time.Duration
	// RunDir holds logs and files (default a new temp dir); KeepRunDir
	// keeps it after a run that passed.
	RunDir     string
	KeepRunDir bool
	// ExtraNodeArgs are appended to every node's command line.
	ExtraNodeArgs []string
	Logger        *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Nodes < 0 {
		c.Nodes = 0
	}
	if c.Questions <= 0 {
		c.Questions = 1000
	}
	if c.SQLiteShare <= 0 {
		c.SQLiteShare = 0.1
	}
	if c.Kills <= 0 {
		c.Kills = max(4, c.Questions/50)
	}
	if c.WindowKills <= 0 {
		c.WindowKills = max(1, c.Kills/5)
	}
	c.WindowKills = min(c.WindowKills, c.Kills)
	if c.IMAPCuts <= 0 {
		c.IMAPCuts = max(4, c.Questions/50)
	}
	if c.DovecotRestarts <= 0 {
		c.DovecotRestarts = 1
	}
	if c.RollingRestarts <= 0 {
		c.RollingRestarts = 1
	}
	if c.SMTPBursts <= 0 {
		c.SMTPBursts = max(3, c.Questions/60)
	}
	if c.Rejects <= 0 {
		c.Rejects = 3
	}
	if c.Pace <= 0 {
		c.Pace = 200 * time.Millisecond
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 3 * time.Second
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = 10 * time.Second
	}
	if c.RescueStuckAfter <= 0 {
		c.RescueStuckAfter = 15 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 3 * time.Minute
	}
	if len(c.CodeSets) == 0 {
		if root, err := repoRoot(); err == nil {
			c.CodeSets = []string{
				filepath.Join(root, "internal/codes/testdata/icd10cm_order_2025.txt"),
				filepath.Join(root, "internal/codes/testdata/HCPC2025_JAN_ANWEB_fixture.txt"),
			}
		}
	}
	if c.Logger == nil {
		c.Logger = discardLogger()
	}
	return c
}

// Result is what a run found.
type Result struct {
	Seed       int64
	Nodes      int
	SQLiteNode bool

	Delivered      int // questions APPENDed to the desk mailboxes
	ToRejected     int // of them from the 550 recipients
	Stored         int // questions stored by the nodes (inbound, distinct Message-ID)
	Accepted       int // messages the sink accepted
	AnsweredZero   int // questions (not from a 550 recipient) with no reply at the sink
	AnsweredTwice  int // questions with more than one reply at the sink
	RejectedAnswer int // replies accepted for a 550 recipient (must be 0)
	StrayReplies   int // accepted messages whose In-Reply-To is no delivered question
	NonTerminal    map[string]int
	Jobs           map[string]int // River jobs by state, both databases
	Discarded      int
	RejectsFailed  int // 550 recipients' cases failed with the server's reply
	CopyRecovered  int // drafts recorded from the copy in Sent ("not sent again")

	Kills         int
	WindowKills   int
	IMAPIdleCuts  int
	IMAPFetchCuts int
	IMAPAllCuts   int
	DovecotRest   int
	SMTPFaults    int // 421/451 answers programmed
	SentFileFails int // replies refused with 451 because Sent was unreachable
	Unexpected    map[string][]string
	GracefulStops int
	// Rolling restarts done, nodes stopped by SIGTERM in them, and how many
	// of those exited 0 within the bound.
	Rolling      int
	RollingNodes int
	RollingClean int
	MissingFlags []string

	Wall      time.Duration // delivery start → quiescent
	DeliverIn time.Duration
	Quiescent bool
	Problems  []string
	RunDir    string
	Logs      []string
}

// OK reports whether the promise held: every question answered once, none
// twice, the 550s failed, nothing left running, nothing discarded.
func (r *Result) OK() bool { return len(r.Problems) == 0 }

// Run sets a cluster up, delivers cfg.Questions while injecting the
// faults, waits for quiescence and checks the result. An error means the
// harness itself could not run; a broken promise is in Result.Problems.
func Run(ctx context.Context, cfg Config) (_ *Result, err error) {
	cfg = cfg.withDefaults()
	if cfg.Nodes == 0 && !cfg.SQLiteNode {
		return nil, errors.New("no nodes to run")
	}
	if cfg.Nodes > 0 && cfg.DatabaseURL == "" {
		return nil, errors.New("PostgreSQL nodes need a database URL (CODEDESK_TEST_DATABASE_URL)")
	}
	c, err := Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	res := &Result{Seed: cfg.Seed, Nodes: cfg.Nodes, SQLiteNode: cfg.SQLiteNode, RunDir: c.dir,
		MissingFlags: c.missing, Unexpected: map[string][]string{}}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w (run directory kept: %s)", err, c.dir)
		}
		if err != nil || !res.OK() {
			c.Keep()
		}
		c.Close()
		for _, n := range c.nodes {
			res.GracefulStops += n.stoppedOK
		}
		res.GracefulStops -= res.RollingClean // those were mid-run
	}()
	for _, n := range c.nodes {
		res.Logs = append(res.Logs, n.logPath)
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0xc0de))
	qs := c.questions(rng, fmt.Sprintf("%d-%s", cfg.Seed, randomHex(3)), cfg.Questions, !cfg.NoFaults)

	var restarts sync.WaitGroup
	runCtx, stopFaults := context.WithCancel(ctx)
	var pauseMu sync.Mutex
	pauses := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9a05e))
	restart := func(n *node) {
		pauseMu.Lock()
		pause := time.Duration(300+pauses.IntN(2200)) * time.Millisecond
		pauseMu.Unlock()
		restarts.Add(1)
		go func() {
			defer restarts.Done()
			select {
			case <-time.After(pause):
			case <-ctx.Done():
			}
			if err := n.start(); err != nil {
				c.log.Error("chaos: restarting node", "node", n.name, "error", err)
			}
		}()
	}

	c.restartNode.Store(&restart)
	start := time.Now()
	deliverFor := time.Duration(len(qs)) * cfg.Pace
	var faultWG sync.WaitGroup
	var faults faultCounts
	if !cfg.NoFaults {
		faultWG.Add(1)
		go func() {
			defer faultWG.Done()
			faults = c.injectFaults(runCtx, rng, deliverFor)
		}()
	}
	tick := time.NewTicker(cfg.Pace)
	for i, q := range qs {
		if i > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
		if err := c.deliver(ctx, q); err != nil {
			tick.Stop()
			stopFaults()
			return nil, err
		}
		res.Delivered++
		if q.Reject {
			res.ToRejected++
		}
	}
	tick.Stop()
	res.DeliverIn = time.Since(start)
	faultWG.Wait()
	stopFaults()
	c.log.Info("chaos: delivered", "questions", res.Delivered, "took", res.DeliverIn.Round(time.Millisecond))

	// The armed window kills not yet done get a bounded chance to happen
	// while the last replies go out; then nothing more is armed.
	waitArm := time.Now().Add(20 * time.Second)
	for c.windowArm.Load() > 0 && time.Now().Before(waitArm) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	c.windowArm.Store(0)
	restarts.Wait()
	for _, n := range c.nodes {
		if !n.running() {
			_ = n.start()
		}
	}

	qctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	res.Quiescent = c.waitQuiescent(qctx, qs)
	cancel()
	res.Wall = time.Since(start)

	res.Kills = faults.kills + int(c.windowKills.Load())
	res.WindowKills = int(c.windowKills.Load())
	res.IMAPIdleCuts = int(c.proxy.idleCuts.Load())
	res.IMAPFetchCuts = int(c.proxy.fetchCuts.Load())
	res.IMAPAllCuts = int(c.proxy.allCuts.Load())
	res.DovecotRest = faults.dovecotRestarts
	res.Rolling, res.RollingNodes, res.RollingClean = faults.rolling, faults.rollingNodes, faults.rollingClean
	res.SMTPFaults = faults.smtpFaults
	res.SentFileFails = int(c.sentErrors.Load())
	for _, n := range c.nodes {
		if u := n.unexpectedExits(); len(u) > 0 {
			res.Unexpected[n.name] = u
		}
	}
	if err := c.check(context.WithoutCancel(ctx), qs, res); err != nil {
		return nil, err
	}
	if !cfg.NoFaults {
		if res.Kills < cfg.Kills {
			res.Problems = append(res.Problems, fmt.Sprintf("only %d of %d kills were done", res.Kills, cfg.Kills))
		}
		if res.WindowKills < cfg.WindowKills {
			res.Problems = append(res.Problems, fmt.Sprintf("only %d of %d kills landed in the send window", res.WindowKills, cfg.WindowKills))
		}
		if res.DovecotRest < cfg.DovecotRestarts {
			res.Problems = append(res.Problems, fmt.Sprintf("only %d of %d Dovecot restarts", res.DovecotRest, cfg.DovecotRestarts))
		}
		if res.Rolling < cfg.RollingRestarts {
			res.Problems = append(res.Problems, fmt.Sprintf("only %d of %d rolling restarts", res.Rolling, cfg.RollingRestarts))
		}
		if res.RollingClean < res.RollingNodes {
			res.Problems = append(res.Problems, fmt.Sprintf("%d of %d nodes did not exit 0 within the bound on SIGTERM in a rolling restart",
				res.RollingNodes-res.RollingClean, res.RollingNodes))
		}
	}
	return res, nil
}

// questions makes the run's questions: most to the PostgreSQL desk, a
// share to the SQLite desk, a few from the 550 recipients.
func (c *Cluster) questions(rng *rand.Rand, run string, count int, rejects bool) []question {
	cfg := c.cfg
	qs := make([]question, 0, count)
	var rejectAt []int
	if rejects && cfg.Rejects > 0 {
		// Spread the 550 recipients over the run; each asks once.
		for k := 0; k < cfg.Rejects && k < count; k++ {
			rejectAt = append(rejectAt, (k+1)*count/(cfg.Rejects+1))
		}
	}
	rk := 0
	for i := 0; i < count; i++ {
		desk, addr := pgDesk, pgDeskAddr
		if cfg.Nodes == 0 || (cfg.SQLiteNode && rng.Float64() < cfg.SQLiteShare) {
			desk, addr = sqliteDesk, sqliteDeskAddr
		}
		from := fmt.Sprintf("coder%d@clinic%d.test", i, i%7)
		reject := rk < len(rejectAt) && rejectAt[rk] == i
		if reject {
			from = fmt.Sprintf("gone%d@closed-clinic.test", rk+1)
			rk++
			c.rejected[from] = true
			c.sink.RejectRecipient(from, 550, "5.1.1 mailbox unavailable: user unknown")
		}
		q := makeQuestion(rng, run, i, desk, addr, from)
		q.Reject = reject
		qs = append(qs, q)
	}
	return qs
}

type faultCounts struct {
	kills, dovecotRestarts, smtpFaults  int
	rolling, rollingNodes, rollingClean int
}

// injectFaults runs the fault schedule over the delivery time: SIGKILLs
// (some armed for the send window), IMAP cuts, Dovecot restarts and SMTP
// bursts at random moments.
func (c *Cluster) injectFaults(ctx context.Context, rng *rand.Rand, over time.Duration) faultCounts {
	cfg := c.cfg
	type event struct {
		at   time.Duration
		kind string
	}
	var evs []event
	at := func(lo, hi float64) time.Duration {
		return time.Duration((lo + rng.Float64()*(hi-lo)) * float64(over))
	}
	for i := 0; i < cfg.Kills-cfg.WindowKills; i++ {
		evs = append(evs, event{at(0.05, 0.9), "kill"})
	}
	for i := 0; i < cfg.WindowKills; i++ {
		evs = append(evs, event{at(0.05, 0.75), "window"})
	}
	for i := 0; i < cfg.IMAPCuts; i++ {
		evs = append(evs, event{at(0.02, 0.95), []string{"idle", "fetch", "all"}[i%3]})
	}
	for i := 0; i < cfg.DovecotRestarts; i++ {
		evs = append(evs, event{at(0.3, 0.7), "dovecot"})
	}
	for i := 0; i < cfg.SMTPBursts; i++ {
		evs = append(evs, event{at(0.05, 0.95), "smtp"})
	}
	for i := 0; i < cfg.RollingRestarts; i++ {
		evs = append(evs, event{at(0.35, 0.6), "rolling"})
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].at < evs[j].at })

	var fc faultCounts
	start := time.Now()
	for _, ev := range evs {
		select {
		case <-time.After(time.Until(start.Add(ev.at))):
		case <-ctx.Done():
			return fc
		}
		switch ev.kind {
		case "kill":
			var up []*node
			for _, n := range c.nodes {
				if n.running() {
					up = append(up, n)
				}
			}
			if len(up) == 0 {
				continue
			}
			n := up[rng.IntN(len(up))]
			if n.kill() {
				fc.kills++
				c.log.Info("chaos: SIGKILL", "node", n.name)
				(*c.restartNode.Load())(n)
			}
		case "rolling":
			nodes, clean := c.rollingRestart(ctx)
			fc.rolling++
			fc.rollingNodes += nodes
			fc.rollingClean += clean
		case "window":
			c.windowArm.Add(1)
		case "idle":
			c.proxy.armIdle.Add(1)
		case "fetch":
			c.proxy.armFetch.Add(1)
		case "all":
			c.proxy.cutAll(true)
		case "dovecot":
			c.log.Info("chaos: restarting Dovecot")
			if err := c.restartDovecot(); err != nil {
				c.log.Error("chaos: restarting Dovecot", "error", err)
				continue
			}
			fc.dovecotRestarts++
		case "smtp":
			k := 2 + rng.IntN(4)
			if rng.IntN(2) == 0 {
				c.sink.FailNext(k, 451, "4.3.0 temporary local problem, try again")
			} else {
				c.sink.FailNextAt("connect", k, 421, "4.3.2 service not available, closing channel")
			}
			fc.smtpFaults += k
		}
	}
	return fc
}

// rollingRestart stops every running node in turn with SIGTERM, waits for
// it to exit (the shutdown timeout plus River's hand-back, bounded), starts
// it again and waits for its /healthz before the next: an upgrade. It
// returns how many nodes it stopped and how many of them exited 0. Armed
// send-window kills are held meanwhile, so that a SIGKILL aimed at the send
// window does not land on a node that is shutting down.
func (c *Cluster) rollingRestart(ctx context.Context) (nodes, clean int) {
	armed := c.windowArm.Swap(0)
	defer c.windowArm.Add(armed)
	c.log.Info("chaos: rolling restart")
	for _, n := range c.nodes {
		if !n.running() {
			continue // killed a moment ago; its restart is on the way
		}
		// Restarted a moment ago after a kill: let it finish starting (a
		// SIGTERM before Go has installed its signal handler ends the
		// process with the signal, as for any program, with nothing yet
		// in flight).
		if err := n.waitHealthy(ctx, 30*time.Second); err != nil {
			c.log.Error("chaos: node before a rolling restart", "node", n.name, "error", err)
			continue
		}
		nodes++
		began := time.Now()
		if n.stop(20 * time.Second) {
			clean++
		}
		c.log.Info("chaos: SIGTERM", "node", n.name, "clean", n.exitDesc(), "took", time.Since(began).Round(time.Millisecond))
		if err := n.start(); err != nil {
			c.log.Error("chaos: restarting node", "node", n.name, "error", err)
			continue
		}
		if err := n.waitHealthy(ctx, 30*time.Second); err != nil {
			c.log.Error("chaos: node after a rolling restart", "node", n.name, "error", err)
		}
	}
	return nodes, clean
}
