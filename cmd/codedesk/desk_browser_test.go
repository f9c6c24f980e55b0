package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/mailbox"
	"github.com/codedesk/codedesk/internal/mailparse"
	"github.com/codedesk/codedesk/internal/smtptest"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/internal/web"
	"github.com/codedesk/codedesk/queue"
)

// deskBundle is a full node (River workers, SMTP sender to a test sink, the
// web desk) without a mailbox: questions are handed to the poller's sink
// directly.
type deskBundle struct {
	ctx  context.Context
	db   *store.DB
	node *node
	smtp *smtptest.Sink
	base string
	uid  atomic.Uint32
}

const deskPassword = "reviewer passphrase 1"

func startDesk(t testing.TB, db *store.DB) *deskBundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	if _, err := codes.Import(ctx, db, fixtureCodeSets, codes.ImportOptions{Logger: testLogger(t)}); err != nil {
		t.Fatal(err)
	}
	sink := smtptest.Start(t, smtptest.Options{})
	var c config.Serve
	c.IMAP = config.IMAP{Disabled: true, Mailbox: "INBOX"}
	c.SMTP = config.SMTP{Addr: sink.Addr(), Security: "none", Timeout: 5 * time.Second, From: "desk@codedesk.test", FromName: "codedesk coding desk"}
	c.Policy = config.Policy{MinConfidence: 0.6}
	c.Queue = config.Queue{Workers: 4, FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond}
	c.HTTP = config.HTTP{Addr: "127.0.0.1:0"}
	n, err := startNode(ctx, nodeConfig{Serve: c, DB: db, Logger: testLogger(t), Migrate: true, ShutdownTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	h, err := web.HashPasswordWith(deskPassword, web.PasswordParams{Memory: 8 << 10, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpsertUser(ctx, db, &store.User{Email: "rita@codedesk.test", Name: "Rita Reviewer", Role: store.RoleAdmin, PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	return &deskBundle{ctx: ctx, db: db, node: n, smtp: sink, base: "http://" + n.httpAddr}
}

// ask hands a raw question to the node as the poller would and returns its
// case once a draft waits for review.
func (b *deskBundle) ask(t testing.TB, raw string) int64 {
	t.Helper()
	r := []byte(strings.ReplaceAll(raw, "\n", "\r\n"))
	uid := b.uid.Add(1)
	if err := queue.NewSink(b.node.q, nil).Deliver(b.ctx, []*mailbox.Fetched{{Mailbox: "INBOX", UIDValidity: 1, UID: uid, Size: int64(len(r)), Raw: r}}); err != nil {
		t.Fatal(err)
	}
	p, err := mailparse.Parse(r, mailparse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var id int64
		err := b.db.QueryRow(b.ctx, "SELECT case_id FROM messages WHERE message_id = ? AND case_id IS NOT NULL", p.MessageID).Scan(&id)
		if err == nil {
			c, err := store.GetCase(b.ctx, b.db, id)
			if err == nil && c.Status.Terminal() {
				return id
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("question %s not drafted in time", p.MessageID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func questionMail(n int, from, subject, body string) string {
	return fmt.Sprintf("From: Dana Synthetic <%s>\nTo: desk@codedesk.test\nSubject: %s\nMessage-ID: <desk-%d-%d@clinic.test>\n"+
		"Date: Fri, 27 Nov 2026 10:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n\n%s\n", from, subject, n, time.Now().UnixNano(), body)
}

// browser starts headless Chromium, or skips the test when there is none
// (fails when CODEDESK_REQUIRE_CHROMIUM=1, as .ci/run sets).
func browser(t testing.TB, w, h int) context.Context {
	t.Helper()
	found := false
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if _, err := exec.LookPath(name); err == nil {
			found = true
			break
		}
	}
	if !found {
		if os.Getenv("CODEDESK_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("Chromium is required (CODEDESK_REQUIRE_CHROMIUM=1) but not installed: apt-get install chromium")
		}
		t.Skip("browser test skipped: Chromium is not installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.DisableGPU, chromedp.NoSandbox,
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(w, h))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	ctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(tcancel)
	return ctx
}

func (b *deskBundle) signIn(t testing.TB, bctx context.Context) {
	t.Helper()
	err := chromedp.Do(bctx,
		chromedp.Navigate(b.base+"/queue"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "rita@codedesk.test"),
		chromedp.SendKeys(chromedp.CSS("#password"), deskPassword),
		chromedp.Click(chromedp.CSS(".login button")),
		chromedp.WaitVisible(chromedp.CSS("table.queue")),
	)
	if err != nil {
		t.Fatalf("signing in: %v", err)
	}
}

// TestBrowserReviewAndApprove signs in with a real browser, opens a case,
// edits the draft, approves it and sees the reply arrive at the SMTP server
// with the edit.
func TestBrowserReviewAndApprove(t *testing.T) {
	t.Parallel()
	bctx := browser(t, 1280, 900)
	b := startDesk(t, dbtest.SQLite(t, queue.Migrate))
	id := b.ask(t, questionMail(1, "dana@clinic.test", "E11.22 and K0001", "What is E11.22? Also the HCPCS for a standard wheelchair, K0001?"))
	b.signIn(t, bctx)
	edit := "Reviewer's addition: please send the wheelchair order with the face-to-face note."
	err := chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`td a[href="/cases/%d"]`, id))),
		chromedp.WaitVisible(chromedp.CSS("#body")),
	)
	if err != nil {
		t.Fatalf("opening the case: %v", err)
	}
	orig, err := chromedp.Run(bctx, chromedp.Value(chromedp.CSS("#body")))
	if err != nil || !strings.Contains(orig, "E11.22") {
		t.Fatalf("draft in the editor = %q, %v; want the drafted reply", orig, err)
	}
	err = chromedp.Do(bctx,
		chromedp.SetValue(chromedp.CSS("#body"), strings.TrimRight(orig, "\n")+"\n\n"),
		chromedp.SendKeys(chromedp.CSS("#body"), edit),
		chromedp.Click(chromedp.CSS("button.primary")),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")),
	)
	if err != nil {
		t.Fatalf("approving: %v", err)
	}
	flash, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(".flash-ok")))
	if !strings.Contains(flash, "approved") {
		t.Errorf("flash after approve = %q", flash)
	}
	msgs := b.smtp.WaitFor(t, 1, 30*time.Second)
	p, err := mailparse.Parse(msgs[0].Raw, mailparse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(p.Text), " ")
	if !strings.Contains(text, edit) || !strings.Contains(text, "E11.22") || msgs[0].To[0] != "dana@clinic.test" {
		t.Errorf("reply to %v does not carry the reviewer's edit:\n%s", msgs[0].To, p.Text)
	}
	if !strings.Contains(strings.Join(strings.Fields(mailparse.HTMLToText(p.HTML)), " "), edit) {
		t.Errorf("the HTML part of the reply lacks the edit:\n%s", p.HTML)
	}
	// River's job UI renders for an admin under the desk's CSP for it.
	if err := chromedp.Do(bctx, chromedp.Navigate(b.base+"/admin/jobs/")); err != nil {
		t.Fatal(err)
	}
	rendered := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !rendered; time.Sleep(200 * time.Millisecond) {
		n, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#root *').length`))
		rendered = n > 20
	}
	if !rendered {
		t.Error("River's job UI did not render under /admin/jobs/")
	}
	// The send job records "sent" just after the server accepted the reply.
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := store.GetCase(b.ctx, b.db, id); err == nil && c.Status == store.StatusSent {
			break
		}
	}
	evs, _ := store.CaseEvents(b.ctx, b.db, id)
	var trail []string
	for _, e := range evs {
		trail = append(trail, e.Actor+":"+e.Action)
	}
	got := strings.Join(trail, ",")
	for _, want := range []string{"rita@codedesk.test:viewed", "rita@codedesk.test:edited", "rita@codedesk.test:approved", "system:sent"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit trail %s lacks %s", got, want)
		}
	}
}

// TestBrowserHostileMail shows an inbound email carrying scripts,
// event-handler attributes, remote images, styles and frames, and checks in
// a real browser that nothing of it runs or loads.
func TestBrowserHostileMail(t *testing.T) {
	t.Parallel()
	bctx := browser(t, 1280, 1000)
	var mu sync.Mutex
	var hits []string
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, r.URL.Path)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer remote.Close()
	raw, err := os.ReadFile(filepath.Join("..", "..", "internal", "web", "testdata", "hostile.eml"))
	if err != nil {
		t.Fatal(err)
	}
	b := startDesk(t, dbtest.SQLite(t, queue.Migrate))
	id := b.ask(t, strings.ReplaceAll(string(raw), "REMOTE", remote.URL))
	b.signIn(t, bctx)
	frameURL := ""
	err = chromedp.Do(bctx,
		chromedp.Navigate(fmt.Sprintf("%s/cases/%d", b.base, id)),
		chromedp.WaitVisible(chromedp.CSS("details.html summary")),
		chromedp.Click(chromedp.CSS("details.html summary")),
		chromedp.WaitVisible(chromedp.CSS("details.html iframe")),
	)
	if err != nil {
		t.Fatalf("opening the HTML version: %v", err)
	}
	// The frame's document is the sanitised mail (srcdoc); give anything
	// hostile in it time to try.
	doc, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.CSS("details.html iframe"), "srcdoc"))
	if err != nil || !strings.Contains(doc.Value, "be billed with E11.22") || strings.Contains(strings.ToLower(doc.Value), "<script") {
		t.Fatalf("frame srcdoc = %q, %v; want the sanitised mail", doc.Value, err)
	}
	time.Sleep(1500 * time.Millisecond)
	frameURL = fmt.Sprintf("%s/cases/%d/messages/%d/html", b.base, id, b.messageOf(t, id))
	// The same view as a top-level page: the text is there, the CSP sandbox
	// still applies.
	if err := chromedp.Do(bctx, chromedp.Navigate(frameURL), chromedp.WaitVisible(chromedp.CSS("#q"))); err != nil {
		t.Fatal(err)
	}
	text, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
	if !strings.Contains(text, "be billed with E11.22") {
		t.Errorf("HTML version text = %q", text)
	}
	time.Sleep(1500 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(hits) > 0 {
		t.Errorf("the hostile mail reached the remote server: %v", hits)
	}
}

// messageOf returns the first message of a case.
func (b *deskBundle) messageOf(t testing.TB, caseID int64) int64 {
	t.Helper()
	var id int64
	if err := b.db.QueryRow(b.ctx, "SELECT MIN(id) FROM messages WHERE case_id = ?", caseID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
