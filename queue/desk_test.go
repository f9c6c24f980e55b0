package queue

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

// TestDeskActions runs the web desk's actions against working River
// workers: an edited approval is sent with the edit in both parts, and a
// re-run of the analysis (after the first analyse job completed) drafts
// anew.
func TestDeskActions(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{autoSend: false})
		b.deliver(t, question("d1@clinic.test", "coder@clinic.test", "One", "What is E11.22?"))
		b.deliver(t, question("d2@clinic.test", "coder@clinic.test", "Two", "What is K0001?"))
		b.waitCase(t, 1, store.StatusAwaitingReview)
		b.waitCase(t, 2, store.StatusAwaitingReview)

		d1, _ := store.LatestDraft(b.ctx, db, 1)
		if err := b.q.ApproveText(b.ctx, d1.ID, "rita@codedesk.test", ""); err == nil {
			t.Error("ApproveText(empty) = nil error")
		}
		if err := b.q.ApproveText(b.ctx, d1.ID, "rita@codedesk.test", strings.Repeat("x", MaxDraftText+1)); !errors.Is(err, ErrDraftTooLong) {
			t.Errorf("ApproveText(too long) = %v, want ErrDraftTooLong", err)
		}
		edited := d1.BodyText + "\r\nChecked by Rita <reviewer>.\r\n"
		if err := b.q.ApproveText(b.ctx, d1.ID, "rita@codedesk.test", edited); err != nil {
			t.Fatal(err)
		}
		b.waitCase(t, 1, store.StatusSent)
		msgs := b.smtp.WaitFor(t, 1, 10*time.Second)
		raw := strings.ReplaceAll(strings.ReplaceAll(string(msgs[0].Raw), "=\r\n", ""), "=3D", "=")
		if !strings.Contains(raw, "Checked by Rita <reviewer>.") || !strings.Contains(raw, "Checked by Rita &lt;reviewer&gt;.") {
			t.Errorf("sent reply lacks the edit in its text and HTML parts:\n%s", raw)
		}

		// Re-run case 2's analysis after its analyse job completed.
		before, _ := store.LatestDraft(b.ctx, db, 2)
		if err := b.q.Reanalyse(b.ctx, 2, "rita@codedesk.test"); err != nil {
			t.Fatal(err)
		}
		b.waitCase(t, 2, store.StatusAwaitingReview)
		after, _ := store.LatestDraft(b.ctx, db, 2)
		old, _ := store.GetDraft(b.ctx, db, before.ID)
		if after.ID == before.ID || after.Status != store.DraftPending || old.Status != store.DraftSuperseded {
			t.Errorf("after the re-run: new draft %d (%s), old draft %d (%s); want a new pending draft and the old superseded",
				after.ID, after.Status, before.ID, old.Status)
		}
		if n := b.count(t, "SELECT COUNT(*) FROM analyses WHERE case_id = 2"); n != 2 {
			t.Errorf("analyses of case 2 = %d, want 2", n)
		}
		if err := b.q.Reanalyse(b.ctx, 1, "rita@codedesk.test"); !errors.Is(err, ErrNotReanalysable) {
			t.Errorf("Reanalyse(sent case) = %v, want ErrNotReanalysable", err)
		}
	}, Migrate)
}
