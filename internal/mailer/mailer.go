// Package mailer sends codedesk's replies over SMTP with go-mail, threaded
// on the question (In-Reply-To, References), under the Message-ID the
// caller generated and stored beforehand, and reports failures as
// temporary (retry later) or permanent (do not retry).
package mailer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// Security modes for Config.Security.
const (
	SecurityNone     = "none"     // plain SMTP, never STARTTLS (loopback and tests)
	SecurityStartTLS = "starttls" // STARTTLS required
	SecurityTLS      = "tls"      // implicit TLS from the first byte (port 465)
)

// Config says how to reach the SMTP server.
type Config struct {
	Addr     string // host:port
	Security string // none, starttls or tls (default starttls)
	// Username enables AUTH (PLAIN, or LOGIN when the server offers only
	// that); empty means no AUTH.
	Username string
	Password string
	// TokenSource, when set, replaces Password: each send asks it for an
	// OAuth access token and authenticates with XOAUTH2 as Username
	// (mailauth.Source.Token).
	TokenSource func(ctx context.Context) (string, error)
	// Timeout bounds the dial and each command (default 30s).
	Timeout time.Duration
	// HeloName is the EHLO name (default: the host name).
	HeloName string
	// TLSConfig overrides the TLS settings (e.g. a private CA); its
	// ServerName defaults to the host of Addr.
	TLSConfig *tls.Config
}

// Address is a mailbox with an optional display name.
type Address struct {
	Name string
	Addr string
}

// Outgoing is one reply to send.
type Outgoing struct {
	From Address
	// To is the recipient, "addr" or "Name <addr>".
	To      string
	Subject string
	// MessageID (without <>) is used exactly as given; the caller
	// generates it (NewMessageID) and stores it before sending, so a retry
	// sends the same message.
	MessageID  string
	InReplyTo  string   // without <>
	References []string // without <>, oldest first
	Text       string   // required
	HTML       string   // optional alternative
	// AutoSubmitted marks mail sent without review (RFC 3834
	// "Auto-Submitted: auto-replied").
	AutoSubmitted bool
	Date          time.Time // default now
	// Bcc are envelope-only recipients (no header): the desk's own copy
	// address, whose copy proves later that the server accepted the reply.
	Bcc []string
}

// Result is the outcome of a successful send.
type Result struct {
	// Response is the server's reply to the end of data, e.g.
	// "2.0.0 Ok: queued as 4Zk1".
	Response string
	// Raw is the message as built (headers and body), for the desk's
	// records and the Sent folder.
	Raw []byte
}

// Error is a failed send. Temporary errors (4xx replies, timeouts,
// connection failures, TLS handshake failures) may succeed on retry;
// permanent ones (5xx replies, a message that cannot be built) will not.
type Error struct {
	Temporary bool
	Code      int    // SMTP reply code, 0 when the server gave none
	Enhanced  string // RFC 3463 enhanced status code, e.g. "5.1.1"
	Message   string // what went wrong, with the server's text
	Stage     string // connect, tls, auth, mail, rcpt, data, build
	Err       error  // the underlying error
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	if e.Code != 0 {
		return fmt.Sprintf("%s SMTP failure at %s: %d %s", kind, e.Stage, e.Code, e.Message)
	}
	return fmt.Sprintf("%s SMTP failure at %s: %s", kind, e.Stage, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// InDoubt reports whether the server may have accepted the message despite
// the error: the connection failed (no reply code) while the message was
// being written or its final reply awaited. A caller should look for
// evidence of delivery before sending again.
func (e *Error) InDoubt() bool { return e.Stage == "data" && e.Code == 0 }

// IsTemporary reports whether err is a *Error worth retrying. Errors of
// other types count as temporary: losing a reply is worse than retrying.
func IsTemporary(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Temporary
	}
	return err != nil
}

// Mailer sends messages. It is safe for concurrent use; each Send uses its
// own connection.
type Mailer struct {
	cfg  Config
	host string
	port int
	err  error // configuration error, reported by Send
}

// New returns a Mailer for cfg. Configuration errors are reported by Send
// as permanent errors.
func New(cfg Config) *Mailer {
	m := &Mailer{cfg: cfg}
	if m.cfg.Timeout <= 0 {
		m.cfg.Timeout = 30 * time.Second
	}
	if m.cfg.Security == "" {
		m.cfg.Security = SecurityStartTLS
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		m.err = fmt.Errorf("parsing SMTP address %q: %w", cfg.Addr, err)
		return m
	}
	m.host = host
	m.port, err = strconv.Atoi(port)
	if err != nil || m.port <= 0 || m.port > 65535 {
		m.err = fmt.Errorf("parsing SMTP port %q: invalid", port)
	}
	switch m.cfg.Security {
	case SecurityNone, SecurityStartTLS, SecurityTLS:
	default:
		m.err = fmt.Errorf("unknown SMTP security %q (want none, starttls or tls)", m.cfg.Security)
	}
	return m
}

// Send sends one message. ctx bounds the whole exchange.
func (m *Mailer) Send(ctx context.Context, o Outgoing) (Result, error) {
	if m.err != nil {
		return Result{}, &Error{Stage: "build", Message: m.err.Error(), Err: m.err}
	}
	msg, err := buildMessage(o)
	if err != nil {
		return Result{}, &Error{Stage: "build", Message: err.Error(), Err: err}
	}
	// go-mail honours ctx only while dialling; closing the connection when
	// ctx ends makes it bound the whole exchange.
	var stops []func() bool
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		if m.cfg.Security == SecurityTLS {
			tc := tls.Client(c, m.tlsConfig())
			if err := tc.HandshakeContext(dctx); err != nil {
				c.Close()
				return nil, err
			}
			c = tc // kept unwrapped: go-mail detects TLS by type
		}
		stops = append(stops, context.AfterFunc(ctx, func() { c.Close() }))
		return c, nil
	}
	password := m.cfg.Password
	if m.cfg.TokenSource != nil {
		token, err := m.cfg.TokenSource(ctx)
		if err != nil {
			// The token endpoint may recover: retry later.
			return Result{}, &Error{Temporary: true, Stage: "auth", Message: "getting an OAuth token: " + err.Error(), Err: err}
		}
		password = token
	}
	client, err := m.client(dial, password)
	if err != nil {
		return Result{}, &Error{Stage: "build", Message: err.Error(), Err: err}
	}
	var raw bytes.Buffer
	if _, err := msg.WriteTo(&raw); err != nil {
		return Result{}, &Error{Stage: "build", Message: err.Error(), Err: err}
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		if msg.IsDelivered() {
			// The server took the message; only closing the connection
			// failed. Reporting failure would make the caller send it twice.
			return Result{Response: msg.ServerResponse(), Raw: raw.Bytes()}, nil
		}
		return Result{}, classify(ctx, err)
	}
	return Result{Response: msg.ServerResponse(), Raw: raw.Bytes()}, nil
}

// tlsConfig is the TLS configuration for the server.
func (m *Mailer) tlsConfig() *tls.Config {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.cfg.TLSConfig != nil {
		tc = m.cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = m.host
	}
	return tc
}

// client makes a go-mail client for one send.
func (m *Mailer) client(dial mail.DialContextFunc, password string) (*mail.Client, error) {
	opts := []mail.Option{
		mail.WithPort(m.port),
		mail.WithTimeout(m.cfg.Timeout),
		mail.WithTLSConfig(m.tlsConfig()),
		mail.WithDialContextFunc(dial),
	}
	encrypted := true
	switch m.cfg.Security {
	case SecurityNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
		encrypted = false
	case SecurityStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case SecurityTLS:
		opts = append(opts, mail.WithSSL())
	}
	if m.cfg.HeloName != "" {
		opts = append(opts, mail.WithHELO(m.cfg.HeloName))
	}
	if m.cfg.Username != "" && m.cfg.TokenSource != nil {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthXOAUTH2), mail.WithUsername(m.cfg.Username), mail.WithPassword(password))
	} else if m.cfg.Username != "" {
		// PLAIN, or LOGIN when the server offers only that. Without TLS
		// (Security none, meant for loopback) go-mail's "-NOENC" variants
		// are needed to send credentials at all.
		if encrypted {
			opts = append(opts, mail.WithOpportunisticSMTPAuth(mail.SMTPAuthPlain, mail.SMTPAuthLogin))
		} else {
			opts = append(opts, mail.WithOpportunisticSMTPAuth(mail.SMTPAuthPlainNoEnc, mail.SMTPAuthLoginNoEnc))
		}
		opts = append(opts, mail.WithUsername(m.cfg.Username), mail.WithPassword(password))
	}
	return mail.NewClient(m.host, opts...)
}

// msgIDChars is what a Message-ID (without <>) may contain here: the
// RFC 5322 dot-atom text on both sides of one "@".
var msgIDChars = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_{|}~.-]+@[A-Za-z0-9!#$%&'*+/=?^_{|}~.\[\]:-]+$`)

// buildMessage turns o into a go-mail message.
func buildMessage(o Outgoing) (*mail.Msg, error) {
	if !msgIDChars.MatchString(o.MessageID) {
		return nil, fmt.Errorf("message ID %q is not a valid id-left@id-right", o.MessageID)
	}
	ids := append([]string{o.InReplyTo}, o.References...)
	for _, id := range ids {
		if id != "" && !msgIDChars.MatchString(id) {
			return nil, fmt.Errorf("threading ID %q is not a valid id-left@id-right", id)
		}
	}
	if strings.TrimSpace(o.Text) == "" {
		return nil, errors.New("reply has no text body")
	}
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(o.From.Name, o.From.Addr); err != nil {
		return nil, fmt.Errorf("setting From: %w", err)
	}
	if err := msg.To(o.To); err != nil {
		return nil, fmt.Errorf("setting To: %w", err)
	}
	for _, b := range o.Bcc {
		if err := msg.AddBcc(b); err != nil {
			return nil, fmt.Errorf("adding Bcc: %w", err)
		}
	}
	msg.Subject(o.Subject)
	msg.SetMessageIDWithValue(o.MessageID)
	if o.InReplyTo != "" {
		msg.SetGenHeader(mail.HeaderInReplyTo, "<"+o.InReplyTo+">")
	}
	if refs := joinIDs(o.References); refs != "" {
		// One space-separated value: go-mail joins several values with
		// ", ", which RFC 5322 section 3.6.4 does not allow.
		msg.SetGenHeader(mail.HeaderReferences, refs)
	}
	if o.AutoSubmitted {
		msg.SetGenHeader(mail.Header("Auto-Submitted"), "auto-replied")
	}
	if o.Date.IsZero() {
		msg.SetDate()
	} else {
		msg.SetDateWithValue(o.Date)
	}
	msg.SetBodyString(mail.TypeTextPlain, o.Text)
	if o.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, o.HTML)
	}
	return msg, nil
}

func joinIDs(ids []string) string {
	var b strings.Builder
	for _, id := range ids {
		if id == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("<" + id + ">")
	}
	return b.String()
}

// enhancedCode finds an RFC 3463 status code in a reply text.
var enhancedCode = regexp.MustCompile(`\b([245])\.\d{1,3}\.\d{1,3}\b`)

// classify turns a go-mail or network error into an *Error.
func classify(ctx context.Context, err error) *Error {
	e := &Error{Err: err, Message: err.Error(), Stage: "connect"}
	var se *mail.SendError
	if errors.As(err, &se) {
		switch se.Reason {
		case mail.ErrSMTPMailFrom:
			e.Stage = "mail"
		case mail.ErrSMTPRcptTo:
			e.Stage = "rcpt"
		case mail.ErrSMTPData, mail.ErrSMTPDataClose, mail.ErrWriteContent:
			e.Stage = "data"
		case mail.ErrGetSender, mail.ErrGetRcpts:
			e.Stage = "build"
		default:
			e.Stage = "send"
		}
		e.Code = se.ErrorCode()
		e.Enhanced = se.EnhancedStatusCode()
		e.Temporary = se.IsTemp()
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		if e.Code == 0 {
			e.Code = tp.Code
		}
		e.Message = tp.Msg
		if se == nil {
			// A reply before any message was sent: greeting, EHLO, STARTTLS
			// or AUTH.
			switch {
			case strings.Contains(err.Error(), "SMTP AUTH failed"):
				e.Stage = "auth"
			case strings.Contains(strings.ToLower(err.Error()), "starttls"):
				e.Stage = "tls"
			}
		}
	}
	if e.Enhanced == "" {
		e.Enhanced = enhancedCode.FindString(e.Message)
	}
	switch {
	case e.Code >= 500 && e.Code < 600:
		e.Temporary = false
	case e.Code >= 400 && e.Code < 500:
		e.Temporary = true
	case e.Code == 0 && e.Stage == "build":
		e.Temporary = false
	default:
		// Timeouts, refused or dropped connections, TLS failures and
		// anything without a reply code: try again later.
		e.Temporary = true
	}
	if ctx.Err() != nil {
		e.Temporary = true
		e.Message = "cancelled: " + e.Message
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		e.Stage = stageOr(e.Stage, "connect")
		e.Message = "timeout: " + e.Message
	}
	return e
}

func stageOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// NewMessageID returns a new unique Message-ID (without <>) in domain:
// the time in base 36 and 96 random bits, e.g.
// "m5k2x9c1.4f1c0b2a9e8d7c6b5a4f3e2d@codedesk.example".
func NewMessageID(domain string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	domain = strings.Trim(strings.TrimSpace(domain), "<>@")
	if domain == "" {
		domain = "codedesk.invalid"
	}
	return strconv.FormatInt(time.Now().UnixMilli(), 36) + "." + hex.EncodeToString(b[:]) + "@" + domain
}
