package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/codedesk/codedesk/internal/devmail"
)

// parseDevmailFlags parses "devmail args…" without running it.
func parseDevmailFlags(t *testing.T, args ...string) (devmailCmd, error) {
	t.Helper()
	var c cli
	p, err := kong.New(&c, kong.Name("codedesk"), kong.Exit(func(int) {}), kong.Writers(&bytes.Buffer{}, &bytes.Buffer{}))
	if err != nil {
		t.Fatalf("kong.New() error = %v", err)
	}
	_, err = p.Parse(append([]string{"devmail"}, args...))
	return c.Devmail, err
}

func TestDevmailAccountFlag(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     string
		want    []devmail.Account
		wantErr string
	}{
		{name: "none", want: nil},
		{name: "repeated", args: []string{"--account", "a@x.test:pw1", "--account=b@y.test:p:w"},
			want: []devmail.Account{{Address: "a@x.test", Password: "pw1"}, {Address: "b@y.test", Password: "p:w"}}},
		{name: "comma list", args: []string{"--account", "a@x.test:1,b@y.test:2"},
			want: []devmail.Account{{Address: "a@x.test", Password: "1"}, {Address: "b@y.test", Password: "2"}}},
		{name: "escaped comma", args: []string{"--account", `a@x.test:p\,w`},
			want: []devmail.Account{{Address: "a@x.test", Password: "p,w"}}},
		{name: "env", env: "desk@d.test:desk,coder@c.test:coder",
			want: []devmail.Account{{Address: "desk@d.test", Password: "desk"}, {Address: "coder@c.test", Password: "coder"}}},
		{name: "flag beats env", env: "desk@d.test:desk", args: []string{"--account", "z@z.test:z"},
			want: []devmail.Account{{Address: "z@z.test", Password: "z"}}},
		{name: "no password", args: []string{"--account", "a@x.test"}, wantErr: "want address:password"},
		{name: "not an address", args: []string{"--account", "desk:desk"}, wantErr: "not an email address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CODEDESK_DEVMAIL_ACCOUNTS", tt.env)
			c, err := parseDevmailFlags(t, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parse %v error = %v, want one containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse %v error = %v", tt.args, err)
			}
			if len(c.Accounts) != len(tt.want) {
				t.Fatalf("Accounts = %+v, want %+v", c.Accounts, tt.want)
			}
			for i := range tt.want {
				if c.Accounts[i] != tt.want[i] {
					t.Errorf("Accounts[%d] = %+v, want %+v", i, c.Accounts[i], tt.want[i])
				}
			}
			if c.IMAPAddr != "127.0.0.1:1143" || c.SMTPAddr != "127.0.0.1:1025" {
				t.Errorf("addresses = %s, %s, want the defaults 127.0.0.1:1143, 127.0.0.1:1025", c.IMAPAddr, c.SMTPAddr)
			}
		})
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestDevmailCommand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"devmail", "--imap-addr", "127.0.0.1:0", "--smtp-addr", "127.0.0.1:0",
			"--account", "desk@codedesk.test:s3cret", "--account", "coder@clinic.test:coder"}, stdio{strings.NewReader(""), &out, &errb})
	}()
	re := regexp.MustCompile(`IMAP  (127\.0\.0\.1:\d+)\n  SMTP  (127\.0\.0\.1:\d+)`)
	var m []string
	for deadline := time.Now().Add(5 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		m = re.FindStringSubmatch(out.String())
	}
	if m == nil {
		t.Fatalf("devmail did not print its addresses; stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
	printed := out.String()
	for _, want := range []string{"desk@codedesk.test", "password as given", "temperror", "permerror", "Thunderbird"} {
		if !strings.Contains(printed, want) {
			t.Errorf("devmail output lacks %q:\n%s", want, printed)
		}
	}
	if strings.Contains(printed, "s3cret") || strings.Contains(errb.String(), "s3cret") {
		t.Errorf("devmail printed a password that was given on the command line")
	}
	// The server works: a question sent as the coder lands in the desk INBOX
	// (checked by logging in with the changed desk password).
	opts := devmail.AskOptions{Question: "ping", SMTPAddr: m[2], IMAPAddr: m[1]}
	if _, err := devmail.Send(ctx, opts); err != nil {
		t.Fatalf("Send() error = %v", err)
	}
	if _, err := devmail.WaitReply(ctx, devmail.AskOptions{From: "desk@codedesk.test", Password: "s3cret", IMAPAddr: m[1], Timeout: 300 * time.Millisecond}, "none@x"); err == nil || !strings.Contains(err.Error(), "no reply") {
		t.Errorf("WaitReply(desk, new password) error = %v, want a plain timeout after a good login", err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("devmail exit code = %d after cancel, want 0; stderr:\n%s", code, errb.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("devmail still running 5s after cancel")
	}
}

func TestDevmailCommandRefusesRemote(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"devmail", "--imap-addr", "0.0.0.0:0", "--smtp-addr", "127.0.0.1:0"}, stdio{strings.NewReader(""), &out, &errb})
	if code == 0 || !strings.Contains(errb.String(), "not a loopback address") {
		t.Errorf("devmail on 0.0.0.0 = exit %d, stderr %q, want a refusal", code, errb.String())
	}
}

// runAsk runs "codedesk ask" against a dev mail server whose desk answers
// every question by appending a threaded reply to the coder's INBOX.
func runAsk(t *testing.T, dev *devmail.Server, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"ask", "--imap-addr", dev.IMAPAddr(), "--smtp-addr", dev.SMTPAddr(), "--log-level", "warn"}, args...)
	code := run(t.Context(), args, stdio{strings.NewReader(""), &out, &errb})
	return out.String(), errb.String(), code
}

// answerQuestions is a minimal desk: it waits for each question in the desk
// INBOX and appends a threaded reply to the coder's INBOX.
func answerQuestions(ctx context.Context, t *testing.T, dev *devmail.Server) {
	answered := 0
	for ctx.Err() == nil {
		msgs, err := dev.Messages(ctx, "desk@codedesk.test", devmail.Inbox)
		if err != nil {
			return
		}
		for ; answered < len(msgs); answered++ {
			q, err := devmail.ParseReply(msgs[answered])
			if err != nil {
				t.Errorf("parsing question: %v", err)
				return
			}
			reply := "From: Coding Desk <desk@codedesk.test>\r\n" +
				"To: coder@clinic.test\r\n" +
				"Subject: Re: " + q.Subject + " [Case #1]\r\n" +
				"Date: Tue, 03 Mar 2026 09:30:00 +0000\r\n" +
				"In-Reply-To: <" + q.MessageID + ">\r\n" +
				"References: <" + q.MessageID + ">\r\n" +
				"Content-Type: text/plain; charset=utf-8\r\n" +
				"\r\n" +
				"You asked: " + strings.TrimSpace(q.Text) + "\r\nE11.9 is billable.\r\n"
			if err := dev.Append(ctx, "coder@clinic.test", devmail.Inbox, []byte(reply)); err != nil {
				t.Errorf("appending reply: %v", err)
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAskCommand(t *testing.T) {
	t.Parallel()
	dev, err := devmail.Start(t.Context(), devmail.Config{IMAPAddr: "127.0.0.1:0", SMTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("devmail.Start() error = %v", err)
	}
	defer dev.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go answerQuestions(ctx, t, dev)

	out, errs, code := runAsk(t, dev, "--timeout", "10s", "Is", "E11.9", "billable?")
	if code != 0 {
		t.Fatalf("ask exit = %d, stderr:\n%s", code, errs)
	}
	want := "Subject: Re: Is E11.9 billable? [Case #1]\n" +
		"From: \"Coding Desk\" <desk@codedesk.test>\n" +
		"Date: Tue, 03 Mar 2026 09:30:00 +0000\n" +
		"\n" +
		"You asked: Is E11.9 billable?\nE11.9 is billable.\n"
	if out != want {
		t.Errorf("ask output =\n%s\nwant\n%s", out, want)
	}

	out, errs, code = runAsk(t, dev, "--raw", "--subject", "Custom subject", "What is J45.909?")
	if code != 0 {
		t.Fatalf("ask --raw exit = %d, stderr:\n%s", code, errs)
	}
	if !strings.Contains(out, "Subject: Re: Custom subject [Case #1]\r\n") {
		t.Errorf("ask --raw output lacks the raw reply header:\n%s", out)
	}
	if !strings.Contains(out, "In-Reply-To: <ask.") || !strings.Contains(out, "\r\n\r\nYou asked: What is J45.909?\r\n") {
		t.Errorf("ask --raw output is not the raw message:\n%s", out)
	}
}

func TestAskCommandErrors(t *testing.T) {
	t.Parallel()
	dev, err := devmail.Start(t.Context(), devmail.Config{IMAPAddr: "127.0.0.1:0", SMTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("devmail.Start() error = %v", err)
	}
	defer dev.Close()

	_, errs, code := runAsk(t, dev, "--timeout", "1s", "Nobody answers this")
	if code == 0 || !strings.Contains(errs, "no reply within 1s: is `codedesk serve` running?") {
		t.Errorf("ask without a desk = exit %d, stderr %q, want the no-reply message", code, errs)
	}
	_, errs, code = runAsk(t, dev, "   ")
	if code != 2 || !strings.Contains(errs, "question is empty") {
		t.Errorf("ask with a blank question = exit %d, stderr %q, want exit 2 and a clear message", code, errs)
	}
	_, errs, code = runAsk(t, dev, "--to", "permerror@codedesk.test", "q")
	if code == 0 || !strings.Contains(errs, "550") {
		t.Errorf("ask to permerror = exit %d, stderr %q, want the 550 refusal", code, errs)
	}
}
