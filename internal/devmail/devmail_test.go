package devmail

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// start runs a dev mail server on free loopback ports for the test.
func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.IMAPAddr == "" {
		cfg.IMAPAddr = "127.0.0.1:0"
	}
	if cfg.SMTPAddr == "" {
		cfg.SMTPAddr = "127.0.0.1:0"
	}
	s, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestParseAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Account
		wantErr string
	}{
		{in: "desk@codedesk.test:desk", want: Account{"desk@codedesk.test", "desk"}},
		{in: "a@b.test:pa:ss", want: Account{"a@b.test", "pa:ss"}},
		{in: " a@b.test:x", want: Account{"a@b.test", "x"}},
		{in: "a@b.test", wantErr: "want address:password"},
		{in: "a@b.test:", wantErr: "empty password"},
		{in: "nobody:pw", wantErr: "not an email address"},
		{in: "@b.test:pw", wantErr: "not an email address"},
		{in: "a@:pw", wantErr: "not an email address"},
		{in: "a@b@c.test:pw", wantErr: "not an email address"},
		{in: ":pw", wantErr: "not an email address"},
	}
	for _, tt := range tests {
		got, err := ParseAccount(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseAccount(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAccount(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
		}
	}
	var a Account
	if err := a.UnmarshalText([]byte("x@y.test:secret")); err != nil || a.Address != "x@y.test" || a.Password != "secret" {
		t.Errorf("UnmarshalText() = %+v, %v, want x@y.test/secret", a, err)
	}
	if s := a.String(); strings.Contains(s, "secret") {
		t.Errorf("Account.String() = %q, must not show the password", s)
	}
}

func TestCheckListenAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr        string
		allowRemote bool
		ok          bool
	}{
		{"127.0.0.1:1143", false, true},
		{"127.0.0.2:0", false, true},
		{"[::1]:1025", false, true},
		{"localhost:1025", false, true},
		{":1143", false, false},
		{"0.0.0.0:1143", false, false},
		{"192.0.2.10:1143", false, false},
		{"mail.example.test:1143", false, false},
		{"0.0.0.0:1143", true, true},
		{"127.0.0.1", false, false},
	}
	for _, tt := range tests {
		err := checkListenAddr(tt.addr, tt.allowRemote)
		if (err == nil) != tt.ok {
			t.Errorf("checkListenAddr(%q, %v) = %v, want ok=%v", tt.addr, tt.allowRemote, err, tt.ok)
		}
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"remote imap", Config{IMAPAddr: "0.0.0.0:0", SMTPAddr: "127.0.0.1:0"}, "not a loopback address"},
		{"remote smtp", Config{IMAPAddr: "127.0.0.1:0", SMTPAddr: ":0"}, "not a loopback address"},
		{"duplicate account", Config{IMAPAddr: "127.0.0.1:0", SMTPAddr: "127.0.0.1:0",
			Accounts: []Account{{"a@x.test", "1"}, {"A@x.test", "2"}}}, "listed twice"},
		{"bad account", Config{IMAPAddr: "127.0.0.1:0", SMTPAddr: "127.0.0.1:0",
			Accounts: []Account{{"nobody", "1"}}}, "not an email address"},
	}
	for _, tt := range tests {
		s, err := Start(t.Context(), tt.cfg)
		if err == nil {
			s.Close()
			t.Errorf("%s: Start() error = nil, want one containing %q", tt.name, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Start() error = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func TestStartDefaults(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	got := s.Accounts()
	want := DefaultAccounts()
	if len(got) != len(want) {
		t.Fatalf("Accounts() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Accounts()[%d] = %+v, want %+v", i, got[i], want[i])
		}
		for _, mbox := range []string{Inbox, Sent} {
			if n, err := s.Count(want[i].Address, mbox); err != nil || n != 0 {
				t.Errorf("Count(%s, %s) = %d, %v, want 0, nil", want[i].Address, mbox, n, err)
			}
		}
	}
	for _, addr := range []string{s.IMAPAddr(), s.SMTPAddr()} {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		c.Close()
	}
}

func TestAppendCountMessages(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	ctx := t.Context()
	lf := []byte("From: a@x.test\nTo: coder@clinic.test\nSubject: lf\n\nline one\nline two\n")
	crlf := []byte("From: a@x.test\r\nSubject: crlf\r\n\r\nbody\r\n")
	if err := s.Append(ctx, "coder@clinic.test", Inbox, lf); err != nil {
		t.Fatalf("Append(lf) error = %v", err)
	}
	if err := s.Append(ctx, "CODER@clinic.test", Inbox, crlf); err != nil {
		t.Fatalf("Append(crlf) error = %v", err)
	}
	if err := s.Append(ctx, "desk", Sent, crlf); err != nil {
		t.Fatalf("Append(desk Sent by local part) error = %v", err)
	}
	if n, err := s.Count("coder@clinic.test", Inbox); err != nil || n != 2 {
		t.Errorf("Count(coder INBOX) = %d, %v, want 2, nil", n, err)
	}
	if n, err := s.Count("desk@codedesk.test", Sent); err != nil || n != 1 {
		t.Errorf("Count(desk Sent) = %d, %v, want 1, nil", n, err)
	}
	if n, err := s.Count("desk@codedesk.test", Inbox); err != nil || n != 0 {
		t.Errorf("Count(desk INBOX) = %d, %v, want 0, nil", n, err)
	}
	msgs, err := s.Messages(ctx, "coder@clinic.test", Inbox)
	if err != nil {
		t.Fatalf("Messages() error = %v", err)
	}
	if len(msgs) != 2 {
		t.Fatalf("Messages() returned %d messages, want 2", len(msgs))
	}
	wantLF := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
	if !bytes.Equal(msgs[0], wantLF) {
		t.Errorf("Messages()[0] = %q, want %q (LF turned into CRLF)", msgs[0], wantLF)
	}
	if !bytes.Equal(msgs[1], crlf) {
		t.Errorf("Messages()[1] = %q, want %q unchanged", msgs[1], crlf)
	}
	// Reading must not mark messages \Seen: a poller looks for UNSEEN.
	again, err := s.Messages(ctx, "coder@clinic.test", Inbox)
	if err != nil || len(again) != 2 {
		t.Fatalf("Messages() again = %d, %v", len(again), err)
	}

	if err := s.Append(ctx, "nobody@x.test", Inbox, crlf); !errors.Is(err, ErrNoAccount) {
		t.Errorf("Append(unknown account) error = %v, want ErrNoAccount", err)
	}
	if err := s.Append(ctx, "coder@clinic.test", "Archive", crlf); !errors.Is(err, ErrNoMailbox) {
		t.Errorf("Append(unknown mailbox) error = %v, want ErrNoMailbox", err)
	}
	if err := s.Append(ctx, "coder@clinic.test", Inbox, nil); err == nil {
		t.Errorf("Append(empty) error = nil, want an error")
	}
	if _, err := s.Count("coder@clinic.test", "Archive"); !errors.Is(err, ErrNoMailbox) {
		t.Errorf("Count(unknown mailbox) error = %v, want ErrNoMailbox", err)
	}
	if _, err := s.Count("x@y.test", Inbox); !errors.Is(err, ErrNoAccount) {
		t.Errorf("Count(unknown account) error = %v, want ErrNoAccount", err)
	}
	if n, _ := s.Count("coder@clinic.test", Inbox); n != 2 {
		t.Errorf("after failed appends Count() = %d, want 2", n)
	}
}

func TestAppendSizeLimit(t *testing.T) {
	t.Parallel()
	s := start(t, Config{MaxMessageBytes: 100})
	big := []byte("Subject: big\r\n\r\n" + strings.Repeat("x", 200) + "\r\n")
	if err := s.Append(t.Context(), "desk@codedesk.test", Inbox, big); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("Append(too big) error = %v, want a size-limit error", err)
	}
}

func TestNormalizeCRLF(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"a\r\nb\r\n": "a\r\nb\r\n",
		"a\nb\n":     "a\r\nb\r\n",
		"a\rb":       "a\r\nb",
		"a\r\n\nb":   "a\r\n\r\nb",
		"\n":         "\r\n",
		"":           "",
	}
	for in, want := range tests {
		if got := string(normalizeCRLF([]byte(in))); got != want {
			t.Errorf("normalizeCRLF(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIMAPLogin(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Accounts: []Account{
		{"desk@codedesk.test", "desk"}, {"coder@clinic.test", "coder"}, {"coder@other.test", "x"},
	}})
	tests := []struct {
		user, pass string
		ok         bool
	}{
		{"desk@codedesk.test", "desk", true},
		{"Desk@CodeDesk.test", "desk", true},
		{"desk", "desk", true},
		{"desk", "wrong", false},
		{"nobody", "desk", false},
		{"coder", "coder", false}, // two accounts have local part "coder"
		{"coder@clinic.test", "coder", true},
	}
	for _, tt := range tests {
		c, err := imapclient.DialInsecure(s.IMAPAddr(), nil)
		if err != nil {
			t.Fatalf("DialInsecure() error = %v", err)
		}
		err = c.Login(tt.user, tt.pass).Wait()
		if (err == nil) != tt.ok {
			t.Errorf("Login(%q, %q) error = %v, want ok=%v", tt.user, tt.pass, err, tt.ok)
		}
		if err == nil {
			if _, err := c.Select(Sent, nil).Wait(); err != nil {
				t.Errorf("Select(Sent) after Login(%q) error = %v", tt.user, err)
			}
		}
		c.Close()
	}
}

func TestCloseOnContextCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	s, err := Start(ctx, Config{IMAPAddr: "127.0.0.1:0", SMTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	addr := s.SMTPAddr()
	cancel()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("server still running 5s after its context was cancelled")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close() after cancel = %v, want nil", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("dial %s after stop succeeded, want refused", addr)
	}
}
