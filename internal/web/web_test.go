package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/internal/web"
)

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h, err := web.HashPasswordWith("s3cret passphrase", cheap)
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("HashPasswordWith() = %q, %v", h, err)
	}
	if ok, err := web.VerifyPassword(h, "s3cret passphrase"); !ok || err != nil {
		t.Errorf("VerifyPassword(right) = %v, %v; want true", ok, err)
	}
	if ok, _ := web.VerifyPassword(h, "s3cret passphrasE"); ok {
		t.Error("VerifyPassword(wrong) = true")
	}
	h2, _ := web.HashPasswordWith("s3cret passphrase", cheap)
	if h2 == h {
		t.Error("two hashes of one password are equal; want a random salt")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=99999999,t=1,p=1$AA$AA"} {
		if _, err := web.VerifyPassword(bad, "x"); err == nil {
			t.Errorf("VerifyPassword(%q) = nil error", bad)
		}
	}
	if err := web.CheckPasswordStrength("short"); err == nil {
		t.Error("CheckPasswordStrength(short) = nil")
	}
}

func TestSignInSessionAndSignOut(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{secure: true})
		c := b.client(t)
		// Signed out, a case page sends the browser to the sign-in page and
		// brings it back afterwards.
		res := c.get(fmt.Sprintf("/cases/%d", b.caseID))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != fmt.Sprintf("/login?next=%%2Fcases%%2F%d", b.caseID) {
			t.Fatalf("GET case signed out = %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		res = c.post("/login", url.Values{"email": {"RITA@codedesk.test"}, "password": {testPassword}, "next": {fmt.Sprintf("/cases/%d", b.caseID)}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != fmt.Sprintf("/cases/%d", b.caseID) {
			t.Fatalf("POST /login = %d %q, want a redirect back to the case", res.StatusCode, res.Header.Get("Location"))
		}
		var sess *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == "codedesk_session" {
				sess = ck
			}
		}
		if sess == nil || !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteStrictMode || len(sess.Value) < 40 {
			t.Fatalf("session cookie = %+v; want HttpOnly, Secure, SameSite=Strict and a long random token", sess)
		}
		if n := b.count(t, "SELECT COUNT(*) FROM sessions WHERE token_hash = ?", sess.Value); n != 0 {
			t.Error("the session token is stored in clear; want only its hash")
		}
		if res := c.get("/queue"); res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "rita@codedesk.test") {
			t.Fatalf("GET /queue signed in = %d", res.StatusCode)
		}
		// Idle past the timeout: signed out.
		b.clock.Add(31 * time.Minute)
		if res := c.get("/queue"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("GET /queue after 31 idle minutes = %d, want a redirect to sign in", res.StatusCode)
		}
		// Sign in again and out.
		c = b.signedIn(t, "rita@codedesk.test")
		if res := c.post("/logout", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST /logout = %d", res.StatusCode)
		}
		if res := c.get("/queue"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("GET /queue after sign-out = %d, want a redirect", res.StatusCode)
		}
		got := strings.Join(actorsActions(t, b, 0), ",")
		for _, want := range []string{"rita@codedesk.test:signed_in", "rita@codedesk.test:signed_out"} {
			if !strings.Contains(got, want) {
				t.Errorf("audit trail %s lacks %s", got, want)
			}
		}
	}, migrateRiver)
}

func actorsActions(t *testing.T, b *testBundle, caseID int64) []string {
	t.Helper()
	evs, _, err := store.ListEvents(b.ctx, b.db, store.EventFilter{CaseID: caseID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Actor+":"+e.Action)
	}
	slices.Reverse(out)
	return out
}

func TestSignInFailuresAreThrottled(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t, migrateRiver), setupOpts{})
	c := b.client(t)
	for i := 0; i < 5; i++ {
		res := c.post("/login", url.Values{"email": {"rita@codedesk.test"}, "password": {"wrong wrong wrong"}})
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Body, "not right") {
			t.Fatalf("attempt %d = %d, want 401 with the form", i, res.StatusCode)
		}
	}
	// Even the right password is refused until the window passes.
	res := c.post("/login", url.Values{"email": {"rita@codedesk.test"}, "password": {testPassword}})
	if res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("sign-in after 5 failures = %d, want 429", res.StatusCode)
	}
	b.clock.Add(16 * time.Minute)
	if res := c.post("/login", url.Values{"email": {"rita@codedesk.test"}, "password": {testPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-in after the window = %d, want 303", res.StatusCode)
	}
	if got := strings.Join(actorsActions(t, b, 0), ","); strings.Count(got, "sign_in_failed") != 5 || !strings.Contains(got, "sign_in_throttled") {
		t.Errorf("audit trail = %s, want 5 failures and a throttled attempt", got)
	}
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t, migrateRiver), setupOpts{})
	c := b.signedIn(t, "rita@codedesk.test")
	path := fmt.Sprintf("/cases/%d/notes", b.caseID)
	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "http://evil.example"}} {
		if res := c.post(path, url.Values{"note": {"forged"}}, h...); res.StatusCode != http.StatusForbidden {
			t.Errorf("POST notes with %s: %s = %d, want 403", h[0], h[1], res.StatusCode)
		}
	}
	if res := c.post(path, url.Values{"note": {"genuine"}}, "Sec-Fetch-Site", "same-origin"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin POST = %d, want 303", res.StatusCode)
	}
	notes, _ := store.CaseNotes(b.ctx, b.db, b.caseID)
	if len(notes) != 1 || notes[0].Body != "genuine" {
		t.Errorf("notes = %+v, want only the genuine one", notes)
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t, migrateRiver), setupOpts{})
	c := b.signedIn(t, "adam@codedesk.test")
	for _, p := range []string{"/login", "/queue", fmt.Sprintf("/cases/%d", b.caseID), "/admin/audit"} {
		res := c.get(p)
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s CSP = %q, want no scripts and no framing", p, csp)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s headers = %v", p, res.Header)
		}
		if strings.Contains(strings.ToLower(res.Body), "<script") {
			t.Errorf("GET %s has a script element", p)
		}
	}
}

func TestQueuePage(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{})
		// 60 more cases, some sent.
		for i := 0; i < 60; i++ {
			st := store.StatusAwaitingReview
			if i%2 == 0 {
				st = store.StatusSent
			}
			if _, err := store.CreateCase(b.ctx, db, &store.Case{Subject: fmt.Sprintf("Filler %d", i), Requester: fmt.Sprintf("f%d@clinic.test", i),
				Status: st, CreatedAt: time.Now().Add(-5 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		c := b.signedIn(t, "rita@codedesk.test")
		res := c.get("/queue")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /queue = %d", res.StatusCode)
		}
		for _, want := range []string{
			`Awaiting review <span class="count">31</span>`, `Sent <span class="count">30</span>`, `All <span class="count">61</span>`,
			"Billing 20610 with E11.22", "pat@clinic.test", "ncci pair check", "72%", `age-late`,
		} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("queue page lacks %q", want)
			}
		}
		// 61 cases in "all": a page of 50, then 11 with a link back.
		all := c.get("/queue?tab=all")
		next := nextLink(all.Body)
		if strings.Count(all.Body, `<a href="/cases/`) != 100 || next == "" {
			t.Fatalf("first page of all: %d case links, next %q; want 50 rows (two links each) and a next page", strings.Count(all.Body, `<a href="/cases/`), next)
		}
		res2 := c.get(strings.ReplaceAll(next, "&amp;", "&"))
		if res2.StatusCode != http.StatusOK || strings.Count(res2.Body, `<a href="/cases/`) != 22 || !strings.Contains(res2.Body, "« First page") {
			t.Errorf("second page = %d with %d case links, want 11 rows and a link to the first page", res2.StatusCode, strings.Count(res2.Body, `<a href="/cases/`))
		}
		// Search by code, sender and case number.
		for q, want := range map[string]string{"E11.22": "Billing 20610", "pat@clinic": "Billing 20610", fmt.Sprintf("#%d", b.caseID): "Billing 20610"} {
			res := c.get("/queue?tab=all&q=" + url.QueryEscape(q))
			if !strings.Contains(res.Body, want) || strings.Contains(res.Body, "Filler") {
				t.Errorf("search %q: page lacks %q or shows other cases", q, want)
			}
		}
		// Claim from the queue, then filter by "me".
		if res := c.post(fmt.Sprintf("/cases/%d/assign", b.caseID), url.Values{"assignee": {"me"}, "return": {"queue"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("claim = %d", res.StatusCode)
		}
		mine := c.get("/queue?tab=review&assignee=me")
		if !strings.Contains(mine.Body, "Billing 20610") || strings.Contains(mine.Body, "Filler") || !strings.Contains(mine.Body, "<strong>me</strong>") {
			t.Error("queue filtered by me does not show exactly the claimed case")
		}
	}, migrateRiver)
}

// nextLink returns the href of the page's rel="next" link.
func nextLink(body string) string {
	j := strings.Index(body, `" rel="next"`)
	if j < 0 {
		return ""
	}
	i := strings.LastIndex(body[:j], `href="`)
	if i < 0 {
		return ""
	}
	return body[i+len(`href="`) : j]
}

func TestCasePageAndHostileMail(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t, migrateRiver), setupOpts{remote: "http://remote.test"})
	c := b.signedIn(t, "rita@codedesk.test")
	res := c.get(fmt.Sprintf("/cases/%d", b.caseID))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET case = %d", res.StatusCode)
	}
	for _, want := range []string{"Can 20610 be billed with E11.22", "E11.22", "Type 2 diabetes mellitus with diabetic chronic kidney disease",
		"synthetic finding", "synthetic warning", "op-note.pdf", "The drafted answer.", `sandbox="allow-popups`, "Approve &amp; send", "Re-run analysis"} {
		if !strings.Contains(res.Body, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	if strings.Contains(res.Body, "remote.test") || strings.Contains(strings.ToLower(res.Body), "<script") || strings.Contains(res.Body, "onerror") {
		t.Error("the case page carries the mail's unsanitised HTML")
	}
	// The HTML version is in a sandboxed frame's srcdoc, sanitised and
	// escaped as an attribute.
	if !strings.Contains(res.Body, `srcdoc="`) || !strings.Contains(res.Body, "&lt;b&gt;20610&lt;/b&gt;") {
		t.Error("the case page lacks the sanitised HTML version in a srcdoc frame")
	}
	// The HTML part, sanitised, for the sandboxed frame.
	fr := c.get(fmt.Sprintf("/cases/%d/messages/%d/html", b.caseID, b.msgID))
	if fr.StatusCode != http.StatusOK || !strings.Contains(fr.Body, "<b>20610</b>") {
		t.Fatalf("GET html = %d:\n%s", fr.StatusCode, fr.Body)
	}
	low := strings.ToLower(fr.Body[strings.Index(fr.Body, "<body>"):])
	for _, bad := range []string{"<script", "onerror", "onload", "javascript:", "remote.test", "<iframe", "<form", "<link", "style="} {
		if strings.Contains(low, bad) {
			t.Errorf("sanitised HTML contains %q:\n%s", bad, fr.Body)
		}
	}
	csp := fr.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "img-src data:") || strings.Contains(csp, "script-src") {
		t.Errorf("frame CSP = %q, want sandbox, data: images only, no scripts", csp)
	}
	if !strings.Contains(fr.Body, "Images from the internet are not loaded") {
		t.Error("frame does not say remote images were blocked")
	}
	// The attachment downloads byte for byte, never inline.
	att := c.get(fmt.Sprintf("/cases/%d/messages/%d/attachments/2", b.caseID, b.msgID))
	if att.StatusCode != http.StatusOK || att.Body != "%PDF-1.4\nsynthetic test attachment\n%%EOF\n" ||
		!strings.HasPrefix(att.Header.Get("Content-Disposition"), `attachment; filename="op-note.pdf"`) || att.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("attachment = %d %q %v", att.StatusCode, att.Body, att.Header)
	}
	if res := c.get(fmt.Sprintf("/cases/%d/messages/%d/attachments/9", b.caseID, b.msgID)); res.StatusCode != http.StatusNotFound {
		t.Errorf("missing attachment = %d, want 404", res.StatusCode)
	}
	if res := c.get(fmt.Sprintf("/cases/%d/messages/%d/html", b.caseID+1, b.msgID)); res.StatusCode != http.StatusNotFound {
		t.Errorf("message under another case = %d, want 404", res.StatusCode)
	}
	pv := c.get(fmt.Sprintf("/cases/%d/drafts/%d/preview", b.caseID, b.draft))
	if pv.StatusCode != http.StatusOK || !strings.Contains(pv.Body, "The drafted answer.") || strings.Contains(pv.Body, "<script") {
		t.Errorf("preview = %d:\n%s", pv.StatusCode, pv.Body)
	}
	got := strings.Join(b.events(t), ",")
	for _, want := range []string{"rita@codedesk.test:viewed", "rita@codedesk.test:downloaded"} {
		if !strings.Contains(got, want) {
			t.Errorf("case audit trail %s lacks %s", got, want)
		}
	}
}

func TestApproveEditedDraft(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{})
		c := b.signedIn(t, "rita@codedesk.test")
		path := fmt.Sprintf("/cases/%d/", b.caseID)
		// Saving an edit keeps the draft pending and rebuilds its HTML.
		res := c.post(path+"draft", url.Values{"draft_id": {fmt.Sprint(b.draft)}, "body": {"Dear Pat,\r\n\r\nYes, with modifier 59 <if documented>.\r\n"}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save = %d", res.StatusCode)
		}
		d, _ := store.GetDraft(b.ctx, db, b.draft)
		if d.Status != store.DraftPending || d.BodyText != "Dear Pat,\n\nYes, with modifier 59 <if documented>.\n" ||
			!strings.Contains(d.BodyHTML, "modifier 59 &lt;if documented&gt;") {
			t.Fatalf("draft after save = %s %q %q", d.Status, d.BodyText, d.BodyHTML)
		}
		// A stale draft ID is refused.
		if res := c.post(path+"approve", url.Values{"draft_id": {"999"}, "body": {"x"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("stale approve = %d", res.StatusCode)
		}
		if d, _ := store.GetDraft(b.ctx, db, b.draft); d.Status != store.DraftPending {
			t.Fatalf("stale approve changed the draft to %s", d.Status)
		}
		// Approve with a final edit: text, approval and send job together.
		res = c.post(path+"approve", url.Values{"draft_id": {fmt.Sprint(b.draft)}, "body": {"Final answer."}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/queue" {
			t.Fatalf("approve = %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		d, _ = store.GetDraft(b.ctx, db, b.draft)
		cs, _ := store.GetCase(b.ctx, db, b.caseID)
		if d.Status != store.DraftApproved || d.BodyText != "Final answer." || d.ReviewedBy != "rita@codedesk.test" || cs.Status != store.StatusApproved {
			t.Errorf("after approve: draft %s %q by %q, case %s", d.Status, d.BodyText, d.ReviewedBy, cs.Status)
		}
		if n := b.count(t, "SELECT COUNT(*) FROM river_job WHERE kind = 'send'"); n != 1 {
			t.Errorf("send jobs = %d, want 1", n)
		}
		// A second approval (another tab) does nothing.
		c.post(path+"approve", url.Values{"draft_id": {fmt.Sprint(b.draft)}, "body": {"Final answer."}})
		if n := b.count(t, "SELECT COUNT(*) FROM river_job WHERE kind = 'send'"); n != 1 {
			t.Errorf("send jobs after a second approve = %d, want 1", n)
		}
		// Every text is kept: the drafted one, then each edit.
		revs, err := store.DraftRevisions(b.ctx, db, b.draft)
		if err != nil || len(revs) != 3 || revs[0].Author != "system" || revs[0].BodyText != "Dear Pat,\n\nThe drafted answer.\n" ||
			revs[2].BodyText != "Final answer." || revs[2].Author != "rita@codedesk.test" {
			t.Errorf("DraftRevisions() = %+v, %v; want the drafted text and two edits", revs, err)
		}
		if page := c.get(fmt.Sprintf("/cases/%d", b.caseID)).Body; !strings.Contains(page, "Earlier texts of this reply (3)") {
			t.Error("case page does not show the reply's earlier texts")
		}
		got := strings.Join(b.events(t), ",")
		if !strings.Contains(got, "rita@codedesk.test:edited,rita@codedesk.test:edited,rita@codedesk.test:approved") {
			t.Errorf("audit trail = %s, want two edits then the approval", got)
		}
	}, migrateRiver)
}

func TestRejectReanalyseNotesAssign(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{})
		c := b.signedIn(t, "rita@codedesk.test")
		path := fmt.Sprintf("/cases/%d/", b.caseID)
		draft := fmt.Sprint(b.draft)
		// Reject needs a reason.
		c.post(path+"reject", url.Values{"draft_id": {draft}, "reason": {"  "}})
		if d, _ := store.GetDraft(b.ctx, db, b.draft); d.Status != store.DraftPending {
			t.Fatalf("reject without a reason changed the draft to %s", d.Status)
		}
		c.post(path+"notes", url.Values{"note": {"Asked the clinic for the op note."}})
		c.post(path+"assign", url.Values{"assignee": {"adam@codedesk.test"}})
		if res := c.post(path+"assign", url.Values{"assignee": {"ghost@codedesk.test"}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("assign to an unknown account = %d", res.StatusCode)
		}
		cs, _ := store.GetCase(b.ctx, db, b.caseID)
		if cs.Assignee != "adam@codedesk.test" {
			t.Errorf("assignee = %q, want adam", cs.Assignee)
		}
		res := c.post(path+"reject", url.Values{"draft_id": {draft}, "reason": {"answered by phone"}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("reject = %d", res.StatusCode)
		}
		cs, _ = store.GetCase(b.ctx, db, b.caseID)
		if cs.Status != store.StatusRejected || cs.StatusReason != "answered by phone" {
			t.Errorf("case after reject = %s (%s)", cs.Status, cs.StatusReason)
		}
		// Re-run the analysis of the rejected case: it leaves the closed
		// states and an analyse job is queued.
		if res := c.post(path+"reanalyse", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("reanalyse = %d", res.StatusCode)
		}
		cs, _ = store.GetCase(b.ctx, db, b.caseID)
		if cs.Status != store.StatusParsed || b.count(t, "SELECT COUNT(*) FROM river_job WHERE kind = 'analyse'") != 1 {
			t.Errorf("after reanalyse: case %s, analyse jobs %d", cs.Status, b.count(t, "SELECT COUNT(*) FROM river_job WHERE kind = 'analyse'"))
		}
		// A case in progress cannot be re-run.
		c.post(path+"reanalyse", nil)
		if n := b.count(t, "SELECT COUNT(*) FROM river_job WHERE kind = 'analyse'"); n != 1 {
			t.Errorf("analyse jobs after a second re-run = %d, want 1", n)
		}
		page := c.get(fmt.Sprintf("/cases/%d", b.caseID)).Body
		for _, want := range []string{"Asked the clinic for the op note.", "rejected", "answered by phone"} {
			if !strings.Contains(page, want) {
				t.Errorf("case page lacks %q", want)
			}
		}
		got := strings.Join(b.events(t), ",")
		for _, want := range []string{"rita@codedesk.test:noted", "rita@codedesk.test:assigned", "rita@codedesk.test:rejected", "rita@codedesk.test:reanalysis_requested"} {
			if !strings.Contains(got, want) {
				t.Errorf("audit trail %s lacks %s", got, want)
			}
		}
		// The admin view shows the whole trail.
		admin := b.signedIn(t, "adam@codedesk.test")
		if res := admin.get("/admin/audit?actor=rita%40codedesk.test"); !strings.Contains(res.Body, "reanalysis_requested") || !strings.Contains(res.Body, "signed_in") {
			t.Error("admin audit view lacks the reviewer's actions")
		}
	}, migrateRiver)
}

// TestExpiredSessionKeepsTheText checks that a reply submitted after the
// session ended is refused but handed back, not lost.
func TestExpiredSessionKeepsTheText(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t, migrateRiver), setupOpts{})
	c := b.signedIn(t, "rita@codedesk.test")
	b.clock.Add(45 * time.Minute)
	res := c.post(fmt.Sprintf("/cases/%d/approve", b.caseID), url.Values{"draft_id": {fmt.Sprint(b.draft)}, "body": {"My carefully <edited> reply."}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Body, "My carefully &lt;edited&gt; reply.") ||
		!strings.Contains(res.Body, fmt.Sprintf("/login?next=%%2Fcases%%2F%d", b.caseID)) {
		t.Fatalf("approve after the session ended = %d:\n%s", res.StatusCode, res.Body)
	}
	if d, _ := store.GetDraft(b.ctx, b.db, b.draft); d.Status != store.DraftPending {
		t.Errorf("draft = %s, want still pending", d.Status)
	}
}

// TestClaimRace checks that a claim from the queue does not take a case
// someone else claimed first.
func TestClaimRace(t *testing.T) {
	t.Parallel()
	b := setup(t, dbtest.SQLite(t, migrateRiver), setupOpts{})
	rita, adam := b.signedIn(t, "rita@codedesk.test"), b.signedIn(t, "adam@codedesk.test")
	path := fmt.Sprintf("/cases/%d/assign", b.caseID)
	rita.post(path, url.Values{"assignee": {"me"}, "return": {"queue"}})
	adam.post(path, url.Values{"assignee": {"me"}, "return": {"queue"}})
	if cs, _ := store.GetCase(b.ctx, b.db, b.caseID); cs.Assignee != "rita@codedesk.test" {
		t.Errorf("assignee = %q, want the first claimant", cs.Assignee)
	}
	if page := adam.get("/queue"); !strings.Contains(page.Body, "was claimed by rita@codedesk.test first") {
		t.Error("the second claimant is not told")
	}
	// Assigning on the case page is deliberate and may take a case over.
	adam.post(path, url.Values{"assignee": {"me"}})
	if cs, _ := store.GetCase(b.ctx, b.db, b.caseID); cs.Assignee != "adam@codedesk.test" {
		t.Errorf("assignee after take-over = %q", cs.Assignee)
	}
}

// TestSignInThrottleIsShared runs two desks (two nodes) on one database:
// failures on either count toward the same limit.
func TestSignInThrottleIsShared(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		a := newBundle(t, db, setupOpts{})
		b := newBundle(t, db, setupOpts{})
		ca, cb := a.client(t), b.client(t)
		for i := 0; i < 5; i++ {
			c := ca
			if i%2 == 1 {
				c = cb
			}
			if res := c.post("/login", url.Values{"email": {"rita@codedesk.test"}, "password": {"wrong wrong wrong"}}); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("attempt %d = %d, want 401", i, res.StatusCode)
			}
		}
		for name, c := range map[string]*client{"a": ca, "b": cb} {
			if res := c.post("/login", url.Values{"email": {"rita@codedesk.test"}, "password": {testPassword}}); res.StatusCode != http.StatusTooManyRequests {
				t.Errorf("node %s: sign-in after 5 failures spread over two nodes = %d, want 429", name, res.StatusCode)
			}
		}
		// Another account is not affected.
		if res := cb.post("/login", url.Values{"email": {"adam@codedesk.test"}, "password": {testPassword}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("another account's sign-in = %d, want 303", res.StatusCode)
		}
	}, migrateRiver)
}
