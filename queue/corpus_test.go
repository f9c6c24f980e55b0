package queue

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/mailbox"
	"github.com/codedesk/codedesk/internal/mailparse"
	"github.com/codedesk/codedesk/internal/store"
)

// corpusEntry is one line of testdata/corpus/expect.txt.
type corpusEntry struct {
	line      int
	file      string
	outcome   string // question, ignored, bounce-of, unparseable, oversized, duplicate
	arg       string // case status, ignored kind or bounced file
	thread    string // new, same, linked or -
	threadArg string
	truncated bool
}

func readCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	f, err := os.Open("testdata/corpus/expect.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 3 {
			t.Fatalf("expect.txt:%d: want file, outcome and thread", n)
		}
		e := corpusEntry{line: n, file: fs[0], truncated: len(fs) > 3 && fs[3] == "truncated"}
		e.outcome, e.arg, _ = strings.Cut(fs[1], ":")
		e.thread, e.threadArg, _ = strings.Cut(fs[2], ":")
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func corpusPath(file string) string {
	if name, ok := strings.CutPrefix(file, "mailparse/"); ok {
		return filepath.Join("..", "internal", "mailparse", "testdata", name)
	}
	return filepath.Join("testdata", "corpus", file)
}

var corpusVar = regexp.MustCompile(`\{\{(case|reply):([^}]+)\}\}`)

// TestPipelineCorpus runs every message of testdata/corpus/expect.txt
// through the real workers, one at a time, and checks what became of it:
// the case state, the reason it was not answered, and the threading. At the
// end every question was answered exactly once or is waiting for staff,
// and nothing is left unprocessed.
func TestPipelineCorpus(t *testing.T) {
	t.Parallel()
	entries := readCorpus(t)
	distinct := map[string]bool{}
	for _, e := range entries {
		distinct[e.file] = true
	}
	if len(distinct) < 60 {
		t.Errorf("corpus has %d distinct messages, want at least 60", len(distinct))
	}
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, setupOpts{autoSend: true, minConfidence: 0.6, deps: func(d *Deps) {
			d.ParseOptions = mailparse.Options{OwnAddresses: []string{"desk@codedesk.test"}}
		}})
		caseOf := map[string]int64{} // file → case of its (first) message
		for _, e := range entries {
			raw, err := os.ReadFile(corpusPath(e.file))
			if err != nil {
				t.Fatalf("expect.txt:%d: %v", e.line, err)
			}
			raw = corpusVar.ReplaceAllFunc(raw, func(m []byte) []byte {
				sub := corpusVar.FindSubmatch(m)
				id, ok := caseOf[string(sub[2])]
				if !ok {
					t.Fatalf("expect.txt:%d: %s refers to %s, which has no case yet", e.line, e.file, sub[2])
				}
				if string(sub[1]) == "case" {
					return []byte(strconv.FormatInt(id, 10))
				}
				var msgID string
				if err := db.QueryRow(b.ctx, "SELECT outgoing_message_id FROM drafts WHERE case_id = ? AND status = ? ORDER BY id DESC LIMIT 1",
					id, store.DraftSent).Scan(&msgID); err != nil {
					t.Fatalf("expect.txt:%d: no reply sent on case %d of %s: %v", e.line, id, sub[2], err)
				}
				return []byte(msgID)
			})
			if !strings.Contains(string(raw), "\r\n") {
				raw = []byte(strings.ReplaceAll(string(raw), "\n", "\r\n"))
			}
			before := b.count(t, "SELECT COUNT(*) FROM messages WHERE direction = ?", store.Inbound)
			uid := b.uid.Add(1)
			f := &mailbox.Fetched{Mailbox: "INBOX", UIDValidity: 1, UID: uid, Size: int64(len(raw)), Raw: raw}
			if e.truncated {
				f.Truncated, f.Size = true, 40<<20
			}
			if err := b.sink.Deliver(b.ctx, []*mailbox.Fetched{f}); err != nil {
				t.Fatalf("expect.txt:%d: Deliver() = %v", e.line, err)
			}
			b.waitIdle(t)
			if e.outcome == "duplicate" {
				if n := b.count(t, "SELECT COUNT(*) FROM messages WHERE direction = ?", store.Inbound); n != before {
					t.Errorf("expect.txt:%d %s: inbound messages %d → %d, want a duplicate absorbed", e.line, e.file, before, n)
				}
				continue
			}
			var m store.Message
			if err := db.QueryRow(b.ctx, "SELECT id FROM messages WHERE mailbox = 'INBOX' AND uid = ?", uid).Scan(&m.ID); err != nil {
				t.Errorf("expect.txt:%d %s: not stored: %v", e.line, e.file, err)
				continue
			}
			m, _ = store.GetMessage(b.ctx, db, m.ID)
			if m.CaseID == nil {
				t.Errorf("expect.txt:%d %s: message %d has no case (status %s)", e.line, e.file, m.ID, m.Status)
				continue
			}
			c, _ := store.GetCase(b.ctx, db, *m.CaseID)
			if _, seen := caseOf[e.file]; !seen {
				caseOf[e.file] = c.ID
			}
			checkCorpusEntry(t, b, e, m, c, caseOf)
		}
		checkCorpusEnd(t, b)
	}, Migrate)
}

func checkCorpusEntry(t *testing.T, b *testBundle, e corpusEntry, m store.Message, c store.Case, caseOf map[string]int64) {
	t.Helper()
	where := fmt.Sprintf("expect.txt:%d %s", e.line, e.file)
	switch e.outcome {
	case "question":
		if m.Status != store.MessageParsed {
			t.Errorf("%s: message status = %s (%s), want parsed", where, m.Status, m.StatusReason)
		}
		ok := c.Status == store.StatusSent || c.Status == store.StatusAwaitingReview || c.Status == store.StatusNeedsAttention
		if e.arg != "" {
			ok = string(c.Status) == e.arg
		}
		if !ok {
			t.Errorf("%s: case %d status = %s (%s), want %s", where, c.ID, c.Status, c.StatusReason, orAny(e.arg))
		}
	case "ignored":
		if m.Status != store.MessageIgnored || !strings.HasPrefix(m.StatusReason, e.arg) {
			t.Errorf("%s: message = %s (%s), want ignored: %s", where, m.Status, m.StatusReason, e.arg)
		}
		if e.thread == "new" && (c.Status != store.StatusIgnored || !strings.HasPrefix(c.StatusReason, e.arg)) {
			t.Errorf("%s: case %d = %s (%s), want ignored: %s", where, c.ID, c.Status, c.StatusReason, e.arg)
		}
		if e.thread == "same" && c.Status == store.StatusIgnored {
			t.Errorf("%s: case %d became ignored; an ignored message must not change its thread's case", where, c.ID)
		}
	case "bounce-of":
		if m.Status != store.MessageIgnored || !strings.HasPrefix(m.StatusReason, "bounce") {
			t.Errorf("%s: message = %s (%s), want ignored as a bounce", where, m.Status, m.StatusReason)
		}
		if c.ID != caseOf[e.arg] || c.Status != store.StatusNeedsAttention || !strings.Contains(c.StatusReason, "bounced") {
			t.Errorf("%s: filed on case %d (%s: %s), want case %d of %s in needs_attention", where, c.ID, c.Status, c.StatusReason, caseOf[e.arg], e.arg)
		}
	case "unparseable", "oversized":
		if m.Status != store.MessageUnparseable || c.Status != store.StatusNeedsAttention {
			t.Errorf("%s: message %s, case %s (%s); want unparseable and needs_attention", where, m.Status, c.Status, c.StatusReason)
		}
		if e.outcome == "oversized" && (!m.Truncated || !strings.Contains(c.StatusReason, "size limit")) {
			t.Errorf("%s: truncated = %v, reason %q; want kept as header only with the size named", where, m.Truncated, c.StatusReason)
		}
	default:
		t.Fatalf("%s: unknown outcome %q", where, e.outcome)
	}
	switch e.thread {
	case "new":
		if want := caseOf[e.file]; c.ID != want || c.LinkedCaseID != nil || b.count(t, "SELECT COUNT(*) FROM messages WHERE case_id = ? AND direction = ? AND id < ?", c.ID, store.Inbound, m.ID) > 0 {
			t.Errorf("%s: case %d (linked %v) already held other messages; want a new case", where, c.ID, c.LinkedCaseID)
		}
	case "same":
		if c.ID != caseOf[e.threadArg] {
			t.Errorf("%s: case %d, want case %d of %s", where, c.ID, caseOf[e.threadArg], e.threadArg)
		}
	case "linked":
		if n, ok := strings.CutPrefix(e.threadArg, "#"); ok {
			want, _ := strconv.ParseInt(n, 10, 64)
			if c.LinkedCaseID == nil || *c.LinkedCaseID != want || c.ID == want {
				t.Errorf("%s: case %d linked to %v, want a new case linked to case %d", where, c.ID, c.LinkedCaseID, want)
			}
			break
		}
		if c.ID == caseOf[e.threadArg] || c.LinkedCaseID == nil || *c.LinkedCaseID != caseOf[e.threadArg] {
			t.Errorf("%s: case %d linked to %v, want a new case linked to case %d of %s", where, c.ID, c.LinkedCaseID, caseOf[e.threadArg], e.threadArg)
		}
		if strings.EqualFold(c.Requester, "") {
			t.Errorf("%s: linked case has no requester", where)
		}
	case "-":
	default:
		t.Fatalf("%s: unknown thread %q", where, e.thread)
	}
}

// checkCorpusEnd: nothing is left unprocessed, every question was
// answered at most once per question message, the server got exactly the
// replies recorded, each under its own Message-ID.
func checkCorpusEnd(t *testing.T, b *testBundle) {
	t.Helper()
	if n := b.count(t, "SELECT COUNT(*) FROM messages WHERE status = ?", store.MessageReceived); n != 0 {
		t.Errorf("messages never ingested = %d, want 0", n)
	}
	if n := b.count(t, "SELECT COUNT(*) FROM cases WHERE status NOT IN (?, ?, ?, ?, ?)", store.StatusSent, store.StatusAwaitingReview,
		store.StatusNeedsAttention, store.StatusIgnored, store.StatusFailed); n != 0 {
		t.Errorf("cases stuck mid-pipeline = %d, want 0", n)
	}
	sent := b.count(t, "SELECT COUNT(*) FROM drafts WHERE status = ?", store.DraftSent)
	questions := b.count(t, "SELECT COUNT(*) FROM messages WHERE status = ?", store.MessageParsed)
	if sent > questions {
		t.Errorf("replies sent = %d for %d questions, want at most one each", sent, questions)
	}
	msgs := b.smtp.Messages()
	if len(msgs) != sent {
		t.Errorf("replies accepted by the server = %d, recorded = %d; want equal", len(msgs), sent)
	}
	ids := map[string]bool{}
	for _, m := range msgs {
		id := m.Header.Get("Message-ID")
		if ids[id] {
			t.Errorf("reply %s sent twice", id)
		}
		ids[id] = true
	}
	t.Logf("corpus: %d questions, %d replies sent, %d cases", questions, sent, b.count(t, "SELECT COUNT(*) FROM cases"))
}

func orAny(s string) string {
	if s == "" {
		return "sent, awaiting_review or needs_attention"
	}
	return s
}

// waitIdle waits until no job is pending or running and every stored
// message is ingested.
func (b *testBundle) waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		jobs := b.count(t, "SELECT COUNT(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'scheduled', 'pending')")
		pending := b.count(t, "SELECT COUNT(*) FROM messages WHERE status = ?", store.MessageReceived)
		if jobs == 0 && pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not idle after 30s: %d jobs, %d messages pending", jobs, pending)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
