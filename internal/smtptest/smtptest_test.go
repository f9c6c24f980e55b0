package smtptest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// send delivers one message with go-smtp's client.
func send(t *testing.T, s *Sink, from string, to []string, body string) error {
	t.Helper()
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail(from, to, strings.NewReader(strings.ReplaceAll(body, "\n", "\r\n")))
}

const msg = "From: a@x.example\nTo: b@y.example\nSubject: hello\nMessage-ID: <m1@x.example>\n\nbody\n"

func TestRecordsMessages(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	if err := send(t, s, "a@x.example", []string{"b@y.example", "c@y.example"}, msg); err != nil {
		t.Fatalf("send() error = %v", err)
	}
	got := s.WaitFor(t, 1, 5*time.Second)
	m := got[0]
	if m.From != "a@x.example" || strings.Join(m.To, ",") != "b@y.example,c@y.example" {
		t.Errorf("envelope = %s -> %v, want a@x.example -> [b@y.example c@y.example]", m.From, m.To)
	}
	if id, _ := m.Header.MessageID(); id != "m1@x.example" {
		t.Errorf("Header.MessageID() = %q, want m1@x.example", id)
	}
	if !strings.Contains(string(m.Raw), "\r\n\r\nbody\r\n") {
		t.Errorf("Raw = %q, want the message with CRLF line endings", m.Raw)
	}
	if m.TLS || m.AuthUser != "" {
		t.Errorf("TLS = %v, AuthUser = %q; want a plain, anonymous session", m.TLS, m.AuthUser)
	}
	s.Reset()
	if n := len(s.Messages()); n != 0 {
		t.Errorf("len(Messages()) after Reset = %d, want 0", n)
	}
}

func TestFailNextBurstThenAccept(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	s.FailNext(2, 451, "4.3.0 try later")
	for i := 0; i < 2; i++ {
		err := send(t, s, "a@x.example", []string{"b@y.example"}, msg)
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 0}) || se.Message != "try later" {
			t.Fatalf("send %d error = %v, want 451 4.3.0 try later", i, err)
		}
	}
	if err := send(t, s, "a@x.example", []string{"b@y.example"}, msg); err != nil {
		t.Fatalf("third send error = %v, want accepted", err)
	}
	if n, a := len(s.Messages()), s.DataAttempts(); n != 1 || a != 3 {
		t.Errorf("messages = %d, attempts = %d; want 1 and 3", n, a)
	}
}

func TestStageFailures(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	s.FailNextAt(StageMail, 1, 421, "busy")
	err := send(t, s, "a@x.example", []string{"b@y.example"}, msg)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 421 {
		t.Errorf("MAIL failure = %v, want 421", err)
	}
	s.RejectRecipient("B@Y.example", 550, "5.1.1 no such user")
	err = send(t, s, "a@x.example", []string{"b@y.example"}, msg)
	if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) {
		t.Errorf("RCPT rejection = %v, want 550 5.1.1", err)
	}
	// Rejections persist; other recipients still work.
	if err := send(t, s, "a@x.example", []string{"c@y.example"}, msg); err != nil {
		t.Errorf("send to another recipient error = %v", err)
	}
	s.FailNextAt(StageConnect, 1, 421, "go away")
	c, err := smtp.Dial(s.Addr())
	if err == nil {
		err = c.Hello("client.example") // go-smtp reads the greeting lazily
		c.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "421") {
		t.Errorf("greeting error = %v, want 421", err)
	}
	if err := send(t, s, "a@x.example", []string{"c@y.example"}, msg); err != nil {
		t.Errorf("send after the refused greeting error = %v, want accepted", err)
	}
	if n := s.Connections(); n != 5 {
		t.Errorf("Connections() = %d, want 5", n)
	}
}

func TestDelay(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	s.SetDelay(StageData, 300*time.Millisecond)
	start := time.Now()
	if err := send(t, s, "a@x.example", []string{"b@y.example"}, msg); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("send took %v, want at least the 300ms delay", d)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{Auth: &Credentials{"user", "pass"}, AuthMechanisms: []string{"PLAIN", "LOGIN"}, RequireAuth: true})
	dial := func() *smtp.Client {
		c, err := smtp.Dial(s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	if err := dial().Mail("a@x.example", nil); err == nil || !strings.Contains(err.Error(), "530") {
		t.Errorf("MAIL without AUTH error = %v, want 530", err)
	}
	if err := dial().Auth(sasl.NewPlainClient("", "user", "bad")); err == nil {
		t.Error("AUTH PLAIN with a wrong password succeeded")
	}
	if err := dial().Auth(sasl.NewLoginClient("user", "bad")); err == nil {
		t.Error("AUTH LOGIN with a wrong password succeeded")
	}
	c := dial()
	if err := c.Auth(sasl.NewLoginClient("user", "pass")); err != nil {
		t.Fatalf("AUTH LOGIN error = %v", err)
	}
	if err := c.SendMail("a@x.example", []string{"b@y.example"}, strings.NewReader(strings.ReplaceAll(msg, "\n", "\r\n"))); err != nil {
		t.Fatalf("SendMail after AUTH error = %v", err)
	}
	if got := s.WaitFor(t, 1, 5*time.Second)[0].AuthUser; got != "user" {
		t.Errorf("AuthUser = %q, want user", got)
	}
}

func TestStartTLS(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{TLS: true})
	c, err := smtp.DialStartTLS(s.Addr(), s.ClientTLSConfig())
	if err != nil {
		t.Fatalf("STARTTLS error = %v", err)
	}
	defer c.Close()
	if err := c.SendMail("a@x.example", []string{"b@y.example"}, strings.NewReader(strings.ReplaceAll(msg, "\n", "\r\n"))); err != nil {
		t.Fatal(err)
	}
	if !s.WaitFor(t, 1, 5*time.Second)[0].TLS {
		t.Error("message TLS = false, want true after STARTTLS")
	}
	if (&Sink{}).ClientTLSConfig() != nil {
		t.Error("ClientTLSConfig() of a sink without TLS is not nil")
	}
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{ImplicitTLS: true})
	c, err := smtp.DialTLS(s.Addr(), s.ClientTLSConfig())
	if err != nil {
		t.Fatalf("DialTLS error = %v", err)
	}
	defer c.Close()
	if err := c.SendMail("a@x.example", []string{"b@y.example"}, strings.NewReader(strings.ReplaceAll(msg, "\n", "\r\n"))); err != nil {
		t.Fatal(err)
	}
	if !s.WaitFor(t, 1, 5*time.Second)[0].TLS {
		t.Error("message TLS = false, want true over implicit TLS")
	}
}

func TestWaitAndClose(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Wait(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait() error = %v, want DeadlineExceeded", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Wait(context.Background(), 1)
		done <- err
	}()
	s.Close()
	s.Close() // idempotent
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("Wait() after Close error = %v, want sink closed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait() did not return after Close")
	}
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Error("sink still accepts connections after Close")
	}
}

func TestConcurrentSenders(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	s.FailNext(5, 451, "busy")
	const n = 20
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := strings.Replace(msg, "<m1@", fmt.Sprintf("<m%d-", i), 1)
			for attempt := 0; attempt < 10; attempt++ {
				if send(t, s, "a@x.example", []string{"b@y.example"}, body) == nil {
					return
				}
			}
			t.Errorf("sender %d never got through", i)
		}(i)
	}
	got := s.WaitFor(t, n, 10*time.Second)
	wg.Wait()
	if len(got) != n || s.DataAttempts() != n+5 {
		t.Errorf("messages = %d, attempts = %d; want %d and %d", len(got), s.DataAttempts(), n, n+5)
	}
}

func TestOnAccept(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	fail := true
	s := Start(t, Options{OnAccept: func(m Message) error {
		mu.Lock()
		defer mu.Unlock()
		id, _ := m.Header.MessageID()
		seen = append(seen, id)
		if fail {
			fail = false
			return errors.New("Sent folder unavailable")
		}
		return nil
	}})
	err := send(t, s, "a@x.example", []string{"b@y.example"}, msg)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 || !strings.Contains(se.Message, "Sent folder unavailable") {
		t.Fatalf("first send error = %v, want 451 with the hook's error", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("messages after a refused hook = %d, want 0", n)
	}
	if err := send(t, s, "a@x.example", []string{"b@y.example"}, msg); err != nil {
		t.Fatalf("second send error = %v", err)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("messages = %d, want 1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != "m1@x.example" {
		t.Errorf("hook saw %v, want m1@x.example twice", seen)
	}
}
