package mailauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/mailauth"
	"github.com/codedesk/codedesk/internal/mailbox"
	"github.com/codedesk/codedesk/internal/mailer"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// provider is an OAuth token endpoint that also knows which access token
// is current, so the test mail servers can check what clients present.
type provider struct {
	*httptest.Server
	mu      sync.Mutex
	refresh string
	access  string
	n       int
}

func newProvider(t *testing.T) *provider {
	p := &provider{refresh: "bootstrap"}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.Form.Get("refresh_token") != p.refresh {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		p.n++
		p.refresh, p.access = fmt.Sprintf("r%d", p.n), fmt.Sprintf("a%d", p.n)
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": p.access, "token_type": "Bearer",
			"expires_in": 3600, "refresh_token": p.refresh})
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *provider) check(user, token string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if user != "desk@codedesk.test" || token == "" || token != p.access {
		return mailauth.ErrBadToken
	}
	return nil
}

// revoke makes the current access token invalid (as if it expired early).
func (p *provider) revoke() {
	p.mu.Lock()
	p.access = "revoked"
	p.mu.Unlock()
}

// oauthSession adds XOAUTH2 (checked against the provider) to go-imap's
// in-memory server session.
type oauthSession struct {
	imapserver.Session
	p *provider
}

func (s *oauthSession) AuthenticateMechanisms() []string { return []string{mailauth.XOAuth2} }

func (s *oauthSession) Authenticate(mech string) (sasl.Server, error) {
	if mech != mailauth.XOAuth2 {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "only XOAUTH2"}
	}
	return mailauth.NewXOAuth2Server(func(user, token string) error {
		if err := s.p.check(user, token); err != nil {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: "invalid token"}
		}
		return s.Session.Login(user, "mem-password")
	}), nil
}

func (s *oauthSession) Login(string, string) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "use XOAUTH2"}
}

func startIMAP(t *testing.T, p *provider) (string, *imapmemserver.User) {
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("desk@codedesk.test", "mem-password")
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &oauthSession{Session: mem.NewSession(), p: p}, nil, nil
		},
		// IMAP4rev1 only: the wrapper hides the memory session's IMAP4rev2 methods.
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), u
}

// smtpBackend accepts mail only after XOAUTH2 with the provider's current
// token.
type smtpBackend struct {
	p    *provider
	mu   sync.Mutex
	got  int
	auth int
}

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{b: b}, nil }

type smtpSession struct {
	b      *smtpBackend
	authed bool
}

func (s *smtpSession) AuthMechanisms() []string { return []string{mailauth.XOAuth2} }
func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return mailauth.NewXOAuth2Server(func(user, token string) error {
		if err := s.b.p.check(user, token); err != nil {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "invalid token"}
		}
		s.authed = true
		s.b.mu.Lock()
		s.b.auth++
		s.b.mu.Unlock()
		return nil
	}), nil
}
func (s *smtpSession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	return nil
}
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	_, _ = io.Copy(io.Discard, r)
	s.b.mu.Lock()
	s.b.got++
	s.b.mu.Unlock()
	return nil
}
func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

func startSMTP(t *testing.T, p *provider) (string, *smtpBackend) {
	be := &smtpBackend{p: p}
	s := smtp.NewServer(be)
	s.Domain, s.AllowInsecureAuth = "localhost", true
	s.ReadTimeout, s.WriteTimeout = 5*time.Second, 5*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String(), be
}

// TestXOAuth2MailLogin: the poller and the mailer log in with XOAUTH2
// using tokens from the (httptest) provider, which rotates the refresh
// token on every refresh; after the access token stops being accepted and
// expires, a fresh one is fetched and login works again.
func TestXOAuth2MailLogin(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	p := newProvider(t)
	now := time.Now()
	var clkMu sync.Mutex
	clk := func() time.Time { clkMu.Lock(); defer clkMu.Unlock(); return now }
	src, err := mailauth.New(mailauth.Config{Name: "desk", ClientID: "codedesk", TokenURL: p.URL, RefreshToken: "bootstrap", Now: clk}, db)
	if err != nil {
		t.Fatal(err)
	}
	imapAddr, user := startIMAP(t, p)
	smtpAddr, be := startSMTP(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// SMTP.
	m := mailer.New(mailer.Config{Addr: smtpAddr, Security: mailer.SecurityNone, Username: "desk@codedesk.test",
		TokenSource: src.Token, Timeout: 5 * time.Second})
	out := mailer.Outgoing{From: mailer.Address{Addr: "desk@codedesk.test"}, To: "coder@clinic.test", Subject: "Re: x",
		MessageID: mailer.NewMessageID("codedesk.test"), Text: "answer"}
	if _, err := m.Send(ctx, out); err != nil {
		t.Fatalf("Send() with XOAUTH2 = %v", err)
	}

	// IMAP: the poller logs in and fetches.
	raw := "From: coder@clinic.test\r\nTo: desk@codedesk.test\r\nSubject: q\r\nMessage-ID: <q1@clinic.test>\r\n\r\nK0001?\r\n"
	if _, err := user.Append("INBOX", literal{strings.NewReader(raw)}, &imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	sink := &countSink{}
	pl, err := mailbox.New(mailbox.Config{Addr: imapAddr, Username: "desk@codedesk.test", TokenSource: src.Token,
		PollInterval: time.Second, Timeout: 2 * time.Second, ReconnectMin: 10 * time.Millisecond, ReconnectMax: 100 * time.Millisecond}, sink)
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- pl.Run(pctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for sink.n() < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("poller never delivered with XOAUTH2: %+v", pl.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	pcancel()
	<-done

	// The access token is refused from now on and expires: the next login
	// refreshes (with the rotated refresh token) and succeeds.
	p.revoke()
	clkMu.Lock()
	now = now.Add(2 * time.Hour)
	clkMu.Unlock()
	if _, err := m.Send(ctx, out); err != nil {
		t.Fatalf("Send() after expiry = %v; want a refreshed token to work", err)
	}
	be.mu.Lock()
	got, auths := be.got, be.auth
	be.mu.Unlock()
	if got != 2 || auths != 2 {
		t.Errorf("SMTP server got %d messages after %d XOAUTH2 logins, want 2 and 2", got, auths)
	}
	if st := src.Status(); !st.Healthy() || st.LastRefresh.IsZero() {
		t.Errorf("Status() = %+v, want healthy", st)
	}

	// A token the server refuses is a login failure, reported, not a hang.
	p.revoke()
	var merr *mailer.Error
	if _, err := m.Send(ctx, out); !errors.As(err, &merr) || merr.Stage != "auth" && merr.Code != 535 {
		t.Errorf("Send() with a refused token = %v; want an auth failure", err)
	}
}

type countSink struct {
	mu  sync.Mutex
	cnt int
}

func (s *countSink) n() int { s.mu.Lock(); defer s.mu.Unlock(); return s.cnt }
func (s *countSink) Checkpoint(context.Context, string) (uint32, uint32, bool, error) {
	return 0, 0, false, nil
}
func (s *countSink) Deliver(_ context.Context, batch []*mailbox.Fetched) error {
	s.mu.Lock()
	s.cnt += len(batch)
	s.mu.Unlock()
	return nil
}

type literal struct{ *strings.Reader }

func (l literal) Size() int64 { return l.Reader.Size() }
