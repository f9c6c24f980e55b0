package mailbox

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"testing"

	"github.com/codedesk/codedesk/internal/dovecottest"
)

func TestCopiesFindAndAppend(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	srv.appendMsg(t, question("one"))
	cp, err := NewCopies(testConfig(srv.addr), []string{"INBOX", "Sent"}, "Sent")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// In INBOX (where a BCC copy lands); Sent does not exist yet.
	if found, folder, err := cp.FindMessageID(ctx, "one@example.test"); err != nil || !found || folder != "INBOX" {
		t.Errorf("FindMessageID(one) = %v, %q, %v; want found in INBOX", found, folder, err)
	}
	if found, _, err := cp.FindMessageID(ctx, "two@example.test"); err != nil || found {
		t.Errorf("FindMessageID(two) = %v, %v; want not found, no error", found, err)
	}
	// AppendSent creates Sent, files the reply once, and a retry does not
	// file it twice.
	for range 2 {
		if err := cp.AppendSent(ctx, "two@example.test", question("two")); err != nil {
			t.Fatalf("AppendSent() = %v", err)
		}
	}
	if found, folder, err := cp.FindMessageID(ctx, "two@example.test"); err != nil || !found || folder != "Sent" {
		t.Errorf("FindMessageID(two) after AppendSent = %v, %q, %v; want found in Sent", found, folder, err)
	}
	if n := countIn(t, srv.addr, "Sent"); n != 1 {
		t.Errorf("messages in Sent = %d, want 1", n)
	}
	noSent, _ := NewCopies(testConfig(srv.addr), []string{"INBOX"}, "")
	if err := noSent.AppendSent(ctx, "x@example.test", question("x")); err != ErrNoSentFolder {
		t.Errorf("AppendSent() without a Sent folder = %v, want ErrNoSentFolder", err)
	}
}

func TestCopiesBadLoginIsAnError(t *testing.T) {
	t.Parallel()
	srv := startMem(t, nil)
	cfg := testConfig(srv.addr)
	cfg.Password = "wrong"
	cp, _ := NewCopies(cfg, []string{"INBOX"}, "")
	if _, _, err := cp.FindMessageID(t.Context(), "one@example.test"); err == nil {
		t.Error("FindMessageID() with a bad password = nil error, want one (a retry must not take it for 'no copy')")
	}
}

// TestCopiesDovecot checks the Message-ID search and APPEND against a real
// server: Dovecot's header search is a substring match, so the angle
// brackets keep "1@x" from matching "11@x".
func TestCopiesDovecot(t *testing.T) {
	t.Parallel()
	d := dovecottest.Start(t, nil)
	d.Append(t, dovecottest.DefaultUser, "INBOX", question("11"))
	cfg := dovecotConfig(d)
	cp, err := NewCopies(cfg, []string{"INBOX", "Sent"}, "Sent")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if found, _, err := cp.FindMessageID(ctx, "1@example.test"); err != nil || found {
		t.Errorf("FindMessageID(1) = %v, %v; want not found (only 11 is there)", found, err)
	}
	if found, folder, err := cp.FindMessageID(ctx, "11@example.test"); err != nil || !found || folder != "INBOX" {
		t.Errorf("FindMessageID(11) = %v, %q, %v; want found in INBOX", found, folder, err)
	}
	for range 2 {
		if err := cp.AppendSent(ctx, "12@example.test", question("12")); err != nil {
			t.Fatalf("AppendSent() = %v", err)
		}
	}
	if found, folder, err := cp.FindMessageID(ctx, "12@example.test"); err != nil || !found || folder != "Sent" {
		t.Errorf("FindMessageID(12) = %v, %q, %v; want found in Sent", found, folder, err)
	}
}

// countIn returns the number of messages in a folder of the test user.
func countIn(t *testing.T, addr, folder string) uint32 {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return sel.NumMessages
}
