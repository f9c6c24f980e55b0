package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/queue"
)

// TestDeskScreenshots starts a desk seeded with synthetic questions and
// saves PNGs of the queue and a case page to docs/screenshots. It runs with
// CODEDESK_SCREENSHOTS=1:
//
//	CODEDESK_SCREENSHOTS=1 go test ./cmd/codedesk -run DeskScreenshots
func TestDeskScreenshots(t *testing.T) {
	if os.Getenv("CODEDESK_SCREENSHOTS") != "1" {
		t.Skip("set CODEDESK_SCREENSHOTS=1 to refresh docs/screenshots")
	}
	bctx := browser(t, 1400, 2100)
	b := startDesk(t, dbtest.SQLite(t, queue.Migrate))
	questions := []struct{ from, subject, body string }{
		{"billing@northside-ortho.test", "Wheelchair code", "Which HCPCS code is a standard wheelchair? We had K0001 in mind."},
		{"coder@lakeview-clinic.test", "Diabetes with CKD", "Patient has type 2 diabetes with diabetic CKD stage 3a. Is E11.22 right, and what else is needed?"},
		{"dana@clinic.test", "Quick one", "What is E11.22?"},
		{"frontdesk@valley-family.test", "Thanks!", "Thanks for the help last week."},
		{"ar@metro-surgical.test", "E11.22 and K0001 together", "Can we report E11.22 with K0001 on the same claim?"},
	}
	var caseID int64
	for i, q := range questions {
		id := b.ask(t, questionMail(100+i, q.from, q.subject, q.body))
		if i == 1 {
			caseID = id
		}
	}
	if _, err := store.AssignCase(b.ctx, b.db, caseID, "rita@codedesk.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddNote(b.ctx, b.db, &store.Note{CaseID: caseID, Author: "rita@codedesk.test", Body: "Checked the stage with the clinic: 3a."}); err != nil {
		t.Fatal(err)
	}
	b.signIn(t, bctx)
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shots := []struct{ name, path, wait string }{
		{"queue.png", "/queue?tab=all", "table.queue"},
		{"case.png", fmt.Sprintf("/cases/%d", caseID), "#body"},
	}
	for _, s := range shots {
		if err := chromedp.Do(bctx, chromedp.Navigate(b.base+s.path), chromedp.WaitVisible(chromedp.CSS(s.wait)),
			// The reply preview is a sandboxed srcdoc frame the parent cannot
			// look into; give it time to paint (a loaded machine once
			// photographed it blank).
			chromedp.Sleep(time.Second)); err != nil {
			t.Fatal(err)
		}
		img, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, s.name), img, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", s.name, len(img))
	}
}
