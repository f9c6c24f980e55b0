package queue

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/dovecottest"
	"github.com/codedesk/codedesk/internal/mailbox"
	"github.com/codedesk/codedesk/internal/smtptest"
	"github.com/codedesk/codedesk/internal/store"
)

// TestSMTPFaults421Then451Then250: the server first refuses the
// connection (421 instead of its greeting), then refuses the message after
// its data (451), then accepts it. The question is answered exactly once,
// under one Message-ID, with both failures recorded.
func TestSMTPFaults421Then451Then250(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6})
		b.smtp.FailNextAt(smtptest.StageConnect, 1, 421, "4.3.2 service shutting down")
		b.smtp.FailNextAt(smtptest.StageData, 1, 451, "4.3.0 try again later")
		b.deliver(t, question("q1@clinic.test", "coder@clinic.test", "Wheelchair", "K0001?"))
		b.waitCase(t, 1, store.StatusSent)
		time.Sleep(200 * time.Millisecond)
		if got := len(b.smtp.Messages()); got != 1 {
			t.Errorf("replies accepted = %d, want exactly 1", got)
		}
		if got := b.smtp.DataAttempts(); got != 2 {
			t.Errorf("DATA transfers = %d, want 2 (the 451 and the accepted one)", got)
		}
		d, _ := store.LatestDraft(b.ctx, db, 1)
		if d.Attempts != 2 || d.Status != store.DraftSent {
			t.Errorf("draft = %s after %d failed attempts, want sent after 2", d.Status, d.Attempts)
		}
		// A temporary failure outcome is known: no send is left in doubt.
		if at, err := store.SendStartedAt(b.ctx, db, d.ID); err != nil || at != nil {
			t.Errorf("send marker = %v, %v; want cleared", at, err)
		}
	}, Migrate)
}

// cutProxy forwards TCP to a server and can drop every connection, at once
// or once a connection has carried a number of bytes from the server (a
// connection killed in the middle of a FETCH).
type cutProxy struct {
	ln       net.Listener
	target   string
	mu       sync.Mutex
	conns    []net.Conn
	cutAfter atomic.Int64 // > 0: cut the connection that carries this many bytes, once
	cuts     atomic.Int32
	// stallAfter > 0 holds the connection that carries this many bytes
	// (once): stalled is closed, and forwarding resumes when release is.
	stallAfter       atomic.Int64
	stalled, release chan struct{}
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go p.down(s, c)
		}
	}()
	return p
}

// down copies server → client, cutting the pair when cutAfter is reached.
func (p *cutProxy) down(s, c net.Conn) {
	defer c.Close()
	var n int64
	buf := make([]byte, 32<<10)
	for {
		k, err := s.Read(buf)
		if k > 0 {
			n += int64(k)
			if lim := p.cutAfter.Load(); lim > 0 && n >= lim && p.cutAfter.CompareAndSwap(lim, 0) {
				p.cuts.Add(1)
				s.Close()
				return
			}
			if lim := p.stallAfter.Load(); lim > 0 && n >= lim && p.stallAfter.CompareAndSwap(lim, 0) {
				close(p.stalled)
				<-p.release
			}
			if _, werr := c.Write(buf[:k]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.cuts.Add(1)
}

// TestFaultsMailboxPipeline runs the poller against a real Dovecot through
// a proxy, with the real sink and workers, and breaks things while
// questions arrive: Dovecot restarted while the poller idles, connections
// killed mid-IDLE, a connection killed in the middle of fetching a large
// message, Dovecot restarted in the middle of fetching a large message,
// and the mailbox's UIDVALIDITY changed (Dovecot's index removed,
// so every message comes back under new UIDs). At the end every question
// was answered exactly once.
func TestFaultsMailboxPipeline(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		d := dovecottest.Start(t, nil)
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6})
		px := startCutProxy(t, d.Addr())
		p, err := mailbox.New(mailbox.Config{Addr: px.addr(), Username: dovecottest.DefaultUser, Password: dovecottest.DefaultPassword,
			PollInterval: time.Second, Timeout: 2 * time.Second, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 300 * time.Millisecond,
			Logger: logger()}, b.sink)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- p.Run(b.ctx) }()

		sent := 0
		ask := func(n int, body string) {
			t.Helper()
			for range n {
				sent++
				raw := question(fmt.Sprintf("fault-%d@clinic.test", sent), fmt.Sprintf("coder%d@clinic.test", sent),
					fmt.Sprintf("Question %d", sent), "Is K0001 right for a standard wheelchair?"+body)
				d.Append(t, dovecottest.DefaultUser, "INBOX", []byte(strings.ReplaceAll(raw, "\n", "\r\n")))
			}
		}
		answered := func(what string) {
			t.Helper()
			deadline := time.Now().Add(60 * time.Second)
			for b.count(t, "SELECT COUNT(*) FROM drafts WHERE status = ?", store.DraftSent) < sent {
				if time.Now().After(deadline) {
					t.Fatalf("%s: %d of %d questions answered after 60s (poller: %+v)", what, b.count(t,
						"SELECT COUNT(*) FROM drafts WHERE status = ?", store.DraftSent), sent, p.Status())
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		idle := func() {
			t.Helper()
			waitFor(t, func() bool { return p.Status().Idle && p.Status().Connected })
		}

		ask(4, "")
		answered("start")

		idle()
		d.Restart(t) // Dovecot restarted while the poller idles
		ask(4, "")
		answered("after a Dovecot restart mid-IDLE")

		idle()
		px.cut() // connections killed mid-IDLE
		ask(3, "")
		answered("after connections were killed mid-IDLE")

		idle()
		px.cutAfter.Store(512 << 10) // killed half-way through a 2 MiB FETCH
		ask(1, "\n\n"+strings.Repeat("scan data line for the attachment of this synthetic question\n", 2<<20/62))
		ask(2, "")
		answered("after a connection was killed mid-FETCH")
		if px.cutAfter.Load() != 0 {
			t.Error("the mid-FETCH cut never happened")
		}

		// Dovecot restarted while a large message is half-way through its
		// FETCH: the proxy holds the transfer, Dovecot goes down and comes
		// back, then the rest of what was buffered is let through.
		idle()
		px.stalled, px.release = make(chan struct{}), make(chan struct{})
		px.stallAfter.Store(512 << 10)
		ask(1, "\n\n"+strings.Repeat("scan data line for the attachment of this synthetic question\n", 2<<20/62))
		select {
		case <-px.stalled:
		case <-time.After(30 * time.Second):
			t.Fatal("the FETCH of the large message never reached 512 KiB")
		}
		d.Restart(t)
		close(px.release)
		ask(1, "")
		answered("after Dovecot restarted mid-FETCH")

		// UIDVALIDITY changes: Dovecot loses its index and renumbers
		// every message. The poller rescans them all; dedupe absorbs them.
		d.Stop(t)
		maildir := filepath.Join(d.Dir(), "mail", dovecottest.DefaultUser, "Maildir")
		entries, _ := os.ReadDir(maildir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "dovecot-uidlist") || strings.HasPrefix(e.Name(), "dovecot.index") {
				if err := os.Remove(filepath.Join(maildir, e.Name())); err != nil {
					t.Fatal(err)
				}
			}
		}
		time.Sleep(1100 * time.Millisecond) // UIDVALIDITY is a timestamp: make the new one differ
		before, _, _, _ := b.sink.Checkpoint(b.ctx, "INBOX")
		d.Restart(t)
		ask(2, "")
		answered("after a UIDVALIDITY change")
		waitFor(t, func() bool { uv, _, _, _ := b.sink.Checkpoint(b.ctx, "INBOX"); return uv != before })

		// Exactly once: one stored message, one case and one reply per question.
		time.Sleep(300 * time.Millisecond)
		if n := b.count(t, "SELECT COUNT(*) FROM messages WHERE direction = ?", store.Inbound); n != sent {
			t.Errorf("stored questions = %d, want %d", n, sent)
		}
		if n := b.count(t, "SELECT COUNT(*) FROM cases"); n != sent {
			t.Errorf("cases = %d, want %d", n, sent)
		}
		msgs := b.smtp.Messages()
		seen := map[string]bool{}
		for _, m := range msgs {
			seen[m.Header.Get("In-Reply-To")] = true
		}
		if len(msgs) != sent || len(seen) != sent {
			t.Errorf("replies = %d to %d distinct questions, want %d each answered once", len(msgs), len(seen), sent)
		}
		t.Logf("faults: %d questions, %d replies, %d proxy cuts, %d Dovecot restarts; poller %+v", sent, len(msgs), px.cuts.Load(), 3, p.Status())
	}, Migrate)
}
