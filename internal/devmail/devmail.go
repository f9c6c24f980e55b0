// Package devmail is codedesk's development mail server: an IMAP server
// (go-imap v2's imapserver with its in-memory imapmemserver store) and an SMTP
// server (go-smtp) on loopback that delivers into the same mailboxes. It has
// demo accounts (the desk and a coder), so "make run", the end-to-end tests
// and the benchmarks need no real mail server, and any standard mail client
// can be pointed at it.
//
// It also holds Ask, the logic behind "codedesk ask": send a question to the
// desk over SMTP and wait for the threaded reply over IMAP.
//
// Mail is kept in memory only; it is gone when the server stops.
package devmail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"
)

// Default listen addresses and limits.
const (
	// DefaultIMAPAddr is where IMAP listens unless Config.IMAPAddr says otherwise.
	DefaultIMAPAddr = "127.0.0.1:1143"
	// DefaultSMTPAddr is where SMTP listens unless Config.SMTPAddr says otherwise.
	DefaultSMTPAddr = "127.0.0.1:1025"
	// DefaultMaxMessageBytes is the largest message SMTP and IMAP APPEND
	// accept unless Config.MaxMessageBytes says otherwise (25 MiB).
	DefaultMaxMessageBytes = 25 << 20
	// Domain is the name the SMTP server greets with and stamps into
	// Received headers.
	Domain = "devmail.codedesk.test"
)

// Mailbox names every account has.
const (
	Inbox = "INBOX"
	Sent  = "Sent"
)

// Account is one mailbox owner: a login address and its password.
type Account struct {
	Address, Password string
}

// DefaultAccounts returns the demo accounts: the desk
// (desk@codedesk.test, password "desk") and a coder who asks it questions
// (coder@clinic.test, password "coder").
func DefaultAccounts() []Account {
	return []Account{
		{Address: "desk@codedesk.test", Password: "desk"},
		{Address: "coder@clinic.test", Password: "coder"},
	}
}

// ParseAccount parses "address:password" (the --account flag). The address is
// everything before the first colon; the password may itself hold colons.
func ParseAccount(s string) (Account, error) {
	addr, pass, ok := strings.Cut(s, ":")
	addr = strings.TrimSpace(addr)
	if !ok {
		return Account{}, fmt.Errorf("account %q: want address:password", addr)
	}
	a := Account{Address: addr, Password: pass}
	if err := a.validate(); err != nil {
		return Account{}, err
	}
	return a, nil
}

// UnmarshalText parses "address:password", so an Account can be a
// command-line flag value.
func (a *Account) UnmarshalText(b []byte) error {
	p, err := ParseAccount(string(b))
	if err != nil {
		return err
	}
	*a = p
	return nil
}

// String returns the address only, never the password.
func (a Account) String() string { return a.Address }

func (a Account) validate() error {
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(a.Address, " \t\r\n<>,:;\"") || strings.Count(a.Address, "@") != 1 {
		return fmt.Errorf("account %q: not an email address like name@example.test", a.Address)
	}
	if a.Password == "" {
		return fmt.Errorf("account %q: empty password", a.Address)
	}
	return nil
}

// Config configures Start. The zero value listens on the default ports with
// the default accounts.
type Config struct {
	// IMAPAddr and SMTPAddr are host:port listen addresses; empty means
	// DefaultIMAPAddr and DefaultSMTPAddr; "127.0.0.1:0" picks a free port
	// (tests), and IMAPAddr/SMTPAddr on the Server report the one chosen.
	IMAPAddr, SMTPAddr string
	// Accounts default to DefaultAccounts.
	Accounts []Account
	// Logger receives connection-level events (IDs and counts, never
	// addresses, bodies or credentials). Nil discards them.
	Logger *slog.Logger
	// AllowRemote permits listen addresses other than loopback. Passwords
	// travel in plain text, so leave it off except in a closed network.
	AllowRemote bool
	// MaxMessageBytes caps a message over SMTP and IMAP APPEND; zero means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int64
}

// Server is a running development mail server.
type Server struct {
	log      *slog.Logger
	maxBytes int64
	accounts []*account

	imapLn, smtpLn net.Listener
	imap           *imapserver.Server
	smtp           *smtp.Server

	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
}

// account is an Account with its in-memory mailboxes.
type account struct {
	Account
	user    *imapmemserver.User
	changed notifier
}

// Start validates cfg, listens on both addresses and serves until ctx is
// cancelled or Close is called. When it returns without error, both ports
// accept connections.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.IMAPAddr == "" {
		cfg.IMAPAddr = DefaultIMAPAddr
	}
	if cfg.SMTPAddr == "" {
		cfg.SMTPAddr = DefaultSMTPAddr
	}
	if len(cfg.Accounts) == 0 {
		cfg.Accounts = DefaultAccounts()
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.MaxMessageBytes > 1<<31 {
		return nil, fmt.Errorf("max message bytes %d: must be at most 2 GiB", cfg.MaxMessageBytes)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for name, addr := range map[string]string{"imap": cfg.IMAPAddr, "smtp": cfg.SMTPAddr} {
		if err := checkListenAddr(addr, cfg.AllowRemote); err != nil {
			return nil, fmt.Errorf("%s address: %w", name, err)
		}
	}

	s := &Server{log: log, maxBytes: cfg.MaxMessageBytes, done: make(chan struct{})}
	seen := map[string]bool{}
	locals := map[string]int{}
	for _, a := range cfg.Accounts {
		if err := a.validate(); err != nil {
			return nil, err
		}
		key := strings.ToLower(a.Address)
		if seen[key] {
			return nil, fmt.Errorf("account %q: listed twice", a.Address)
		}
		seen[key] = true
		local, _, _ := strings.Cut(key, "@")
		locals[local]++
		acc := &account{Account: Account{Address: key, Password: a.Password}}
		acc.changed.init()
		acc.user = imapmemserver.NewUser(key, a.Password)
		for _, mbox := range []string{Inbox, Sent} {
			if err := acc.user.Create(mbox, nil); err != nil {
				return nil, fmt.Errorf("creating mailbox %s: %w", mbox, err)
			}
			if err := acc.user.Subscribe(mbox); err != nil {
				return nil, fmt.Errorf("subscribing mailbox %s: %w", mbox, err)
			}
		}
		s.accounts = append(s.accounts, acc)
	}

	var lc net.ListenConfig
	var err error
	if s.imapLn, err = lc.Listen(ctx, "tcp", cfg.IMAPAddr); err != nil {
		return nil, fmt.Errorf("listening for IMAP: %w", err)
	}
	if s.smtpLn, err = lc.Listen(ctx, "tcp", cfg.SMTPAddr); err != nil {
		s.imapLn.Close()
		return nil, fmt.Errorf("listening for SMTP: %w", err)
	}

	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	s.imap = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &imapSession{srv: s}, nil, nil
		},
		Caps: imap.CapSet{
			imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {},
			// Part of IMAP4rev2 and implemented by imapmemserver; listed so
			// IMAP4rev1 clients (Thunderbird, most others) may use them too.
			imap.CapNamespace: {}, imap.CapUIDPlus: {}, imap.CapMove: {},
			imap.CapListStatus: {}, imap.CapStatusSize: {},
		},
		Logger:       errLog,
		InsecureAuth: true, // loopback dev server: plain LOGIN without TLS
	})
	s.smtp = smtp.NewServer(&smtpBackend{srv: s})
	s.smtp.Domain = Domain
	s.smtp.AllowInsecureAuth = true
	s.smtp.MaxMessageBytes = cfg.MaxMessageBytes
	s.smtp.MaxRecipients = 100
	s.smtp.ReadTimeout = 5 * time.Minute // RFC 5321 4.5.3.2: at least 5 min per command
	s.smtp.WriteTimeout = time.Minute
	s.smtp.ErrorLog = errLog

	s.wg.Go(func() {
		if err := s.imap.Serve(s.imapLn); err != nil && !s.closing() {
			log.Error("imap server stopped", "error", err)
		}
	})
	s.wg.Go(func() {
		if err := s.smtp.Serve(s.smtpLn); err != nil && !s.closing() {
			log.Error("smtp server stopped", "error", err)
		}
	})
	stop := context.AfterFunc(ctx, func() { s.Close() })
	go func() {
		<-s.done
		stop()
	}()
	log.Info("devmail listening", "imap_addr", s.IMAPAddr(), "smtp_addr", s.SMTPAddr(), "accounts", len(s.accounts))
	return s, nil
}

// checkListenAddr refuses addresses that are not host:port or, unless
// allowRemote, not on loopback.
func checkListenAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if allowRemote || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address; the dev mail server takes plain-text passwords, so it listens on 127.0.0.1 or ::1 only unless remote access is allowed explicitly", addr)
}

// isLoopback reports whether host is localhost or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// IMAPAddr returns the host:port IMAP listens on.
func (s *Server) IMAPAddr() string { return s.imapLn.Addr().String() }

// SMTPAddr returns the host:port SMTP listens on.
func (s *Server) SMTPAddr() string { return s.smtpLn.Addr().String() }

// Accounts returns the accounts served (addresses in lower case).
func (s *Server) Accounts() []Account {
	out := make([]Account, len(s.accounts))
	for i, a := range s.accounts {
		out[i] = a.Account
	}
	return out
}

// Done is closed once the server has stopped.
func (s *Server) Done() <-chan struct{} { return s.done }

func (s *Server) closing() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Close stops both servers, drops their connections and waits for them to
// finish. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		err1 := s.imap.Close()
		err2 := s.smtp.Close()
		// go-smtp's Close misses a listener whose Serve has not started
		// yet; closing our own listeners ends such a Serve too.
		_ = s.imapLn.Close()
		_ = s.smtpLn.Close()
		s.wg.Wait()
		if err2 != nil && errors.Is(err2, smtp.ErrServerClosed) {
			err2 = nil
		}
		s.closeErr = errors.Join(err1, err2)
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("closing dev mail server: %w", s.closeErr)
		}
		s.log.Info("devmail stopped")
	})
	return s.closeErr
}

// lookup finds the account for an address, or for a bare local part when
// exactly one account has it. Case does not matter.
func (s *Server) lookup(name string) *account {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return nil
	}
	var byLocal *account
	n := 0
	for _, a := range s.accounts {
		if a.Address == name {
			return a
		}
		if local, _, _ := strings.Cut(a.Address, "@"); local == name {
			byLocal = a
			n++
		}
	}
	if !strings.Contains(name, "@") && n == 1 {
		return byLocal
	}
	return nil
}

// ErrNoAccount is returned for an address that is not one of the server's
// accounts.
var ErrNoAccount = errors.New("no such account")

// ErrNoMailbox is returned for a mailbox the account does not have.
var ErrNoMailbox = errors.New("no such mailbox")

// Append stores raw (an RFC 5322 message) in the account's mailbox, as a
// delivery would but without adding trace headers. Bare LF line ends are
// turned into CRLF. IMAP clients idling on the mailbox are told at once.
func (s *Server) Append(ctx context.Context, account, mailbox string, raw []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("appending message: %w", err)
	}
	a := s.lookup(account)
	if a == nil {
		return fmt.Errorf("appending message: %w: %q", ErrNoAccount, account)
	}
	if len(raw) == 0 {
		return errors.New("appending message: empty message")
	}
	raw = normalizeCRLF(raw)
	if int64(len(raw)) > s.maxBytes {
		return fmt.Errorf("appending message: %d bytes exceeds the %d-byte limit", len(raw), s.maxBytes)
	}
	return s.appendTo(a, mailbox, raw)
}

func (s *Server) appendTo(a *account, mailbox string, raw []byte) error {
	_, err := a.user.Append(mailbox, &literal{Reader: bytes.NewReader(raw), size: int64(len(raw))}, &imap.AppendOptions{Time: time.Now()})
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Code == imap.ResponseCodeTryCreate {
			return fmt.Errorf("appending message: %w: %q", ErrNoMailbox, mailbox)
		}
		return fmt.Errorf("appending message: %w", err)
	}
	a.changed.notify()
	return nil
}

// Count returns the number of messages in the account's mailbox.
func (s *Server) Count(account, mailbox string) (int, error) {
	a := s.lookup(account)
	if a == nil {
		return 0, fmt.Errorf("counting messages: %w: %q", ErrNoAccount, account)
	}
	st, err := a.user.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		return 0, fmt.Errorf("counting messages: %w: %q", ErrNoMailbox, mailbox)
	}
	return int(*st.NumMessages), nil
}

// Messages returns the raw bytes of every message in the account's mailbox,
// oldest first, read over the server's own IMAP port (without setting
// \Seen). Tests use it to check what was delivered.
func (s *Server) Messages(ctx context.Context, account, mailbox string) ([][]byte, error) {
	a := s.lookup(account)
	if a == nil {
		return nil, fmt.Errorf("reading messages: %w: %q", ErrNoAccount, account)
	}
	c, err := imapclient.DialInsecure(s.IMAPAddr(), nil)
	if err != nil {
		return nil, fmt.Errorf("reading messages: dialing IMAP: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(a.Address, a.Password).Wait(); err != nil {
		return nil, fmt.Errorf("reading messages: logging in: %w", err)
	}
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("reading messages: selecting %s: %w", mailbox, err)
	}
	if sel.NumMessages == 0 {
		return nil, nil
	}
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(seqRange(sel.NumMessages)...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return nil, fmt.Errorf("reading messages: fetching: %w", err)
	}
	out := make([][]byte, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.FindBodySection(section))
	}
	_ = c.Logout().Wait()
	return out, nil
}

func seqRange(n uint32) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(i) + 1
	}
	return out
}

// literal adapts a byte reader to imap.LiteralReader.
type literal struct {
	io.Reader
	size int64
}

func (l *literal) Size() int64 { return l.size }

// normalizeCRLF turns bare LF (and bare CR) line ends into CRLF, as IMAP
// requires; CRLF input is returned unchanged.
func normalizeCRLF(b []byte) []byte {
	bare := false
	for i, c := range b {
		if (c == '\n' && (i == 0 || b[i-1] != '\r')) || (c == '\r' && (i+1 == len(b) || b[i+1] != '\n')) {
			bare = true
			break
		}
	}
	if !bare {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/32)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\r' && i+1 < len(b) && b[i+1] == '\n':
			out = append(out, '\r', '\n')
			i++
		case c == '\r' || c == '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	return out
}

// notifier wakes every waiter when an account's mailboxes change: wait
// returns a channel that is closed by the next notify.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *notifier) init() { n.ch = make(chan struct{}) }

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

func (n *notifier) notify() {
	n.mu.Lock()
	close(n.ch)
	n.ch = make(chan struct{})
	n.mu.Unlock()
}
