// Package config holds codedesk's configuration: one typed struct per
// concern, filled from command-line flags and CODEDESK_* environment
// variables (flags win), with documented defaults. The struct tags are read
// by kong (github.com/alecthomas/kong) in cmd/codedesk; the README's
// configuration table lists the same names and defaults, and a test keeps
// the two in step.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Database selects the database.
type Database struct {
	URL      string `name:"database-url" env:"CODEDESK_DATABASE_URL" default:"var/codedesk.db" help:"SQLite file path (the embedded default), or a postgres:// URL to share one database between several nodes."`
	MaxConns int    `name:"database-max-conns" env:"CODEDESK_DATABASE_MAX_CONNS" default:"0" help:"PostgreSQL connections per node (0: enough for every worker plus the poller and the web desk)."`
}

// Log configures structured logging. Logs carry IDs only, never message
// bodies, addresses or credentials.
type Log struct {
	Level  string `name:"log-level" env:"CODEDESK_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Minimum log level (debug, info, warn, error)."`
	Format string `name:"log-format" env:"CODEDESK_LOG_FORMAT" default:"text" enum:"text,json" help:"Log format (text or json)."`
}

// IMAP is the desk mailbox that questions arrive in.
type IMAP struct {
	Addr         string        `name:"imap-addr" env:"CODEDESK_IMAP_ADDR" default:"127.0.0.1:1143" help:"IMAP server host:port of the desk mailbox."`
	Security     string        `name:"imap-security" env:"CODEDESK_IMAP_SECURITY" default:"none" enum:"none,starttls,tls" help:"IMAP connection security: none (loopback only), starttls or tls."`
	Username     string        `name:"imap-username" env:"CODEDESK_IMAP_USERNAME" default:"desk@codedesk.test" help:"IMAP login."`
	Password     string        `name:"imap-password" env:"CODEDESK_IMAP_PASSWORD" default:"desk" help:"IMAP password (or set CODEDESK_IMAP_PASSWORD_FILE)."`
	PasswordFile string        `name:"imap-password-file" env:"CODEDESK_IMAP_PASSWORD_FILE" help:"File holding the IMAP password."`
	Mailbox      string        `name:"imap-mailbox" env:"CODEDESK_IMAP_MAILBOX" default:"INBOX" help:"Mailbox to read questions from."`
	PollInterval time.Duration `name:"imap-poll-interval" env:"CODEDESK_IMAP_POLL_INTERVAL" default:"30s" help:"How often to poll when the server has no IDLE; also the longest IDLE wait before a safety re-check."`
	Timeout      time.Duration `name:"imap-timeout" env:"CODEDESK_IMAP_TIMEOUT" default:"30s" help:"Connect and read timeout for IMAP commands."`
	Disabled     bool          `name:"imap-disabled" env:"CODEDESK_IMAP_DISABLED" help:"Do not poll a mailbox (workers and web only)."`
	Auth         string        `name:"imap-auth" env:"CODEDESK_IMAP_AUTH" default:"password" enum:"password,xoauth2" help:"IMAP login: password, or xoauth2 with the oauth-* settings."`
	VerifyFolder string        `name:"imap-verify-folder" env:"CODEDESK_IMAP_VERIFY_FOLDER" help:"A folder where the mail server itself files what codedesk submits (Exchange Online: Sent Items; Gmail: [Gmail]/Sent Mail): a retry after an unrecorded send looks there, and waits smtp-copy-grace for it, before sending again."`
	SentFolder   string        `name:"imap-sent-folder" env:"CODEDESK_IMAP_SENT_FOLDER" help:"File a copy of every reply in this IMAP folder of the desk account, e.g. Sent (created when missing; empty: no copy)."`
}

// SMTP is the server replies are sent through.
type SMTP struct {
	Addr         string        `name:"smtp-addr" env:"CODEDESK_SMTP_ADDR" default:"127.0.0.1:1025" help:"SMTP submission server host:port."`
	Security     string        `name:"smtp-security" env:"CODEDESK_SMTP_SECURITY" default:"none" enum:"none,starttls,tls" help:"SMTP connection security: none (loopback only), starttls or tls."`
	Username     string        `name:"smtp-username" env:"CODEDESK_SMTP_USERNAME" default:"desk@codedesk.test" help:"SMTP AUTH login (empty: no AUTH)."`
	Password     string        `name:"smtp-password" env:"CODEDESK_SMTP_PASSWORD" default:"desk" help:"SMTP AUTH password (or set CODEDESK_SMTP_PASSWORD_FILE)."`
	PasswordFile string        `name:"smtp-password-file" env:"CODEDESK_SMTP_PASSWORD_FILE" help:"File holding the SMTP password."`
	Timeout      time.Duration `name:"smtp-timeout" env:"CODEDESK_SMTP_TIMEOUT" default:"30s" help:"SMTP dial and command timeout."`
	From         string        `name:"from" env:"CODEDESK_FROM" default:"desk@codedesk.test" help:"From address of replies (the desk)."`
	FromName     string        `name:"from-name" env:"CODEDESK_FROM_NAME" default:"codedesk coding desk" help:"Display name on replies."`
	Auth         string        `name:"smtp-auth" env:"CODEDESK_SMTP_AUTH" default:"password" enum:"password,xoauth2" help:"SMTP AUTH: password, or xoauth2 with the oauth-* settings."`
	CopyTo       string        `name:"smtp-copy-to" env:"CODEDESK_SMTP_COPY_TO" help:"BCC every reply to this address (normally the desk mailbox): if codedesk stops after the server accepted a reply but before recording it, the retry finds this copy and does not send twice."`
	CopyGrace    time.Duration `name:"smtp-copy-grace" env:"CODEDESK_SMTP_COPY_GRACE" default:"2m" help:"How long a retry of a send with an unknown outcome waits for that copy before sending again."`
}

// Policy decides what codedesk may do without a person.
type Policy struct {
	AutoSend      bool    `name:"auto-send" env:"CODEDESK_AUTO_SEND" help:"Send drafts without review (make run turns it on for the demo)."`
	MinConfidence float64 `name:"min-confidence" env:"CODEDESK_MIN_CONFIDENCE" default:"0.6" help:"Below this confidence a draft waits for review even with auto-send."`
	AnswerLists   bool    `name:"answer-lists" env:"CODEDESK_ANSWER_LISTS" help:"Treat mailing-list mail (List-Id, Precedence: list) as questions; by default it is kept as ignored."`
	// Reply rate limits: the last line of defence against a reply loop with
	// an autoresponder that slipped past detection.
	ReplyLimitPerSender int           `name:"reply-limit-per-sender" env:"CODEDESK_REPLY_LIMIT_PER_SENDER" default:"10" help:"At most this many automatic replies to one address per reply-limit-window; more wait for review (0: no limit)."`
	ReplyLimitPerThread int           `name:"reply-limit-per-thread" env:"CODEDESK_REPLY_LIMIT_PER_THREAD" default:"3" help:"At most this many automatic replies in one case per reply-limit-window; more wait for review (0: no limit)."`
	ReplyLimitWindow    time.Duration `name:"reply-limit-window" env:"CODEDESK_REPLY_LIMIT_WINDOW" default:"1h" help:"Window of the reply rate limits."`
}

// Queue tunes River. River's defaults (100 workers, 100 ms fetch cooldown,
// 1 s poll) cap throughput near 1,000 jobs/s and add up to a second of
// latency per hop; codedesk's defaults are tuned for mail: see
// docs/benchmarks.md.
type Queue struct {
	Workers           int           `name:"workers" env:"CODEDESK_WORKERS" default:"50" help:"Jobs worked at once in this process."`
	FetchCooldown     time.Duration `name:"fetch-cooldown" env:"CODEDESK_FETCH_COOLDOWN" default:"5ms" help:"Minimum time between River fetches."`
	FetchPollInterval time.Duration `name:"fetch-poll-interval" env:"CODEDESK_FETCH_POLL_INTERVAL" default:"50ms" help:"How often River polls for jobs when no notification arrives."`
	JobTimeout        time.Duration `name:"job-timeout" env:"CODEDESK_JOB_TIMEOUT" default:"1m" help:"Longest a job may run before it is cancelled and retried."`
	RescueStuckAfter  time.Duration `name:"rescue-stuck-after" env:"CODEDESK_RESCUE_STUCK_AFTER" default:"2m" help:"A job still marked running this long after it started (its node died) is handed to another node; must exceed job-timeout."`
	RetryMaxDelay     time.Duration `name:"retry-max-delay" env:"CODEDESK_RETRY_MAX_DELAY" default:"0s" help:"Cap on the wait before a failed job is retried (0: River's attempt^4 seconds, uncapped)."`
}

// Cluster is how this node tells itself apart from others on one database.
type Cluster struct {
	NodeID   string        `name:"node-id" env:"CODEDESK_NODE_ID" help:"Name of this node among several on one database (default: hostname-pid)."`
	LeaseTTL time.Duration `name:"imap-lease-ttl" env:"CODEDESK_IMAP_LEASE_TTL" default:"6s" help:"One node polls each mailbox under a lease of this length, renewed every third of it; another node takes over within this time plus a second after the poller dies."`
	StepDown time.Duration `name:"imap-step-down-after" env:"CODEDESK_IMAP_STEP_DOWN_AFTER" default:"20s" help:"The polling node hands the mailbox to another node when it has had no IMAP session for this long (the server is unreachable from it); 0: never."`
}

// HTTP is the address of the web desk, /healthz and /metrics.
type HTTP struct {
	Addr string `name:"http-addr" env:"CODEDESK_HTTP_ADDR" default:"127.0.0.1:8080" help:"Listen address of the staff desk, /healthz and /metrics."`
}

// CodeSets says where official code-set files are found.
type CodeSets struct {
	Dir string `name:"codesets-dir" env:"CODEDESK_CODESETS_DIR" help:"Directory of official code-set files imported at start-up when not yet imported (make run: ../shared/data when it exists)."`
}

// Serve is everything "codedesk serve" needs.
type Serve struct {
	Database `embed:""`
	Log      `embed:""`
	IMAP     `embed:""`
	SMTP     `embed:""`
	OAuth    `embed:""`
	Policy   `embed:""`
	Queue    `embed:""`
	HTTP     `embed:""`
	CodeSets `embed:""`
	Web      `embed:""`
	Cluster  `embed:""`
}

// Secret returns value, or the trimmed content of file when file is set.
func Secret(value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading secret file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// Validate checks a Serve configuration before anything starts.
func (c *Serve) Validate() error {
	var errs []error
	if c.Database.URL == "" {
		errs = append(errs, errors.New("database-url: must not be empty"))
	}
	for name, addr := range map[string]string{"imap-addr": c.IMAP.Addr, "smtp-addr": c.SMTP.Addr, "http-addr": c.HTTP.Addr} {
		if name == "imap-addr" && c.IMAP.Disabled {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port: %w", name, addr, err))
		}
	}
	if c.Policy.MinConfidence < 0 || c.Policy.MinConfidence > 1 {
		errs = append(errs, fmt.Errorf("min-confidence: %v is not between 0 and 1", c.Policy.MinConfidence))
	}
	if c.Queue.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers: %d must be at least 1", c.Queue.Workers))
	}
	if c.Queue.FetchCooldown < time.Millisecond {
		errs = append(errs, fmt.Errorf("fetch-cooldown: %v must be at least 1ms", c.Queue.FetchCooldown))
	}
	if c.Queue.FetchPollInterval < c.Queue.FetchCooldown {
		errs = append(errs, fmt.Errorf("fetch-poll-interval: %v must not be below fetch-cooldown %v", c.Queue.FetchPollInterval, c.Queue.FetchCooldown))
	}
	if c.Queue.JobTimeout < time.Second {
		errs = append(errs, fmt.Errorf("job-timeout: %v must be at least 1s", c.Queue.JobTimeout))
	}
	if c.Queue.RescueStuckAfter <= c.Queue.JobTimeout {
		errs = append(errs, fmt.Errorf("rescue-stuck-after: %v must exceed job-timeout %v", c.Queue.RescueStuckAfter, c.Queue.JobTimeout))
	}
	if c.Queue.RetryMaxDelay < 0 {
		errs = append(errs, fmt.Errorf("retry-max-delay: %v must not be negative", c.Queue.RetryMaxDelay))
	}
	if c.Cluster.StepDown != 0 && c.Cluster.StepDown < 2*time.Second {
		errs = append(errs, fmt.Errorf("imap-step-down-after: %v must be 0 or at least 2s", c.Cluster.StepDown))
	}
	if c.Cluster.LeaseTTL < time.Second {
		errs = append(errs, fmt.Errorf("imap-lease-ttl: %v must be at least 1s", c.Cluster.LeaseTTL))
	}
	if c.IMAP.PollInterval < time.Second && !c.IMAP.Disabled {
		errs = append(errs, fmt.Errorf("imap-poll-interval: %v must be at least 1s", c.IMAP.PollInterval))
	}
	if c.Policy.ReplyLimitPerSender < 0 || c.Policy.ReplyLimitPerThread < 0 {
		errs = append(errs, errors.New("reply-limit-per-sender, reply-limit-per-thread: must not be negative"))
	}
	if c.Policy.ReplyLimitWindow != 0 && c.Policy.ReplyLimitWindow < time.Minute {
		errs = append(errs, fmt.Errorf("reply-limit-window: %v must be at least 1m", c.Policy.ReplyLimitWindow))
	}
	if c.SMTP.CopyTo != "" && !strings.Contains(c.SMTP.CopyTo, "@") {
		errs = append(errs, fmt.Errorf("smtp-copy-to: %q is not an email address", c.SMTP.CopyTo))
	}
	if c.SMTP.CopyGrace < 0 {
		errs = append(errs, fmt.Errorf("smtp-copy-grace: %v must not be negative", c.SMTP.CopyGrace))
	}
	if c.IMAP.Disabled && c.IMAP.SentFolder != "" {
		errs = append(errs, errors.New("imap-sent-folder: needs the IMAP account (imap-disabled is set)"))
	}
	if c.IMAP.Disabled && c.IMAP.VerifyFolder != "" {
		errs = append(errs, errors.New("imap-verify-folder: needs the IMAP account (imap-disabled is set)"))
	}
	if err := c.validateMailAuth(); err != nil {
		errs = append(errs, err)
	}
	if !strings.Contains(c.SMTP.From, "@") {
		errs = append(errs, fmt.Errorf("from: %q is not an email address", c.SMTP.From))
	}
	return errors.Join(errs...)
}
