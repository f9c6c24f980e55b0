package devmail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Test addresses: a recipient whose local part starts with one of these
// prefixes is refused with a temporary or a permanent error, whatever its
// domain, so retry and permanent-failure paths can be exercised (the same
// idea as mox localserve).
const (
	TempErrorPrefix = "temperror"
	PermErrorPrefix = "permerror"
)

var (
	errTempFail = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure for testing (temperror address), try again later"}
	errPermFail = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Permanent failure for testing (permerror address), delivery not authorized"}
	errNoUser   = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	errBadAuth  = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	errBadAddr  = &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Recipient address is not name@domain"}
)

// smtpBackend makes one smtpSession per SMTP connection.
type smtpBackend struct{ srv *Server }

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{srv: b.srv, conn: c}, nil
}

// smtpSession is one SMTP connection. AUTH is offered but not required.
type smtpSession struct {
	srv   *Server
	conn  *smtp.Conn
	authn bool

	from  string
	rcpts []rcpt
}

// rcpt is an accepted recipient: the address as given and its account.
type rcpt struct {
	addr string
	acc  *account
}

var _ smtp.AuthSession = (*smtpSession)(nil)

// AuthMechanisms lists PLAIN and LOGIN.
func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

// Auth checks credentials against the accounts (address or bare local part).
func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && !strings.EqualFold(identity, user) {
				return errBadAuth
			}
			return s.login(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: s.login}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *smtpSession) login(user, pass string) error {
	a := s.srv.lookup(user)
	if a == nil || a.user.Login(a.Address, pass) != nil {
		s.srv.log.Info("smtp auth failed")
		return errBadAuth
	}
	s.authn = true
	return nil
}

// Mail starts a transaction; any sender, including the null one, is accepted.
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	s.rcpts = nil
	return nil
}

// Rcpt accepts local accounts, refuses the test prefixes with 451/550 and
// every other address with 550 5.1.1.
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	local, domain, ok := strings.Cut(to, "@")
	if !ok || local == "" || domain == "" {
		return errBadAddr
	}
	switch l := strings.ToLower(local); {
	case strings.HasPrefix(l, TempErrorPrefix):
		return errTempFail
	case strings.HasPrefix(l, PermErrorPrefix):
		return errPermFail
	}
	a := s.srv.lookup(to)
	if a == nil {
		return errNoUser
	}
	for _, r := range s.rcpts {
		if r.acc == a {
			return nil
		}
	}
	s.rcpts = append(s.rcpts, rcpt{addr: to, acc: a})
	return nil
}

// Data reads the message and appends it, with trace headers, to the INBOX
// of every accepted recipient. An oversized message gets 552 5.3.4.
func (s *smtpSession) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if errors.Is(err, smtp.ErrDataTooLarge) {
		s.srv.log.Info("smtp message refused", "reason", "too large", "limit_bytes", s.srv.maxBytes)
		return smtp.ErrDataTooLarge
	}
	if err != nil {
		return fmt.Errorf("reading message: %w", err)
	}
	body = normalizeCRLF(body)
	id := newID()
	now := time.Now()
	for _, rc := range s.rcpts {
		msg := append(s.traceHeaders(id, rc.addr, now), body...)
		if err := s.srv.appendTo(rc.acc, Inbox, msg); err != nil {
			s.srv.log.Error("smtp delivery failed", "delivery_id", id, "error", err)
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local delivery failed, try again later"}
		}
	}
	s.srv.log.Info("smtp delivered", "delivery_id", id, "recipients", len(s.rcpts), "size_bytes", len(body), "authenticated", s.authn)
	return nil
}

// traceHeaders are what a receiving MTA prepends: Return-Path and
// Delivered-To (RFC 9228) for the final delivery, and a Received line
// (RFC 5321 4.4).
func (s *smtpSession) traceHeaders(id, to string, now time.Time) []byte {
	helo := s.conn.Hostname()
	if helo == "" {
		helo = "unknown"
	}
	ip := "unknown"
	if a, ok := s.conn.Conn().RemoteAddr().(*net.TCPAddr); ok {
		ip = a.IP.String()
	}
	with := "ESMTP"
	if s.authn {
		with = "ESMTPA"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", s.from)
	fmt.Fprintf(&b, "Delivered-To: %s\r\n", to)
	fmt.Fprintf(&b, "Received: from %s ([%s])\r\n\tby %s (codedesk devmail) with %s id %s\r\n\tfor <%s>; %s\r\n",
		helo, ip, Domain, with, id, to, now.Format(time.RFC1123Z))
	return b.Bytes()
}

// Reset aborts the transaction.
func (s *smtpSession) Reset() {
	s.from = ""
	s.rcpts = nil
}

// Logout ends the session.
func (s *smtpSession) Logout() error { return nil }

// newID returns a short random hex identifier for logs and Received lines.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// loginServer is the server side of SASL LOGIN (draft-murchison-sasl-login),
// which go-sasl provides only as a client; many mail clients still prefer it.
type loginServer struct {
	check    func(user, pass string) error
	user     string
	gotUser  bool
	finished bool
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch {
	case l.finished:
		return nil, true, sasl.ErrUnexpectedClientResponse
	case !l.gotUser && response == nil:
		return []byte("Username:"), false, nil
	case !l.gotUser:
		l.user, l.gotUser = string(response), true
		return []byte("Password:"), false, nil
	default:
		l.finished = true
		if err := l.check(l.user, string(response)); err != nil {
			return nil, true, err
		}
		return nil, true, nil
	}
}
