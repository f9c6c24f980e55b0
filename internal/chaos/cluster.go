package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codedesk/codedesk/internal/dovecottest"
	"github.com/codedesk/codedesk/internal/smtptest"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/jackc/pgx/v5"
)

// The two desks: one mailbox for the PostgreSQL cluster, one for the SQLite
// node (a SQLite node is a deployment of its own: its own database and
// mailbox).
const (
	pgDesk         = "desk"
	pgDeskAddr     = "desk@codedesk.test"
	sqliteDesk     = "sqldesk"
	sqliteDeskAddr = "sqldesk@codedesk.test"
	verifyFolder   = "Sent"
)

// leaseFlags are the flags of issue #7's mailbox lease and River timing;
// a binary without them runs without (and the result says so).
var leaseFlags = []string{"--node-id", "--imap-lease-ttl", "--job-timeout", "--rescue-stuck-after", "--retry-max-delay"}

// Cluster is everything a run needs: the database(s), Dovecot, the IMAP
// proxy, the SMTP sink and the node processes.
type Cluster struct {
	cfg    Config
	log    *slog.Logger
	dir    string
	bin    string
	pgBase string // the server URL without the schema
	schema string
	pgURL  string // with search_path
	sqlite string // file path
	pg     *store.DB
	lite   *store.DB

	dove     *dovecottest.Server
	doveMu   sync.RWMutex // writers: a Dovecot restart; readers: the harness's own APPENDs
	proxy    *imapProxy
	sink     *smtptest.Sink
	nodes    []*node
	missing  []string // lease/timing flags the binary does not have
	rejected map[string]bool

	ownDir bool // the run dir is a temp dir of ours: Close removes it unless keep
	keep   atomic.Bool

	windowArm   atomic.Int32 // kills wanted in the accepted-not-recorded window
	windowKills atomic.Int32
	windowMiss  atomic.Int32 // armed, message accepted, but no node found to kill
	sentFiled   atomic.Int32
	sentErrors  atomic.Int32
	restartNode atomic.Pointer[func(n *node)] // schedules a restart after a kill (set by Run while the sink may already accept)
}

// Start sets the cluster up: binary, schema, migrations, code sets,
// Dovecot, proxy, sink, nodes (started and answering /healthz).
func Start(ctx context.Context, cfg Config) (_ *Cluster, err error) {
	cfg = cfg.withDefaults()
	c := &Cluster{cfg: cfg, log: cfg.Logger, rejected: map[string]bool{}}
	defer func() {
		if err != nil {
			c.keep.Store(true) // the node logs tell why
			c.Close()
		}
	}()
	c.keep.Store(cfg.KeepRunDir)
	if cfg.RunDir != "" {
		c.dir = cfg.RunDir
		if err := os.MkdirAll(c.dir, 0o755); err != nil {
			return nil, err
		}
	} else {
		if c.dir, err = os.MkdirTemp("", "codedesk-chaos-"); err != nil {
			return nil, err
		}
		c.ownDir = true
	}
	// Dovecot's unprivileged processes must traverse it.
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return nil, err
	}
	c.log.Info("chaos: run directory", "dir", c.dir)

	if c.bin, err = c.binary(ctx); err != nil {
		return nil, err
	}
	if c.missing, err = missingFlags(ctx, c.bin); err != nil {
		return nil, err
	}
	if len(c.missing) > 0 {
		c.log.Warn("chaos: the codedesk binary lacks issue #7 flags; nodes run without them", "missing", strings.Join(c.missing, " "))
	}
	if err := c.databases(ctx); err != nil {
		return nil, err
	}

	doveDir := filepath.Join(c.dir, "dovecot")
	if err := os.Mkdir(doveDir, 0o755); err != nil {
		return nil, err
	}
	c.dove, err = dovecottest.New(doveDir, &dovecottest.Options{Users: []dovecottest.User{
		{Name: pgDesk, Password: "desk-pw"}, {Name: sqliteDesk, Password: "sqldesk-pw"}}})
	if err != nil {
		return nil, err
	}
	for _, u := range []string{pgDesk, sqliteDesk} {
		if err := c.createFolder(u, verifyFolder); err != nil {
			return nil, err
		}
	}
	if c.proxy, err = startProxy(c.dove.Addr(), uint64(cfg.Seed)); err != nil {
		return nil, err
	}
	if c.sink, err = smtptest.New(smtptest.Options{OnAccept: c.onAccept}); err != nil {
		return nil, err
	}
	if cfg.SMTPDelay > 0 {
		c.sink.SetDelay(smtptest.StageData, cfg.SMTPDelay)
	}

	for i := 1; i <= cfg.Nodes; i++ {
		if err := c.addNode(fmt.Sprintf("pg%d", i), false); err != nil {
			return nil, err
		}
	}
	if cfg.SQLiteNode {
		if err := c.addNode("sqlite", true); err != nil {
			return nil, err
		}
	}
	for _, n := range c.nodes {
		if err := n.start(); err != nil {
			return nil, err
		}
	}
	for _, n := range c.nodes {
		if err := n.waitHealthy(ctx, 60*time.Second); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Dir is the run directory (node logs, Dovecot's files, the SQLite file).
func (c *Cluster) Dir() string { return c.dir }

// Close stops the nodes (SIGTERM, then SIGKILL), the servers, and drops the
// PostgreSQL schema. It removes the run directory when it made it (no
// cfg.RunDir), unless cfg.KeepRunDir is set or the run failed (Keep).
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.stop(10 * time.Second)
		}()
	}
	wg.Wait()
	if c.proxy != nil {
		c.proxy.close()
	}
	if c.sink != nil {
		c.sink.Close()
	}
	if c.dove != nil {
		c.dove.Close()
	}
	if c.pg != nil {
		c.pg.Close()
	}
	if c.lite != nil {
		c.lite.Close()
	}
	if c.schema != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, c.pgBase); err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA "+c.schema+" CASCADE")
			conn.Close(ctx)
		}
	}
	if c.ownDir && !c.keep.Load() {
		_ = os.RemoveAll(c.dir)
	}
}

// Keep makes Close leave the run directory (logs) in place.
func (c *Cluster) Keep() { c.keep.Store(true) }

// binary returns cfg.Binary, or builds ./cmd/codedesk into the run dir.
func (c *Cluster) binary(ctx context.Context) (string, error) {
	if c.cfg.Binary != "" {
		return c.cfg.Binary, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(c.dir, "codedesk")
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/codedesk")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building codedesk: %w\n%s", err, b)
	}
	c.log.Info("chaos: built codedesk", "path", out, "took", time.Since(start).Round(time.Millisecond))
	return out, nil
}

// repoRoot finds the module root (the directory holding go.mod) from the
// working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/codedesk/codedesk") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the codedesk module (no go.mod found)")
		}
		dir = parent
	}
}

// missingFlags lists the issue #7 flags `codedesk serve --help` does not
// know.
func missingFlags(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, bin, "serve", "--help").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s serve --help: %w\n%s", bin, err, out)
	}
	var missing []string
	for _, f := range leaseFlags {
		if !strings.Contains(string(out), f+"=") && !strings.Contains(string(out), f+" ") {
			missing = append(missing, f)
		}
	}
	return missing, nil
}

// databases makes a fresh PostgreSQL schema and a SQLite file, migrates
// both and imports the fixture code sets, all with the CLI.
func (c *Cluster) databases(ctx context.Context) error {
	if c.cfg.Nodes > 0 {
		c.pgBase = c.cfg.DatabaseURL
		c.schema = "chaos_" + randomHex(5)
		conn, err := pgx.Connect(ctx, c.pgBase)
		if err != nil {
			return fmt.Errorf("connecting to PostgreSQL: %w", err)
		}
		_, err = conn.Exec(ctx, "CREATE SCHEMA "+c.schema)
		conn.Close(ctx)
		if err != nil {
			c.schema = ""
			return fmt.Errorf("creating schema: %w", err)
		}
		c.pgURL = withSearchPath(c.pgBase, c.schema)
		if err := c.prepare(ctx, c.pgURL); err != nil {
			return err
		}
		if c.pg, err = store.Open(ctx, c.pgBase, store.Options{SearchPath: c.schema, MaxConns: 4}); err != nil {
			return err
		}
	}
	if c.cfg.SQLiteNode {
		c.sqlite = filepath.Join(c.dir, "sqlite-node.db")
		if err := c.prepare(ctx, c.sqlite); err != nil {
			return err
		}
		var err error
		if c.lite, err = store.Open(ctx, c.sqlite, store.Options{}); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) prepare(ctx context.Context, dbURL string) error {
	if out, err := exec.CommandContext(ctx, c.bin, "migrate", "--database-url", dbURL, "--log-level", "warn").CombinedOutput(); err != nil {
		return fmt.Errorf("codedesk migrate: %w\n%s", err, out)
	}
	args := append([]string{"codes", "import", "--database-url", dbURL, "--log-level", "warn"}, c.cfg.CodeSets...)
	if out, err := exec.CommandContext(ctx, c.bin, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("codedesk codes import: %w\n%s", err, out)
	}
	return nil
}

func withSearchPath(u, schema string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "search_path=" + schema
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *Cluster) createFolder(user, folder string) error {
	cl, err := imapclient.DialInsecure(c.dove.Addr(), nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.Login(user, c.dove.Password(user)).Wait(); err != nil {
		return fmt.Errorf("logging in as %s: %w", user, err)
	}
	if err := cl.Create(folder, nil).Wait(); err != nil {
		return fmt.Errorf("creating %s for %s: %w", folder, user, err)
	}
	return cl.Logout().Wait()
}

// addNode prepares a node's command line.
func (c *Cluster) addNode(name string, sqlite bool) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	dbURL, user, addr := c.pgURL, pgDesk, pgDeskAddr
	if sqlite {
		dbURL, user, addr = c.sqlite, sqliteDesk, sqliteDeskAddr
	}
	cfg := c.cfg
	args := []string{
		"--database-url", dbURL, "--no-migrate",
		"--imap-addr", c.proxy.addr(), "--imap-username", user, "--imap-password", c.dove.Password(user),
		"--imap-mailbox", "INBOX", "--imap-poll-interval", "1s", "--imap-timeout", "5s",
		"--smtp-addr", c.sink.Addr(), "--smtp-username=", "--smtp-timeout", "10s", "--smtp-copy-grace", "2s",
		"--from", addr,
		"--auto-send", "--min-confidence", "0",
		"--reply-limit-per-sender", "0", "--reply-limit-per-thread", "0",
		"--workers", strconv.Itoa(cfg.Workers),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", port),
		"--log-format", "json", "--log-level", "info",
		"--shutdown-timeout", "5s",
	}
	if !cfg.NoVerify {
		args = append(args, "--imap-verify-folder", verifyFolder)
	}
	opt := map[string]string{
		"--node-id": name, "--imap-lease-ttl": cfg.LeaseTTL.String(), "--job-timeout": cfg.JobTimeout.String(),
		"--rescue-stuck-after": cfg.RescueStuckAfter.String(), "--retry-max-delay": "2s",
	}
	for _, f := range leaseFlags {
		if !contains(c.missing, f) {
			args = append(args, f, opt[f])
		}
	}
	args = append(args, cfg.ExtraNodeArgs...)
	c.nodes = append(c.nodes, &node{name: name, sqlite: sqlite, bin: c.bin, args: args,
		logPath: filepath.Join(c.dir, name+".log"), port: port})
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pgNodes are the nodes on PostgreSQL.
func (c *Cluster) pgNodes() []*node {
	var out []*node
	for _, n := range c.nodes {
		if !n.sqlite {
			out = append(out, n)
		}
	}
	return out
}

// deliver APPENDs q to its desk's INBOX, retrying while Dovecot restarts.
func (c *Cluster) deliver(ctx context.Context, q question) error {
	for {
		c.doveMu.RLock()
		_, err := c.dove.AppendErr(q.Desk, "INBOX", q.Raw)
		c.doveMu.RUnlock()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("delivering %s: %w (last error: %v)", q.ID, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// restartDovecot restarts the IMAP server (maildirs kept); the harness's
// own APPENDs wait for it.
func (c *Cluster) restartDovecot() error {
	c.doveMu.Lock()
	defer c.doveMu.Unlock()
	return c.dove.RestartErr()
}

// onAccept runs in the sink before it answers 250: it files the reply in
// the sending desk's Sent folder (as Gmail and Exchange Online do, and as
// --imap-verify-folder expects), and when a kill in the accepted-but-not-
// recorded window is armed, SIGKILLs the node that is sending this reply.
func (c *Cluster) onAccept(m smtptest.Message) error {
	user := pgDesk
	if strings.EqualFold(m.From, sqliteDeskAddr) {
		user = sqliteDesk
	}
	c.doveMu.RLock()
	_, err := c.dove.AppendErr(user, verifyFolder, m.Raw)
	c.doveMu.RUnlock()
	if err != nil {
		c.sentErrors.Add(1)
		return fmt.Errorf("cannot file the message in Sent: %w", err)
	}
	c.sentFiled.Add(1)
	if takeArm(&c.windowArm) {
		if n := c.sender(m, user == sqliteDesk); n != nil && n.kill() {
			c.windowKills.Add(1)
			c.log.Info("chaos: killed a node in the accepted-not-recorded window", "node", n.name)
			if restart := c.restartNode.Load(); restart != nil {
				(*restart)(n)
			}
		} else {
			c.windowMiss.Add(1)
			c.windowArm.Add(1) // try again with the next message
		}
	}
	return nil
}

// sender finds the node whose send job is sending this message: the
// SQLite node for its desk; on PostgreSQL, River's attempted_by of the
// running send job of the draft with this Message-ID.
func (c *Cluster) sender(m smtptest.Message, sqlite bool) *node {
	if sqlite {
		for _, n := range c.nodes {
			if n.sqlite {
				return n
			}
		}
		return nil
	}
	id, err := m.Header.MessageID()
	if err != nil || id == "" || c.pg == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var by []string
	err = c.pg.QueryRow(ctx, `SELECT j.attempted_by FROM river_job j JOIN drafts d ON (j.args->>'draft_id')::bigint = d.id
		WHERE d.outgoing_message_id = ? AND j.kind = 'send' AND j.state = 'running' ORDER BY j.id DESC LIMIT 1`, id).Scan(&by)
	if err != nil || len(by) == 0 {
		return nil
	}
	for _, n := range c.pgNodes() {
		if n.matches(by[len(by)-1]) {
			return n
		}
	}
	return nil
}

// discardLogger is used when Config.Logger is nil.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
