package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Connection security values for Config.Security.
const (
	SecurityNone     = "none"     // plaintext; only allowed to a loopback address
	SecurityStartTLS = "starttls" // STARTTLS on the plain port
	SecurityTLS      = "tls"      // implicit TLS (port 993)
)

// Defaults applied by New to zero Config fields.
const (
	DefaultMailbox        = "INBOX"
	DefaultPollInterval   = 30 * time.Second
	DefaultTimeout        = 30 * time.Second
	DefaultMaxMessageSize = 25 << 20 // 25 MiB
	DefaultReconnectMin   = time.Second
	DefaultReconnectMax   = time.Minute

	// maxHeaderSize bounds the header kept for an oversized message.
	maxHeaderSize = 1 << 20
)

// Config says which mailbox to read and how.
type Config struct {
	// Addr is the IMAP server's host:port.
	Addr string
	// Security is SecurityNone, SecurityStartTLS or SecurityTLS; empty means
	// SecurityNone. SecurityNone is refused for non-loopback hosts, so a
	// password never crosses a network in the clear.
	Security string
	// TLSConfig is used for SecurityStartTLS and SecurityTLS; nil means
	// defaults with ServerName taken from Addr.
	TLSConfig *tls.Config
	// Username and Password log in (LOGIN, or AUTHENTICATE PLAIN when the
	// server disables LOGIN). Neither is ever logged.
	Username, Password string
	// TokenSource, when set, replaces the password: each login asks it for
	// an OAuth access token and authenticates with XOAUTH2
	// (mailauth.Source.Token).
	TokenSource func(ctx context.Context) (string, error)
	// Mailbox to read; default DefaultMailbox.
	Mailbox string
	// PollInterval is the poll period when the server has no IDLE, and the
	// longest time one IDLE lasts before the poller re-searches anyway
	// (which also catches pushes a server failed to send). Default 30 s.
	PollInterval time.Duration
	// Timeout bounds the TCP connect, the TLS handshake, and each command:
	// a command whose reply stops arriving for longer than Timeout fails
	// and the connection is dropped. During IDLE the bound is
	// PollInterval + Timeout. Default 30 s.
	Timeout time.Duration
	// MaxMessageSize is the largest message fetched whole (RFC822.SIZE);
	// larger ones are fetched as header only, with Fetched.Truncated set.
	// Default 25 MiB.
	MaxMessageSize int64
	// ReconnectMin and ReconnectMax bound the exponential backoff (with
	// jitter) between connection attempts and between retries of a failed
	// delivery. Defaults 1 s and 1 min.
	ReconnectMin, ReconnectMax time.Duration
	// Logger receives IDs, UIDs, sizes and errors, never addresses,
	// subjects, bodies or credentials. nil discards.
	Logger *slog.Logger
	// Metrics, when not nil, receives the poller's counters and gauges.
	Metrics *Metrics

	// readCapSlack is what one command may read beyond MaxMessageSize
	// (default 16 MiB); tests lower it.
	readCapSlack int64
}

// withDefaults returns cfg with zero fields set to their defaults, or an
// error naming every bad field.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Security == "" {
		cfg.Security = SecurityNone
	}
	if cfg.Mailbox == "" {
		cfg.Mailbox = DefaultMailbox
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxMessageSize == 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.ReconnectMin == 0 {
		cfg.ReconnectMin = DefaultReconnectMin
	}
	if cfg.ReconnectMax == 0 {
		cfg.ReconnectMax = DefaultReconnectMax
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}

	var errs []error
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		errs = append(errs, fmt.Errorf("addr: %q is not host:port", cfg.Addr))
	}
	switch cfg.Security {
	case SecurityNone:
		if err == nil && !isLoopback(host) {
			errs = append(errs, fmt.Errorf("security: %q sends the password in the clear; use starttls or tls for %s", cfg.Security, host))
		}
	case SecurityStartTLS, SecurityTLS:
	default:
		errs = append(errs, fmt.Errorf("security: %q is not none, starttls or tls", cfg.Security))
	}
	if cfg.Username == "" {
		errs = append(errs, errors.New("username: must not be empty"))
	}
	if cfg.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("poll interval: %v is negative", cfg.PollInterval))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %v is negative", cfg.Timeout))
	}
	if cfg.MaxMessageSize < 1024 {
		errs = append(errs, fmt.Errorf("max message size: %d is below 1024 bytes", cfg.MaxMessageSize))
	}
	if cfg.ReconnectMin < 0 || cfg.ReconnectMax < cfg.ReconnectMin {
		errs = append(errs, fmt.Errorf("reconnect backoff: min %v, max %v: want 0 <= min <= max", cfg.ReconnectMin, cfg.ReconnectMax))
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("mailbox config: %w", errors.Join(errs...))
	}
	return cfg, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
