package devmail

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const testMessage = "From: Coder <coder@clinic.test>\r\n" +
	"To: desk@codedesk.test\r\n" +
	"Subject: What is E11.9?\r\n" +
	"Message-ID: <q1@clinic.test>\r\n" +
	"\r\n" +
	"Is E11.9 billable for a synthetic test patient?\r\n" +
	".leading dot survives dot-stuffing\r\n"

// dialSMTP opens an SMTP client that has said EHLO.
func dialSMTP(t *testing.T, s *Server) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(s.SMTPAddr())
	if err != nil {
		t.Fatalf("smtp.Dial() error = %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatalf("Hello() error = %v", err)
	}
	return c
}

// sendSMTP sends msg in one transaction and returns the first error.
func sendSMTP(c *smtp.Client, from string, to []string, msg string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	return w.Close()
}

// wantSMTPError checks err is an SMTP reply with the given codes.
func wantSMTPError(t *testing.T, what string, err error, code int, enh smtp.EnhancedCode) {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("%s error = %v, want SMTP %d %v", what, err, code, enh)
	}
	if se.Code != code || se.EnhancedCode != enh {
		t.Errorf("%s = %d %v %q, want %d %v", what, se.Code, se.EnhancedCode, se.Message, code, enh)
	}
}

func TestSMTPDeliversToEachAccount(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c := dialSMTP(t, s)
	rcpts := []string{"desk@codedesk.test", "Coder@Clinic.test"}
	if err := sendSMTP(c, "sender@outside.test", rcpts, testMessage); err != nil {
		t.Fatalf("send error = %v", err)
	}
	for _, rcpt := range rcpts {
		addr := strings.ToLower(rcpt)
		msgs, err := s.Messages(t.Context(), addr, Inbox)
		if err != nil {
			t.Fatalf("Messages(%s) error = %v", addr, err)
		}
		if len(msgs) != 1 {
			t.Fatalf("Messages(%s) = %d messages, want 1", addr, len(msgs))
		}
		m := string(msgs[0])
		head, body, _ := strings.Cut(m, "\r\n\r\n")
		for _, want := range []string{
			"Return-Path: <sender@outside.test>\r\n",
			"Delivered-To: " + rcpt + "\r\n",
			"Received: from client.test ([127.0.0.1])\r\n\tby " + Domain,
			"for <" + rcpt + ">",
			"Subject: What is E11.9?\r\n",
		} {
			if !strings.Contains(head, want) {
				t.Errorf("delivered header for %s lacks %q:\n%s", addr, want, head)
			}
		}
		if !strings.HasPrefix(m, "Return-Path: ") {
			t.Errorf("delivered message for %s starts %q, want Return-Path first", addr, m[:min(len(m), 30)])
		}
		wantBody := "Is E11.9 billable for a synthetic test patient?\r\n.leading dot survives dot-stuffing\r\n"
		if body != wantBody {
			t.Errorf("delivered body for %s = %q, want %q", addr, body, wantBody)
		}
		if n, _ := s.Count(addr, Sent); n != 0 {
			t.Errorf("Count(%s, Sent) = %d, want 0", addr, n)
		}
	}
	// A second message in the same session goes only where it is addressed.
	if err := sendSMTP(c, "", []string{"coder@clinic.test"}, testMessage); err != nil {
		t.Fatalf("second send error = %v", err)
	}
	if n, _ := s.Count("coder@clinic.test", Inbox); n != 2 {
		t.Errorf("Count(coder INBOX) = %d, want 2", n)
	}
	if n, _ := s.Count("desk@codedesk.test", Inbox); n != 1 {
		t.Errorf("Count(desk INBOX) = %d, want 1", n)
	}
	msgs, _ := s.Messages(t.Context(), "coder@clinic.test", Inbox)
	if len(msgs) == 2 && !bytes.HasPrefix(msgs[1], []byte("Return-Path: <>\r\n")) {
		t.Errorf("null-sender delivery starts %q, want Return-Path: <>", msgs[1][:30])
	}
}

func TestSMTPRejectsRecipients(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	tests := []struct {
		rcpt string
		code int
		enh  smtp.EnhancedCode
	}{
		{"nobody@codedesk.test", 550, smtp.EnhancedCode{5, 1, 1}},
		{"desk@elsewhere.test", 550, smtp.EnhancedCode{5, 1, 1}},
		{"temperror@clinic.test", 451, smtp.EnhancedCode{4, 3, 0}},
		{"TempError-retry@anywhere.test", 451, smtp.EnhancedCode{4, 3, 0}},
		{"permerror@clinic.test", 550, smtp.EnhancedCode{5, 7, 1}},
		{"permerror+x@codedesk.test", 550, smtp.EnhancedCode{5, 7, 1}},
	}
	for _, tt := range tests {
		c := dialSMTP(t, s)
		if err := c.Mail("desk@codedesk.test", nil); err != nil {
			t.Fatalf("Mail() error = %v", err)
		}
		wantSMTPError(t, "Rcpt("+tt.rcpt+")", c.Rcpt(tt.rcpt, nil), tt.code, tt.enh)
		// The session stays usable: a good recipient is still accepted.
		if err := c.Rcpt("coder@clinic.test", nil); err != nil {
			t.Errorf("Rcpt(good) after refusal error = %v", err)
		}
	}
	for _, acc := range s.Accounts() {
		if n, _ := s.Count(acc.Address, Inbox); n != 0 {
			t.Errorf("Count(%s) = %d, want 0 (nothing was sent)", acc.Address, n)
		}
	}
}

func TestSMTPSizeLimit(t *testing.T) {
	t.Parallel()
	s := start(t, Config{MaxMessageBytes: 2048})
	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 200)

	c := dialSMTP(t, s)
	if size, ok := c.MaxMessageSize(); !ok || size != 2048 {
		t.Errorf("MaxMessageSize() = %d, %v, want 2048, true (SIZE advertised)", size, ok)
	}
	wantSMTPError(t, "DATA of 3.6 kB", sendSMTP(c, "a@x.test", []string{"desk@codedesk.test"}, big), 552, smtp.EnhancedCode{5, 3, 4})
	// The connection survives and a message within the limit goes through.
	if err := sendSMTP(c, "a@x.test", []string{"desk@codedesk.test"}, testMessage); err != nil {
		t.Fatalf("send after 552 error = %v", err)
	}
	if n, _ := s.Count("desk@codedesk.test", Inbox); n != 1 {
		t.Errorf("Count(desk INBOX) = %d, want 1 (only the small message)", n)
	}

	// MAIL FROM with a declared SIZE over the limit is refused up front.
	c2 := dialSMTP(t, s)
	wantSMTPError(t, "MAIL FROM SIZE=5000", c2.Mail("a@x.test", &smtp.MailOptions{Size: 5000}), 552, smtp.EnhancedCode{5, 3, 4})
}

func TestSMTPAuth(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	for _, mech := range []string{sasl.Plain, sasl.Login} {
		c := dialSMTP(t, s)
		if !c.SupportsAuth(mech) {
			t.Errorf("AUTH %s not advertised", mech)
		}
	}
	tests := []struct {
		name   string
		client sasl.Client
		ok     bool
	}{
		{"plain", sasl.NewPlainClient("", "coder@clinic.test", "coder"), true},
		{"plain local part", sasl.NewPlainClient("", "coder", "coder"), true},
		{"plain bad password", sasl.NewPlainClient("", "coder@clinic.test", "nope"), false},
		{"plain unknown user", sasl.NewPlainClient("", "who@clinic.test", "coder"), false},
		{"plain other identity", sasl.NewPlainClient("desk@codedesk.test", "coder@clinic.test", "coder"), false},
		{"login", sasl.NewLoginClient("desk@codedesk.test", "desk"), true},
		{"login bad password", sasl.NewLoginClient("desk@codedesk.test", "coder"), false},
	}
	for _, tt := range tests {
		c := dialSMTP(t, s)
		err := c.Auth(tt.client)
		if tt.ok {
			if err != nil {
				t.Errorf("%s: Auth() error = %v, want nil", tt.name, err)
				continue
			}
			if err := sendSMTP(c, "coder@clinic.test", []string{"desk@codedesk.test"}, testMessage); err != nil {
				t.Errorf("%s: send after AUTH error = %v", tt.name, err)
			}
			continue
		}
		wantSMTPError(t, tt.name+": Auth()", err, 535, smtp.EnhancedCode{5, 7, 8})
	}
	// AUTH is optional on the loopback dev server.
	c := dialSMTP(t, s)
	if err := sendSMTP(c, "coder@clinic.test", []string{"desk@codedesk.test"}, testMessage); err != nil {
		t.Errorf("send without AUTH error = %v", err)
	}
	if n, _ := s.Count("desk@codedesk.test", Inbox); n != 4 {
		t.Errorf("Count(desk INBOX) = %d, want 4", n)
	}
}

func TestLoginServerSequence(t *testing.T) {
	t.Parallel()
	var gotUser, gotPass string
	l := &loginServer{check: func(u, p string) error { gotUser, gotPass = u, p; return nil }}
	ch, done, err := l.Next(nil)
	if string(ch) != "Username:" || done || err != nil {
		t.Fatalf("Next(nil) = %q, %v, %v, want Username: challenge", ch, done, err)
	}
	ch, done, err = l.Next([]byte("u@x.test"))
	if string(ch) != "Password:" || done || err != nil {
		t.Fatalf("Next(user) = %q, %v, %v, want Password: challenge", ch, done, err)
	}
	if _, done, err = l.Next([]byte("pw")); !done || err != nil {
		t.Fatalf("Next(pass) = done %v, %v, want done", done, err)
	}
	if gotUser != "u@x.test" || gotPass != "pw" {
		t.Errorf("checked %q/%q, want u@x.test/pw", gotUser, gotPass)
	}
	if _, _, err = l.Next([]byte("more")); err == nil {
		t.Errorf("Next() after done error = nil, want an error")
	}
}
