package dovecottest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func TestStartAppendRestart(t *testing.T) {
	t.Parallel()
	s := Start(t, &Options{Users: []User{{Name: "desk", Password: "pw1"}, {Name: "other", Password: "pw2"}}})

	msg := crlf("From: coder@example.test\nTo: desk@example.test\nSubject: synthetic\nMessage-ID: <dt-1@example.test>\n\nIs J45.909 billable?\n")
	uid := s.Append(t, "desk", "INBOX", msg)
	if uid == 0 {
		t.Fatalf("Append() UID = 0, want a UID (UIDPLUS)")
	}
	if uid2 := s.Append(t, "desk", "Archive", msg); uid2 == 0 {
		t.Fatalf("Append() to a new mailbox UID = 0, want a UID")
	}

	c := s.Dial(t, "desk")
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatalf("Select() error = %v", err)
	}
	if sel.NumMessages != 1 {
		t.Fatalf("Select() NumMessages = %d, want 1", sel.NumMessages)
	}
	uv := sel.UIDValidity
	c.Logout().Wait()

	// The other user's mailbox is separate.
	o := s.Dial(t, "other")
	if sel, err := o.Select("INBOX", nil).Wait(); err != nil || sel.NumMessages != 0 {
		t.Fatalf("other user's Select() = %+v, %v; want 0 messages", sel, err)
	}
	o.Logout().Wait()

	addr := s.Addr()
	s.Restart(t)
	if s.Addr() != addr {
		t.Fatalf("Addr() after Restart = %s, want %s", s.Addr(), addr)
	}
	c = s.Dial(t, "desk")
	sel, err = c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatalf("Select() after restart error = %v", err)
	}
	if sel.NumMessages != 1 || sel.UIDValidity != uv {
		t.Fatalf("after restart NumMessages, UIDValidity = %d, %d; want 1, %d", sel.NumMessages, sel.UIDValidity, uv)
	}
	msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Fetch() = %d messages, %v; want 1", len(msgs), err)
	}
	for _, b := range msgs[0].BodySection {
		if string(b.Bytes) != string(msg) {
			t.Fatalf("fetched body = %q, want %q", b.Bytes, msg)
		}
	}
}

func TestStopRefusesConnections(t *testing.T) {
	t.Parallel()
	s := Start(t, nil)
	s.Stop(t)
	if conn, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		conn.Close()
		t.Fatalf("dial after Stop succeeded, want connection refused")
	}
	s.Restart(t)
	s.Append(t, DefaultUser, "INBOX", crlf("Subject: x\n\nbody\n"))
}

// outcome records how requireBinary ended a test; Skipf and Fatalf panic
// with it so that, like the real ones, they stop the caller.
type outcome struct{ kind, msg string }

type fakeTB struct{ testing.TB }

func (fakeTB) Helper()                          {}
func (fakeTB) Skipf(format string, args ...any) { panic(outcome{"skip", fmt.Sprintf(format, args...)}) }
func (fakeTB) Fatalf(format string, args ...any) {
	panic(outcome{"fatal", fmt.Sprintf(format, args...)})
}

func runRequire(t *testing.T, name string, euid int) (o outcome) {
	defer func() {
		if r := recover(); r != nil {
			o = r.(outcome)
		}
	}()
	requireBinary(fakeTB{t}, name, euid)
	return outcome{kind: "ok"}
}

func TestRequireBinary(t *testing.T) {
	// Not parallel: it sets an environment variable.
	for _, tc := range []struct {
		name, bin, env string
		euid           int
		want           string
	}{
		{"missing, optional", "/nonexistent/dovecot", "", 0, "skip"},
		{"missing, required", "/nonexistent/dovecot", "1", 0, "fatal"},
		{"not root, optional", "/bin/sh", "", 1000, "skip"},
		{"not root, required", "/bin/sh", "1", 1000, "fatal"},
		{"present", "/bin/sh", "1", 0, "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvRequire, tc.env)
			o := runRequire(t, tc.bin, tc.euid)
			if o.kind != tc.want {
				t.Fatalf("requireBinary(%s, euid %d) with %s=%q = %s %q, want %s", tc.bin, tc.euid, EnvRequire, tc.env, o.kind, o.msg, tc.want)
			}
		})
	}
}

// TestNewOutsideTests runs the constructor programs use (the chaos
// harness): New in a directory of its own, AppendErr, RestartErr, Close.
func TestNewOutsideTests(t *testing.T) {
	t.Parallel()
	if err := Available(); err != nil {
		requireBinary(t, Binary, os.Geteuid()) // skips or fails as Start does
	}
	parent := t.TempDir()
	for _, d := range []string{filepath.Dir(parent), parent} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(parent, "dovecot")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := New(dir, &Options{Users: []User{{Name: "desk", Password: "pw"}}})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	defer s.Close()
	if _, err := s.AppendErr("desk", "Sent", crlf("Subject: x\n\nbody\n")); err != nil {
		t.Fatalf("AppendErr() error = %v", err)
	}
	if err := s.RestartErr(); err != nil {
		t.Fatalf("RestartErr() error = %v", err)
	}
	c := s.Dial(t, "desk")
	if st, err := c.Status("Sent", &imap.StatusOptions{NumMessages: true}).Wait(); err != nil || st.NumMessages == nil || *st.NumMessages != 1 {
		t.Fatalf("Status(Sent) after restart = %+v, %v; want 1 message", st, err)
	}
	c.Logout().Wait()
	s.Close()
	if conn, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		conn.Close()
		t.Fatalf("dial after Close succeeded, want connection refused")
	}
}
