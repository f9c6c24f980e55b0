package mailer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/codedesk/codedesk/internal/smtptest"
)

// outgoing is a typical threaded reply.
func outgoing() Outgoing {
	return Outgoing{
		From:          Address{Name: "Coding Desk", Addr: "desk@codedesk.test"},
		To:            "Jane Coder <jane@clinic.example>",
		Subject:       "Re: Modifier 25 für 99213 [Case #41]",
		MessageID:     "reply.41.abc@codedesk.test",
		InReplyTo:     "q2@clinic.example",
		References:    []string{"q1@clinic.example", "r1@codedesk.test", "q2@clinic.example"},
		Text:          "Hello Jane,\r\n\r\n99213 with 20610 needs modifier 25.\r\n",
		HTML:          "<p>Hello Jane,</p><p>99213 with 20610 needs modifier 25.</p>",
		AutoSubmitted: true,
		Date:          time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC),
	}
}

func newMailer(s *smtptest.Sink, mod func(*Config)) *Mailer {
	cfg := Config{Addr: s.Addr(), Security: SecurityNone, Timeout: 5 * time.Second, HeloName: "desk.codedesk.test"}
	if mod != nil {
		mod(&cfg)
	}
	return New(cfg)
}

func TestSendHeadersRoundTrip(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, smtptest.Options{})
	res, err := newMailer(sink, nil).Send(context.Background(), outgoing())
	if err != nil {
		t.Fatalf("Send() error = %v, want nil", err)
	}
	if !strings.Contains(res.Response, "2.0.0") {
		t.Errorf("Send() Response = %q, want the server's 2.0.0 reply", res.Response)
	}
	got := sink.WaitFor(t, 1, 5*time.Second)[0]
	if got.From != "desk@codedesk.test" || len(got.To) != 1 || got.To[0] != "jane@clinic.example" {
		t.Errorf("envelope = %s -> %v, want desk@codedesk.test -> [jane@clinic.example]", got.From, got.To)
	}
	if got.Helo != "desk.codedesk.test" {
		t.Errorf("EHLO name = %q, want desk.codedesk.test", got.Helo)
	}

	mr, err := mail.CreateReader(bytes.NewReader(got.Raw))
	if err != nil {
		t.Fatalf("parsing the sent message: %v", err)
	}
	h := mr.Header
	if id, _ := h.MessageID(); id != "reply.41.abc@codedesk.test" {
		t.Errorf("Message-ID = %q, want reply.41.abc@codedesk.test", id)
	}
	if ids, _ := h.MsgIDList("In-Reply-To"); len(ids) != 1 || ids[0] != "q2@clinic.example" {
		t.Errorf("In-Reply-To = %q, want [q2@clinic.example]", ids)
	}
	if ids, _ := h.MsgIDList("References"); strings.Join(ids, " ") != "q1@clinic.example r1@codedesk.test q2@clinic.example" {
		t.Errorf("References = %q, want the three IDs in order", ids)
	}
	if raw := h.Get("References"); strings.Contains(raw, ",") {
		t.Errorf("References = %q, want space-separated IDs without commas (RFC 5322 3.6.4)", raw)
	}
	if v := h.Get("Auto-Submitted"); v != "auto-replied" {
		t.Errorf("Auto-Submitted = %q, want auto-replied", v)
	}
	if s, _ := h.Subject(); s != "Re: Modifier 25 für 99213 [Case #41]" {
		t.Errorf("Subject = %q, want the RFC 2047 round trip", s)
	}
	if d, _ := h.Date(); !d.Equal(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("Date = %v, want 2026-01-05 10:00 UTC", d)
	}
	if from, _ := h.AddressList("From"); len(from) != 1 || from[0].Name != "Coding Desk" || from[0].Address != "desk@codedesk.test" {
		t.Errorf("From = %v, want Coding Desk <desk@codedesk.test>", from)
	}
	for _, k := range []string{"User-Agent", "X-Mailer"} {
		if v := h.Get(k); v != "" {
			t.Errorf("%s = %q, want none (no advertising of go-mail)", k, v)
		}
	}
	if ct, _, _ := h.ContentType(); ct != "multipart/alternative" {
		t.Errorf("Content-Type = %q, want multipart/alternative", ct)
	}
	var types, bodies []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading part: %v", err)
		}
		ct, _, _ := p.Header.(*mail.InlineHeader).ContentType()
		b, _ := io.ReadAll(p.Body)
		types = append(types, ct)
		bodies = append(bodies, string(b))
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Fatalf("parts = %v, want text/plain then text/html", types)
	}
	if !strings.Contains(bodies[0], "needs modifier 25") || !strings.Contains(bodies[1], "<p>Hello Jane,</p>") {
		t.Errorf("bodies = %q, want the text and HTML given", bodies)
	}
}

func TestSendWithoutAutoSubmittedOrHTML(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, smtptest.Options{})
	o := outgoing()
	o.AutoSubmitted, o.HTML, o.References, o.InReplyTo = false, "", nil, ""
	if _, err := newMailer(sink, nil).Send(context.Background(), o); err != nil {
		t.Fatalf("Send() error = %v", err)
	}
	h := sink.WaitFor(t, 1, 5*time.Second)[0].Header
	if h.Has("Auto-Submitted") || h.Has("In-Reply-To") || h.Has("References") {
		t.Errorf("header has Auto-Submitted/In-Reply-To/References = %q/%q/%q, want none", h.Get("Auto-Submitted"), h.Get("In-Reply-To"), h.Get("References"))
	}
	if ct, _, _ := h.ContentType(); ct != "text/plain" {
		t.Errorf("Content-Type = %q, want text/plain for a text-only reply", ct)
	}
}

// wantError checks err is an *Error with the given temporariness and code.
func wantError(t *testing.T, err error, temporary bool, code int) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Send() error = %v (%T), want *mailer.Error", err, err)
	}
	if e.Temporary != temporary || e.Code != code {
		t.Errorf("Send() error = %+v, want Temporary=%v Code=%d", e, temporary, code)
	}
	if IsTemporary(err) != temporary {
		t.Errorf("IsTemporary(%v) = %v, want %v", err, !temporary, temporary)
	}
	return e
}

func TestSendFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		program   func(*smtptest.Sink)
		temporary bool
		code      int
		stage     string
		enhanced  string
	}{
		{"421 after data", func(s *smtptest.Sink) { s.FailNext(1, 421, "4.3.2 shutting down") }, true, 421, "data", "4.3.2"},
		{"451 after data", func(s *smtptest.Sink) { s.FailNext(1, 451, "4.3.0 try again later") }, true, 451, "data", "4.3.0"},
		{"554 after data", func(s *smtptest.Sink) { s.FailNext(1, 554, "5.6.0 content rejected") }, false, 554, "data", "5.6.0"},
		{"550 recipient", func(s *smtptest.Sink) { s.RejectRecipient("JANE@clinic.example", 550, "5.1.1 user unknown") }, false, 550, "rcpt", "5.1.1"},
		{"452 recipient", func(s *smtptest.Sink) { s.FailNextAt(smtptest.StageRcpt, 1, 452, "4.2.2 mailbox full") }, true, 452, "rcpt", "4.2.2"},
		{"451 mail from", func(s *smtptest.Sink) { s.FailNextAt(smtptest.StageMail, 1, 451, "4.7.1 greylisted") }, true, 451, "mail", "4.7.1"},
		{"421 greeting", func(s *smtptest.Sink) { s.FailNextAt(smtptest.StageConnect, 1, 421, "too busy") }, true, 421, "connect", "4.0.0"},
		{"554 greeting", func(s *smtptest.Sink) { s.FailNextAt(smtptest.StageConnect, 1, 554, "no service") }, false, 554, "connect", "5.0.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := smtptest.Start(t, smtptest.Options{})
			tc.program(sink)
			_, err := newMailer(sink, nil).Send(context.Background(), outgoing())
			e := wantError(t, err, tc.temporary, tc.code)
			if e.Stage != tc.stage || e.Enhanced != tc.enhanced {
				t.Errorf("Send() error stage %q enhanced %q, want %q %q", e.Stage, e.Enhanced, tc.stage, tc.enhanced)
			}
			if n := len(sink.Messages()); n != 0 {
				t.Errorf("sink accepted %d messages, want 0", n)
			}
		})
	}
}

func TestSendRetryAfterBurst(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, smtptest.Options{})
	sink.FailNext(2, 451, "4.3.0 try again later")
	m := newMailer(sink, nil)
	o := outgoing()
	for i := 0; i < 2; i++ {
		_, err := m.Send(context.Background(), o)
		wantError(t, err, true, 451)
	}
	if _, err := m.Send(context.Background(), o); err != nil {
		t.Fatalf("third Send() error = %v, want success after the burst", err)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || sink.DataAttempts() != 3 {
		t.Fatalf("sink has %d messages after %d attempts, want 1 after 3", len(msgs), sink.DataAttempts())
	}
	if id, _ := msgs[0].Header.MessageID(); id != o.MessageID {
		t.Errorf("Message-ID = %q, want the same %q on every attempt", id, o.MessageID)
	}
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, smtptest.Options{})
	sink.SetDelay(smtptest.StageData, 3*time.Second)
	start := time.Now()
	_, err := newMailer(sink, func(c *Config) { c.Timeout = 300 * time.Millisecond }).Send(context.Background(), outgoing())
	wantError(t, err, true, 0)
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("Send() took %v, want it bounded by the 300ms timeout", d)
	}
}

func TestSendGreetingTimeout(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, smtptest.Options{})
	sink.SetDelay(smtptest.StageConnect, 3*time.Second)
	_, err := newMailer(sink, func(c *Config) { c.Timeout = 300 * time.Millisecond }).Send(context.Background(), outgoing())
	wantError(t, err, true, 0)
}

func TestSendContextCancelled(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, smtptest.Options{})
	sink.SetDelay(smtptest.StageConnect, 3*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := newMailer(sink, nil).Send(ctx, outgoing())
	wantError(t, err, true, 0)
}

func TestSendConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = New(Config{Addr: addr, Security: SecurityNone, Timeout: 2 * time.Second}).Send(context.Background(), outgoing())
	e := wantError(t, err, true, 0)
	if e.Stage != "connect" {
		t.Errorf("Send() error stage = %q, want connect", e.Stage)
	}
}

func TestSendAuth(t *testing.T) {
	t.Parallel()
	creds := &smtptest.Credentials{Username: "desk@codedesk.test", Password: "s3cret"}
	for _, mechs := range [][]string{{"PLAIN"}, {"LOGIN"}, {"LOGIN", "PLAIN"}} {
		t.Run(strings.Join(mechs, "+"), func(t *testing.T) {
			t.Parallel()
			sink := smtptest.Start(t, smtptest.Options{Auth: creds, AuthMechanisms: mechs, RequireAuth: true})
			m := newMailer(sink, func(c *Config) { c.Username, c.Password = creds.Username, creds.Password })
			if _, err := m.Send(context.Background(), outgoing()); err != nil {
				t.Fatalf("Send() error = %v, want AUTH %v to succeed", err, mechs)
			}
			if got := sink.WaitFor(t, 1, 5*time.Second)[0].AuthUser; got != creds.Username {
				t.Errorf("AuthUser = %q, want %q", got, creds.Username)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		sink := smtptest.Start(t, smtptest.Options{Auth: creds, RequireAuth: true})
		m := newMailer(sink, func(c *Config) { c.Username, c.Password = creds.Username, "wrong" })
		_, err := m.Send(context.Background(), outgoing())
		e := wantError(t, err, false, 535)
		if e.Stage != "auth" {
			t.Errorf("Send() error stage = %q, want auth", e.Stage)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("Send() error = %q mentions the password", err)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		t.Parallel()
		sink := smtptest.Start(t, smtptest.Options{Auth: creds, RequireAuth: true})
		_, err := newMailer(sink, nil).Send(context.Background(), outgoing())
		wantError(t, err, false, 530)
	})
}

func TestSendTLS(t *testing.T) {
	t.Parallel()
	t.Run("starttls", func(t *testing.T) {
		t.Parallel()
		sink := smtptest.Start(t, smtptest.Options{TLS: true, Auth: &smtptest.Credentials{Username: "u", Password: "p"}})
		m := newMailer(sink, func(c *Config) {
			c.Security, c.TLSConfig, c.Username, c.Password = SecurityStartTLS, sink.ClientTLSConfig(), "u", "p"
		})
		if _, err := m.Send(context.Background(), outgoing()); err != nil {
			t.Fatalf("Send() error = %v", err)
		}
		if got := sink.WaitFor(t, 1, 5*time.Second)[0]; !got.TLS || got.AuthUser != "u" {
			t.Errorf("message TLS = %v, AuthUser = %q; want an encrypted, authenticated session", got.TLS, got.AuthUser)
		}
	})
	t.Run("implicit tls", func(t *testing.T) {
		t.Parallel()
		sink := smtptest.Start(t, smtptest.Options{ImplicitTLS: true})
		m := newMailer(sink, func(c *Config) { c.Security, c.TLSConfig = SecurityTLS, sink.ClientTLSConfig() })
		if _, err := m.Send(context.Background(), outgoing()); err != nil {
			t.Fatalf("Send() error = %v", err)
		}
		if got := sink.WaitFor(t, 1, 5*time.Second)[0]; !got.TLS {
			t.Errorf("message TLS = false, want true")
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		t.Parallel()
		sink := smtptest.Start(t, smtptest.Options{TLS: true})
		_, err := newMailer(sink, func(c *Config) { c.Security = SecurityStartTLS }).Send(context.Background(), outgoing())
		wantError(t, err, true, 0)
		if len(sink.Messages()) != 0 {
			t.Errorf("sink accepted a message over an unverified connection")
		}
	})
	t.Run("starttls required but not offered", func(t *testing.T) {
		t.Parallel()
		sink := smtptest.Start(t, smtptest.Options{})
		_, err := newMailer(sink, func(c *Config) { c.Security = SecurityStartTLS }).Send(context.Background(), outgoing())
		wantError(t, err, true, 0)
		if len(sink.Messages()) != 0 {
			t.Errorf("sink accepted a message without the required STARTTLS")
		}
	})
}

func TestSendBadInput(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, smtptest.Options{})
	m := newMailer(sink, nil)
	for name, mod := range map[string]func(*Outgoing){
		"empty message id":   func(o *Outgoing) { o.MessageID = "" },
		"bracketed id":       func(o *Outgoing) { o.MessageID = "<a@b>" },
		"id with space":      func(o *Outgoing) { o.MessageID = "a b@c" },
		"bad in-reply-to":    func(o *Outgoing) { o.InReplyTo = "x\r\nBcc: evil@x" },
		"bad reference":      func(o *Outgoing) { o.References = []string{"ok@x", "no-at-sign"} },
		"no text":            func(o *Outgoing) { o.Text = " " },
		"bad recipient":      func(o *Outgoing) { o.To = "not an address" },
		"header injection":   func(o *Outgoing) { o.To = "a@b.example\r\nBcc: c@d.example" },
		"bad sender address": func(o *Outgoing) { o.From.Addr = "nobody" },
	} {
		o := outgoing()
		mod(&o)
		_, err := m.Send(context.Background(), o)
		var e *Error
		if !errors.As(err, &e) || e.Temporary || e.Stage != "build" {
			t.Errorf("Send(%s) error = %v, want a permanent build error", name, err)
		}
	}
	if n := sink.Connections(); n != 0 {
		t.Errorf("sink saw %d connections, want none for unbuildable messages", n)
	}
	for _, cfg := range []Config{{Addr: "no-port"}, {Addr: "127.0.0.1:0x"}, {Addr: "127.0.0.1:25", Security: "ssl"}} {
		_, err := New(cfg).Send(context.Background(), outgoing())
		if IsTemporary(err) {
			t.Errorf("Send() with config %+v error = %v, want a permanent error", cfg, err)
		}
	}
}

func TestNewMessageID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewMessageID("codedesk.test")
		if !msgIDChars.MatchString(id) || !strings.HasSuffix(id, "@codedesk.test") {
			t.Fatalf("NewMessageID() = %q, want a valid id@codedesk.test", id)
		}
		if seen[id] {
			t.Fatalf("NewMessageID() repeated %q", id)
		}
		seen[id] = true
	}
	if id := NewMessageID(" <@> "); !strings.HasSuffix(id, "@codedesk.invalid") {
		t.Errorf("NewMessageID(empty) = %q, want a codedesk.invalid fallback", id)
	}
}
