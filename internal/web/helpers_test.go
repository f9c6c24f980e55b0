package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/mailparse"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/internal/web"
	"github.com/codedesk/codedesk/queue"
)

// cheap argon2id parameters: the tests exercise the same code path at a
// fraction of the cost.
var cheap = web.PasswordParams{Memory: 1024, Time: 1, Threads: 1}

const testPassword = "correct horse battery"

// clock is a settable time source for idle-timeout tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type testBundle struct {
	ctx    context.Context
	db     *store.DB
	q      *queue.Queue
	srv    *web.Server
	ts     *httptest.Server
	clock  *clock
	caseID int64
	msgID  int64
	draft  int64
}

type setupOpts struct {
	secure bool
	remote string // replaces REMOTE in the hostile test message
}

// setup builds a desk on a fresh database (with River's tables) holding a
// reviewer, an admin and one case awaiting review: a hostile HTML question
// with a PDF attachment, its analysis and a pending draft.
func setup(t *testing.T, db *store.DB, o setupOpts) *testBundle {
	t.Helper()
	b := newBundle(t, db, o)
	b.seedCase(t, o.remote)
	return b
}

// setupBench is setup without the seeded case.
func setupBench(b *testing.B, db *store.DB) *testBundle { return newBundle(b, db, setupOpts{}) }

// benchClient is an HTTP client signed in as the reviewer.
func (b *testBundle) benchClient(tb testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.PostForm(b.ts.URL+"/login", url.Values{"email": {"rita@codedesk.test"}, "password": {testPassword}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		tb.Fatalf("signing in: %v", err)
	}
	res.Body.Close()
	return hc
}

func newBundle(t testing.TB, db *store.DB, o setupOpts) *testBundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	q, err := queue.New(db, nil, queue.Config{})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := q.UIHandler(ctx, "/admin/jobs")
	if err != nil {
		t.Fatal(err)
	}
	ck := &clock{t: time.Now()}
	srv, err := web.New(web.Config{DB: db, Actions: q, Jobs: jobs, Now: ck.Now, SecureCookies: o.secure,
		FirstResponseTarget: 4 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	b := &testBundle{ctx: ctx, db: db, q: q, srv: srv, ts: ts, clock: ck}
	for _, u := range []struct {
		email string
		role  store.Role
	}{{"rita@codedesk.test", store.RoleReviewer}, {"adam@codedesk.test", store.RoleAdmin}} {
		h, err := web.HashPasswordWith(testPassword, cheap)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.UpsertUser(ctx, db, &store.User{Email: u.email, Role: u.role, PasswordHash: h}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func (b *testBundle) seedCase(t *testing.T, remote string) {
	t.Helper()
	raw, err := os.ReadFile("testdata/hostile.eml")
	if err != nil {
		t.Fatal(err)
	}
	if remote == "" {
		remote = "http://remote.invalid"
	}
	raw = []byte(strings.ReplaceAll(strings.ReplaceAll(string(raw), "REMOTE", remote), "\n", "\r\n"))
	p, err := mailparse.Parse(raw, mailparse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := b.ctx
	err = b.db.WithTx(ctx, func(tx *store.Tx) error {
		conf := 0.72
		c := &store.Case{Subject: p.Subject, Requester: p.From.Addr, Status: store.StatusAwaitingReview, Kind: "ncci_pair_check", Confidence: &conf}
		id, err := store.CreateCase(ctx, tx, c)
		if err != nil {
			return err
		}
		b.caseID = id
		m := &store.Message{CaseID: &id, Mailbox: "INBOX", MessageID: p.MessageID, ContentHash: p.ContentHash, Raw: raw, Size: int64(len(raw)),
			Subject: p.Subject, From: p.From.Addr, FromName: p.From.Name, BodyText: p.Text, QuestionText: p.Text, Status: store.MessageParsed}
		if b.msgID, _, err = store.InsertMessage(ctx, tx, m); err != nil {
			return err
		}
		res := `{"kind":"ncci_pair_check","confidence":0.72,"answer":"Synthetic answer.","codes":[{"system":"icd10cm","code":"E11.22","description":"Type 2 diabetes mellitus with diabetic chronic kidney disease","role":"asked","billable":true}],
			"ncci":[],"mue":[],"findings":[{"kind":"ncci","summary":"synthetic finding"}],"warnings":["synthetic warning"],"references":["ICD-10-CM FY2026"]}`
		aid, err := store.InsertAnalysis(ctx, tx, &store.Analysis{CaseID: id, MessageID: b.msgID, Kind: "ncci_pair_check", Confidence: 0.72, Result: []byte(res)})
		if err != nil {
			return err
		}
		d := &store.Draft{CaseID: id, AnalysisID: &aid, ReplyToMessageID: &b.msgID, To: p.From.Addr, Subject: "Re: " + p.Subject + " [Case #1]",
			BodyText: "Dear Pat,\n\nThe drafted answer.\n", BodyHTML: "<p>Dear Pat,</p><p>The drafted answer.</p><script>alert(1)</script>"}
		b.draft, err = store.CreateDraft(ctx, tx, d)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// client is a browser-like HTTP client that does not follow redirects.
type client struct {
	t  *testing.T
	b  *testBundle
	hc *http.Client
}

func (b *testBundle) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, b: b, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// signedIn returns a client signed in as email.
func (b *testBundle) signedIn(t *testing.T, email string) *client {
	t.Helper()
	c := b.client(t)
	res := c.post("/login", url.Values{"email": {email}, "password": {testPassword}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /login as %s = %d, want 303", email, res.StatusCode)
	}
	return c
}

type response struct {
	*http.Response
	Body string
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return response{res, sb.String()}
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, _ := http.NewRequestWithContext(c.b.ctx, http.MethodGet, c.b.ts.URL+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values, header ...string) response {
	c.t.Helper()
	req, _ := http.NewRequestWithContext(c.b.ctx, http.MethodPost, c.b.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

func (b *testBundle) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := b.db.QueryRow(b.ctx, query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (b *testBundle) events(t *testing.T) []string {
	t.Helper()
	evs, err := store.CaseEvents(b.ctx, b.db, b.caseID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Actor+":"+e.Action)
	}
	return out
}

func migrateRiver(ctx context.Context, db *store.DB) error { return queue.Migrate(ctx, db) }

var _ dbtest.Migrator = migrateRiver
