package mailbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// deadlineConn is the TCP connection under the IMAP client. imapclient takes
// no context and sets its own fixed deadlines (30 s per response, 5 min per
// literal, none between responses); deadlineConn ignores those and applies
// the poller's instead:
//
//   - while a command is outstanding (arm), every Read must make progress
//     within the armed duration: the deadline is pushed forward on each
//     Read, so a large message that keeps flowing is fine and a server that
//     stops answering fails the command after that long;
//   - between commands (disarm) there is no read deadline, because the
//     poller may spend any time in the database;
//   - every Write must finish within the write timeout.
//
// It also keeps the last bytes the server sent, so that a connection the
// server closed right after an untagged BYE (e.g. "too many connections")
// can be told from a plain drop.
type deadlineConn struct {
	net.Conn
	writeTimeout time.Duration
	// readCap bounds the bytes read between two arm calls (one command),
	// so a hostile or broken server cannot make the client buffer without
	// end (imapclient itself sets no limit). 0: none.
	readCap int64

	mu          sync.Mutex
	readTimeout time.Duration // 0: disarmed
	readCount   int64         // bytes read since the last arm
	readErr     error         // first read error; every later Read returns it
	tail        []byte        // last tailSize bytes read
}

const tailSize = 512

// errReadCap is the read error once a command's replies pass the cap.
var errReadCap = errors.New("server sent more than the per-command limit")

func newDeadlineConn(c net.Conn, writeTimeout time.Duration, readCap int64) *deadlineConn {
	return &deadlineConn{Conn: c, writeTimeout: writeTimeout, readCap: readCap}
}

// arm gives pending and future reads d to make progress, and starts a new
// read budget.
func (c *deadlineConn) arm(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readTimeout = d
	c.readCount = 0
	c.Conn.SetReadDeadline(time.Now().Add(d))
}

// disarm removes the read deadline.
func (c *deadlineConn) disarm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readTimeout = 0
	c.Conn.SetReadDeadline(time.Time{})
}

// Read implements net.Conn. After the first error (a timeout, EOF) every
// Read fails at once with it: imapclient's decoder reads again while it
// reports an error, and each of those reads must not wait a fresh timeout.
func (c *deadlineConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.readErr != nil {
		err := c.readErr
		c.mu.Unlock()
		return 0, err
	}
	if c.readTimeout > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(c.readTimeout))
	}
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if n > 0 {
		c.tail = append(c.tail, p[:n]...)
		if len(c.tail) > tailSize {
			c.tail = append(c.tail[:0], c.tail[len(c.tail)-tailSize:]...)
		}
		c.readCount += int64(n)
		if c.readCap > 0 && c.readCount > c.readCap && err == nil {
			err = fmt.Errorf("%w (%d bytes)", errReadCap, c.readCap)
			c.Conn.Close()
		}
	}
	if err != nil && c.readErr == nil {
		c.readErr = err
	}
	c.mu.Unlock()
	return n, err
}

// Write implements net.Conn.
func (c *deadlineConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	return c.Conn.Write(p)
}

// SetDeadline ignores imapclient's deadlines (see deadlineConn).
func (c *deadlineConn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline ignores imapclient's deadlines (see deadlineConn).
func (c *deadlineConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline ignores imapclient's deadlines (see deadlineConn).
func (c *deadlineConn) SetWriteDeadline(time.Time) error { return nil }

// capExceeded reports whether the connection failed because a command
// read more than the cap (imapclient does not pass the read error on).
func (c *deadlineConn) capExceeded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return errors.Is(c.readErr, errReadCap)
}

// lastBye returns the text of the last untagged BYE the server sent, if it
// is among the last bytes read.
func (c *deadlineConn) lastBye() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := bytes.LastIndex(c.tail, []byte("* BYE"))
	if i < 0 || (i > 0 && c.tail[i-1] != '\n') {
		return ""
	}
	line := c.tail[i+len("* BYE"):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	return strings.TrimSpace(string(line))
}

// dial connects to the server with the configured security. The TCP
// connect and the TLS handshake are each bounded by cfg.Timeout and by ctx.
func dial(ctx context.Context, cfg *Config, opts *imapclient.Options) (*imapclient.Client, *deadlineConn, error) {
	d := net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", cfg.Addr, err)
	}
	dc := newDeadlineConn(raw, cfg.Timeout, readCap(cfg))
	switch cfg.Security {
	case SecurityTLS:
		tc := tls.Client(dc, tlsConfig(cfg))
		hctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			raw.Close()
			return nil, nil, fmt.Errorf("TLS handshake with %s: %w", cfg.Addr, err)
		}
		return imapclient.New(tc, opts), dc, nil
	case SecurityStartTLS:
		// NewStartTLS reads the greeting and runs STARTTLS; both are
		// commands and get the command timeout.
		dc.arm(cfg.Timeout)
		o := *opts
		o.TLSConfig = tlsConfig(cfg)
		c, err := imapclient.NewStartTLS(dc, &o)
		if err != nil {
			raw.Close()
			return nil, nil, fmt.Errorf("STARTTLS with %s: %w", cfg.Addr, err)
		}
		return c, dc, nil
	default:
		return imapclient.New(dc, opts), dc, nil
	}
}

// readCap is the most one command may read: a whole message plus slack
// for a server that understates RFC822.SIZE and for large SEARCH replies.
func readCap(cfg *Config) int64 {
	slack := cfg.readCapSlack
	if slack == 0 {
		slack = 16 << 20
	}
	return cfg.MaxMessageSize + slack
}

func tlsConfig(cfg *Config) *tls.Config {
	var tc *tls.Config
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	} else {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tc.ServerName == "" {
		host, _, _ := net.SplitHostPort(cfg.Addr)
		tc.ServerName = host
	}
	return tc
}
