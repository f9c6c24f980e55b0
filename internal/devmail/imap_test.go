package devmail

import (
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// idleClient logs in as account, selects INBOX and reports every EXISTS
// count the server pushes.
func idleClient(t testing.TB, s *Server, user, pass string) (*imapclient.Client, <-chan uint32) {
	t.Helper()
	exists := make(chan uint32, 100)
	c, err := imapclient.DialInsecure(s.IMAPAddr(), &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if err != nil {
		t.Fatalf("DialInsecure() error = %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatalf("Login() error = %v", err)
	}
	if _, err := c.Select(Inbox, nil).Wait(); err != nil {
		t.Fatalf("Select() error = %v", err)
	}
	if !c.Caps().Has(imap.CapIdle) && !c.Caps().Has(imap.CapIMAP4rev2) {
		t.Fatalf("server does not advertise IDLE: %v", c.Caps())
	}
	return c, exists
}

// waitExists waits for a pushed EXISTS of want messages. It allows only
// 500 ms: well below the 1 s safety recheck, so a push that comes only from
// the recheck counts as missed.
func waitExists(t *testing.T, exists <-chan uint32, want uint32, what string) {
	t.Helper()
	deadline := time.After(500 * time.Millisecond)
	for {
		select {
		case n := <-exists:
			if n == want {
				return
			}
		case <-deadline:
			t.Fatalf("%s: no EXISTS %d pushed within 500ms while in IDLE", what, want)
		}
	}
}

// TestIDLEPushAfterSMTPDelivery sends mail the instant IDLE is acknowledged,
// many times over: with imapserver beta.8's own IDLE loop a delivery in the
// gap before it registers for updates was not pushed (3–5% of runs).
func TestIDLEPushAfterSMTPDelivery(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, exists := idleClient(t, s, "desk@codedesk.test", "desk")
	smtpc := dialSMTP(t, s)
	const rounds = 40
	for i := uint32(1); i <= rounds; i++ {
		idle, err := c.Idle()
		if err != nil {
			t.Fatalf("round %d: Idle() error = %v", i, err)
		}
		if err := sendSMTP(smtpc, "coder@clinic.test", []string{"desk@codedesk.test"}, testMessage); err != nil {
			t.Fatalf("round %d: send error = %v", i, err)
		}
		waitExists(t, exists, i, "SMTP delivery")
		if err := idle.Close(); err != nil {
			t.Fatalf("round %d: idle.Close() error = %v", i, err)
		}
		if err := idle.Wait(); err != nil {
			t.Fatalf("round %d: idle.Wait() error = %v", i, err)
		}
	}
}

// TestIDLEPushAfterAppend covers the other ways mail arrives: Server.Append
// (benchmarks) and IMAP APPEND from another connection (the desk saving to
// Sent, a mail client filing a message).
func TestIDLEPushAfterAppend(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, exists := idleClient(t, s, "coder", "coder")
	other, err := imapclient.DialInsecure(s.IMAPAddr(), nil)
	if err != nil {
		t.Fatalf("DialInsecure() error = %v", err)
	}
	defer other.Close()
	if err := other.Login("coder@clinic.test", "coder").Wait(); err != nil {
		t.Fatalf("Login() error = %v", err)
	}
	for i := uint32(1); i <= 20; i++ {
		idle, err := c.Idle()
		if err != nil {
			t.Fatalf("Idle() error = %v", err)
		}
		if i%2 == 1 {
			if err := s.Append(t.Context(), "coder@clinic.test", Inbox, []byte(testMessage)); err != nil {
				t.Fatalf("Append() error = %v", err)
			}
		} else {
			cmd := other.Append(Inbox, int64(len(testMessage)), nil)
			if _, err := cmd.Write([]byte(testMessage)); err != nil {
				t.Fatalf("APPEND write error = %v", err)
			}
			if err := cmd.Close(); err != nil {
				t.Fatalf("APPEND close error = %v", err)
			}
			if _, err := cmd.Wait(); err != nil {
				t.Fatalf("APPEND error = %v", err)
			}
		}
		waitExists(t, exists, i, "append")
		if err := idle.Close(); err != nil {
			t.Fatalf("idle.Close() error = %v", err)
		}
		if err := idle.Wait(); err != nil {
			t.Fatalf("idle.Wait() error = %v", err)
		}
	}
	// Mail for another account stays in that account.
	if err := s.Append(t.Context(), "desk@codedesk.test", Inbox, []byte(testMessage)); err != nil {
		t.Fatalf("Append(desk) error = %v", err)
	}
	if n, _ := s.Count("coder@clinic.test", Inbox); n != 20 {
		t.Errorf("Count(coder INBOX) = %d, want 20", n)
	}
}

func TestIMAPAppendLimit(t *testing.T) {
	t.Parallel()
	s := start(t, Config{MaxMessageBytes: 1000})
	c, err := imapclient.DialInsecure(s.IMAPAddr(), nil)
	if err != nil {
		t.Fatalf("DialInsecure() error = %v", err)
	}
	defer c.Close()
	if err := c.Login("desk", "desk").Wait(); err != nil {
		t.Fatalf("Login() error = %v", err)
	}
	big := make([]byte, 1500)
	for i := range big {
		big[i] = 'x'
	}
	cmd := c.Append(Sent, int64(len(big)), nil)
	_, _ = cmd.Write(big)
	_ = cmd.Close()
	if _, err := cmd.Wait(); err == nil {
		t.Errorf("APPEND of 1500 bytes with a 1000-byte limit succeeded, want NO")
	}
	if n, _ := s.Count("desk", Sent); n != 0 {
		t.Errorf("Count(desk Sent) = %d, want 0", n)
	}
}
