// Package smtptest runs a recording SMTP server (a sink) on 127.0.0.1 for
// tests: it accepts mail with github.com/emersion/go-smtp, records every
// accepted message (envelope, raw bytes, parsed header) and can be told to
// fail on purpose — 421/451 bursts, 550 for chosen recipients, slow replies,
// refused greetings — so retry and error paths can be tested against a real
// protocol exchange. It can require AUTH (PLAIN and LOGIN) and offer
// STARTTLS or implicit TLS with a self-signed certificate.
//
// All methods are safe for concurrent use.
package smtptest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Stage is the point of an SMTP exchange a programmed failure or delay
// applies to.
type Stage string

// The stages of an SMTP exchange.
const (
	StageConnect Stage = "connect" // the greeting: a failure sends it instead of 220 and hangs up
	StageMail    Stage = "mail"    // MAIL FROM
	StageRcpt    Stage = "rcpt"    // RCPT TO
	StageData    Stage = "data"    // the reply after the message data
)

// Credentials are the one user the sink accepts.
type Credentials struct {
	Username string
	Password string
}

// Options configures a sink. The zero value accepts any mail without AUTH
// or TLS.
type Options struct {
	// Auth, when set, makes the sink offer AUTH and accept only these
	// credentials.
	Auth *Credentials
	// AuthMechanisms lists the mechanisms offered (default PLAIN; LOGIN is
	// supported too).
	AuthMechanisms []string
	// RequireAuth rejects MAIL FROM before a successful AUTH with 530.
	RequireAuth bool
	// TLS offers STARTTLS with a self-signed certificate for 127.0.0.1.
	TLS bool
	// ImplicitTLS speaks TLS from the first byte (SMTPS, port 465 style).
	ImplicitTLS bool
	// MaxMessageBytes limits the message size (default 10 MiB).
	MaxMessageBytes int64
	// Domain is the name in the greeting (default "sink.test").
	Domain string
	// OnAccept, when set, is called with each message the sink is about
	// to accept, before it records it and answers 250 (a server that files
	// what it accepts in the sender's Sent folder does that first, as
	// Gmail and Exchange Online do). An error makes the sink answer with
	// it instead (an *smtp.SMTPError as is, anything else as 451) and not
	// record the message.
	OnAccept func(m Message) error
}

// Message is one message the sink accepted.
type Message struct {
	From     string      // MAIL FROM address
	To       []string    // RCPT TO addresses, in order
	Raw      []byte      // the message as received (CRLF line endings)
	Header   mail.Header // Raw's header, parsed with go-message
	AuthUser string      // the AUTH user, if any
	TLS      bool        // whether the connection was encrypted
	Helo     string      // the EHLO/HELO name the client gave
	Received time.Time
}

// failure is a programmed reply.
type failure struct {
	code int
	msg  string
}

// Sink is a running SMTP sink.
type Sink struct {
	srv      *smtp.Server
	ln       net.Listener
	addr     string
	clientTC *tls.Config
	opts     Options

	mu        sync.Mutex
	msgs      []Message
	changed   chan struct{} // closed and replaced whenever msgs grows
	fail      map[Stage][]failure
	rejects   map[string]failure
	delays    map[Stage]time.Duration
	conns     int
	dataCount int
	closed    chan struct{}
	closeOnce sync.Once
}

// Start starts a sink on 127.0.0.1 with a free port and stops it when the
// test ends.
func Start(t testing.TB, opts Options) *Sink {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("starting SMTP sink: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// New starts a sink outside a test (for development servers and
// benchmarks); call Close to stop it.
func New(opts Options) (*Sink, error) {
	if opts.Domain == "" {
		opts.Domain = "sink.test"
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 10 << 20
	}
	if len(opts.AuthMechanisms) == 0 {
		opts.AuthMechanisms = []string{sasl.Plain}
	}
	s := &Sink{
		opts:    opts,
		changed: make(chan struct{}),
		fail:    map[Stage][]failure{},
		rejects: map[string]failure{},
		delays:  map[Stage]time.Duration{},
		closed:  make(chan struct{}),
	}
	srv := smtp.NewServer(&backend{s})
	srv.Domain = opts.Domain
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = opts.MaxMessageBytes
	srv.MaxRecipients = 100
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)

	var serverTC *tls.Config
	if opts.TLS || opts.ImplicitTLS {
		cert, pool, err := selfSigned()
		if err != nil {
			return nil, fmt.Errorf("making a certificate: %w", err)
		}
		serverTC = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.clientTC = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
		if opts.TLS {
			srv.TLSConfig = serverTC
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening: %w", err)
	}
	s.addr = ln.Addr().String()
	var l net.Listener = ln
	if opts.ImplicitTLS {
		l = tls.NewListener(l, serverTC)
	}
	s.ln = &faultListener{Listener: l, s: s}
	s.srv = srv
	go func() { _ = srv.Serve(s.ln) }()
	return s, nil
}

// Addr is the sink's "127.0.0.1:port".
func (s *Sink) Addr() string { return s.addr }

// Host is always "127.0.0.1".
func (s *Sink) Host() string { return "127.0.0.1" }

// Port is the TCP port the sink listens on.
func (s *Sink) Port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// ClientTLSConfig returns a TLS config that trusts the sink's self-signed
// certificate (nil when the sink has no TLS).
func (s *Sink) ClientTLSConfig() *tls.Config {
	if s.clientTC == nil {
		return nil
	}
	return s.clientTC.Clone()
}

// Close stops the sink and drops open connections. It is safe to call
// more than once.
func (s *Sink) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		_ = s.srv.Close()
	})
}

// Messages returns a copy of the messages accepted so far, in order.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Reset forgets the messages accepted so far and all programmed failures,
// rejections and delays.
func (s *Sink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
	s.fail = map[Stage][]failure{}
	s.rejects = map[string]failure{}
	s.delays = map[Stage]time.Duration{}
}

// Connections is how many connections the sink has accepted.
func (s *Sink) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// DataAttempts is how many messages were transferred with DATA, whether
// the sink then accepted them or answered with a programmed failure.
func (s *Sink) DataAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dataCount
}

// Wait blocks until at least n messages were accepted and returns them, or
// fails when ctx ends or the sink is closed.
func (s *Sink) Wait(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		if len(s.msgs) >= n {
			out := append([]Message(nil), s.msgs...)
			s.mu.Unlock()
			return out, nil
		}
		ch, have := s.changed, len(s.msgs)
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %d messages (have %d): %w", n, have, ctx.Err())
		case <-s.closed:
			return nil, fmt.Errorf("waiting for %d messages (have %d): sink closed", n, have)
		}
	}
}

// WaitFor waits up to timeout for at least n accepted messages and fails
// the test if they do not arrive.
func (s *Sink) WaitFor(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	msgs, err := s.Wait(ctx, n)
	if err != nil {
		t.Fatalf("SMTP sink: %v", err)
	}
	return msgs
}

// FailNext makes the next n messages fail after their data with the given
// reply (e.g. 451 to test retries, 421 for a server going away, 554 for a
// permanent rejection); later ones are accepted again. msg may start with
// an enhanced status code ("4.3.0 try later").
func (s *Sink) FailNext(n, code int, msg string) { s.FailNextAt(StageData, n, code, msg) }

// FailNextAt queues n failures with the given reply at one stage. At
// StageConnect the sink sends the reply instead of its greeting and hangs
// up.
func (s *Sink) FailNextAt(stage Stage, n, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.fail[stage] = append(s.fail[stage], failure{code, msg})
	}
}

// RejectRecipient makes RCPT TO for addr (case-insensitive) fail with the
// given reply until Reset.
func (s *Sink) RejectRecipient(addr string, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejects[strings.ToLower(addr)] = failure{code, msg}
}

// SetDelay makes the sink wait d before answering at a stage (before the
// greeting for StageConnect), to test client timeouts. Zero removes it.
func (s *Sink) SetDelay(stage Stage, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays[stage] = d
}

// takeFailure pops the next programmed failure for a stage.
func (s *Sink) takeFailure(stage Stage) *failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.fail[stage]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	s.fail[stage] = q[1:]
	return &f
}

// pause waits for the stage's programmed delay, or until the sink closes.
func (s *Sink) pause(stage Stage) {
	s.mu.Lock()
	d := s.delays[stage]
	s.mu.Unlock()
	if d <= 0 {
		return
	}
	select {
	case <-time.After(d):
	case <-s.closed:
	}
}

// smtpError makes the reply. A message starting with an enhanced status
// code ("5.1.1 User unknown") uses it; otherwise the code is class.0.0.
func (f *failure) smtpError() *smtp.SMTPError {
	enh := smtp.EnhancedCode{f.code / 100, 0, 0}
	msg := f.msg
	if code, rest, ok := strings.Cut(msg, " "); ok {
		var a, b, c int
		if n, err := fmt.Sscanf(code, "%d.%d.%d", &a, &b, &c); err == nil && n == 3 && a == f.code/100 {
			enh, msg = smtp.EnhancedCode{a, b, c}, rest
		}
	}
	return &smtp.SMTPError{Code: f.code, EnhancedCode: enh, Message: msg}
}

func (s *Sink) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// backend makes a session per connection.
type backend struct{ s *Sink }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

// session is one SMTP connection's state.
type session struct {
	s        *Sink
	conn     *smtp.Conn
	from     string
	to       []string
	authUser string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Auth == nil {
		return nil
	}
	return ss.s.opts.AuthMechanisms
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	want := ss.s.opts.Auth
	if want == nil {
		return nil, smtp.ErrAuthUnsupported
	}
	check := func(user, pass string) error {
		if user != want.Username || pass != want.Password {
			return smtp.ErrAuthFailed
		}
		ss.authUser = user
		return nil
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.s.pause(StageMail)
	if ss.s.opts.RequireAuth && ss.authUser == "" {
		// RFC 4954 section 6.
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	if f := ss.s.takeFailure(StageMail); f != nil {
		return f.smtpError()
	}
	ss.from = from
	ss.to = nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.pause(StageRcpt)
	ss.s.mu.Lock()
	rej, rejected := ss.s.rejects[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if rejected {
		return rej.smtpError()
	}
	if f := ss.s.takeFailure(StageRcpt); f != nil {
		return f.smtpError()
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.dataCount++
	ss.s.mu.Unlock()
	ss.s.pause(StageData)
	if f := ss.s.takeFailure(StageData); f != nil {
		return f.smtpError()
	}
	m := Message{
		From:     ss.from,
		To:       append([]string(nil), ss.to...),
		Raw:      raw,
		AuthUser: ss.authUser,
		Helo:     ss.conn.Hostname(),
		Received: time.Now(),
	}
	if _, ok := ss.conn.TLSConnectionState(); ok {
		m.TLS = true
	}
	if e, err := message.Read(bytes.NewReader(raw)); e != nil && (err == nil || message.IsUnknownCharset(err) || message.IsUnknownEncoding(err)) {
		m.Header = mail.Header{Header: e.Header}
	}
	if hook := ss.s.opts.OnAccept; hook != nil {
		if err := hook(m); err != nil {
			var se *smtp.SMTPError
			if errors.As(err, &se) {
				return se
			}
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "not accepted: " + err.Error()}
		}
	}
	ss.s.record(m)
	return nil
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *session) Logout() error { return nil }

// loginServer implements the server side of the LOGIN mechanism
// (draft-murchison-sasl-login): ask for the user name, then the password.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step++
		if len(response) > 0 { // initial response carries the user name
			l.user = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(response)
		l.step++
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		return nil, true, l.check(l.user, string(response))
	}
	return nil, true, errors.New("unexpected LOGIN response")
}

// faultListener counts connections and applies StageConnect failures and
// delays before go-smtp sends its greeting.
type faultListener struct {
	net.Listener
	s *Sink
}

func (l *faultListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.s.mu.Lock()
		l.s.conns++
		d := l.s.delays[StageConnect]
		l.s.mu.Unlock()
		if f := l.s.takeFailure(StageConnect); f != nil {
			go func() {
				_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				fmt.Fprintf(c, "%d %d.0.0 %s\r\n", f.code, f.code/100, f.msg)
				_ = c.Close()
			}()
			continue
		}
		if d > 0 {
			return &slowConn{Conn: c, delay: d, closed: l.s.closed}, nil
		}
		return c, nil
	}
}

// slowConn delays its first write (the greeting).
type slowConn struct {
	net.Conn
	once   sync.Once
	delay  time.Duration
	closed <-chan struct{}
}

func (c *slowConn) Write(p []byte) (int, error) {
	c.once.Do(func() {
		select {
		case <-time.After(c.delay):
		case <-c.closed:
		}
	})
	return c.Conn.Write(p)
}
