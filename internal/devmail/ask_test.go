package devmail

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// responder plays the desk: it watches the desk INBOX over IMAP, and
// answers each question over SMTP, threaded with In-Reply-To and References.
// The body is ISO-8859-1 quoted-printable so the charset path is exercised.
// It stops when ctx is done and reports any error on the returned channel.
func responder(ctx context.Context, s *Server) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- respond(ctx, s) }()
	return errc
}

func respond(ctx context.Context, s *Server) error {
	c, err := imapclient.DialInsecure(s.IMAPAddr(), nil)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login("desk@codedesk.test", "desk").Wait(); err != nil {
		return err
	}
	if _, err := c.Select(Inbox, nil).Wait(); err != nil {
		return err
	}
	for ctx.Err() == nil {
		data, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
		if err != nil {
			return err
		}
		for _, uid := range data.AllUIDs() {
			// BODY[] without PEEK sets \Seen: each question is answered once.
			section := &imap.FetchItemBodySection{}
			msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{Envelope: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
			if err != nil {
				return err
			}
			env := msgs[0].Envelope
			reply := fmt.Sprintf("From: \"Coding Desk\" <desk@codedesk.test>\r\n"+
				"To: %s\r\n"+
				"Subject: Re: %s [Case #7]\r\n"+
				"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"+
				"Message-ID: <reply-%d@codedesk.test>\r\n"+
				"In-Reply-To: <%s>\r\n"+
				"References: <older@clinic.test> <%s>\r\n"+
				"MIME-Version: 1.0\r\n"+
				"Content-Type: text/plain; charset=iso-8859-1\r\n"+
				"Content-Transfer-Encoding: quoted-printable\r\n"+
				"\r\n"+
				"E11.9 is billable (synthetic answer, caf=E9).\r\n",
				env.From[0].Addr(), env.Subject, uid, env.MessageID, env.MessageID)
			sc, err := smtp.Dial(s.SMTPAddr())
			if err != nil {
				return err
			}
			err = sendSMTP(sc, "desk@codedesk.test", []string{env.From[0].Addr()}, reply)
			sc.Close()
			if err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

func TestAskEndToEnd(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	// A reply to some other question is already in the coder's INBOX.
	other := "From: desk@codedesk.test\r\nSubject: Re: other\r\nIn-Reply-To: <other@clinic.test>\r\n\r\nnot this one\r\n"
	if err := s.Append(t.Context(), "coder@clinic.test", Inbox, []byte(other)); err != nil {
		t.Fatalf("Append() error = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := responder(ctx, s)

	start := time.Now()
	r, err := Ask(t.Context(), AskOptions{
		Question: "Is E11.9 billable?\r\nThe patient is synthetic.",
		SMTPAddr: s.SMTPAddr(), IMAPAddr: s.IMAPAddr(),
		Timeout: 20 * time.Second,
	})
	elapsed := time.Since(start)
	cancel()
	if err != nil {
		t.Fatalf("Ask() error = %v", err)
	}
	if rerr := <-errc; rerr != nil && !errors.Is(rerr, context.Canceled) && ctx.Err() == nil {
		t.Errorf("responder error = %v", rerr)
	}
	if r.Subject != "Re: Is E11.9 billable? [Case #7]" {
		t.Errorf("Reply.Subject = %q, want %q", r.Subject, "Re: Is E11.9 billable? [Case #7]")
	}
	if r.From != `"Coding Desk" <desk@codedesk.test>` {
		t.Errorf("Reply.From = %q, want %q", r.From, `"Coding Desk" <desk@codedesk.test>`)
	}
	if want := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC); !r.Date.Equal(want) {
		t.Errorf("Reply.Date = %v, want %v", r.Date, want)
	}
	if r.Text != "E11.9 is billable (synthetic answer, café).\n" {
		t.Errorf("Reply.Text = %q, want the decoded ISO-8859-1 body", r.Text)
	}
	if !strings.HasSuffix(r.InReplyTo, "@clinic.test") || !strings.HasPrefix(r.InReplyTo, "ask.") {
		t.Errorf("Reply.InReplyTo = %q, want the generated ask.…@clinic.test id", r.InReplyTo)
	}
	if len(r.Raw) == 0 || r.UID != 2 {
		t.Errorf("Reply.UID = %d, raw %d bytes, want UID 2 and the raw message", r.UID, len(r.Raw))
	}
	// The question the desk received was sent by go-mail as plain text,
	// with the generated Message-ID and no User-Agent advertising.
	qs, err := s.Messages(t.Context(), "desk@codedesk.test", Inbox)
	if err != nil || len(qs) != 1 {
		t.Fatalf("desk INBOX = %d messages, %v, want 1", len(qs), err)
	}
	q := string(qs[0])
	for _, want := range []string{
		"Message-ID: <" + r.InReplyTo + ">",
		"Subject: Is E11.9 billable?\r\n",
		"From: <coder@clinic.test>",
		"To: <desk@codedesk.test>",
		"text/plain",
		"Received: from localhost",
		"with ESMTPA", // authenticated as the coder
	} {
		if !strings.Contains(q, want) {
			t.Errorf("question lacks %q:\n%s", want, q)
		}
	}
	for _, unwanted := range []string{"User-Agent:", "X-Mailer:"} {
		if strings.Contains(q, unwanted) {
			t.Errorf("question has %s header, want none:\n%s", unwanted, q)
		}
	}
	// The IDLE push should beat the 2 s recheck by far.
	if elapsed > 1500*time.Millisecond {
		t.Errorf("Ask() took %v, want the IDLE push to deliver the reply well under the 2s recheck", elapsed)
	}
}

func TestWaitReplyFindsEarlierReply(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	opts := AskOptions{Question: "What does modifier 59 mean?", SMTPAddr: s.SMTPAddr(), IMAPAddr: s.IMAPAddr(), Timeout: 5 * time.Second}
	id, err := Send(t.Context(), opts)
	if err != nil {
		t.Fatalf("Send() error = %v", err)
	}
	// Only References names the question (In-Reply-To names another).
	reply := "From: desk@codedesk.test\r\nSubject: Re: modifier 59\r\n" +
		"In-Reply-To: <something-else@clinic.test>\r\nReferences: <" + id + ">\r\n\r\nDistinct procedural service.\r\n"
	if err := s.Append(t.Context(), "coder@clinic.test", Inbox, []byte(reply)); err != nil {
		t.Fatalf("Append() error = %v", err)
	}
	start := time.Now()
	r, err := WaitReply(t.Context(), opts, "<"+id+">")
	if err != nil {
		t.Fatalf("WaitReply() error = %v", err)
	}
	if r.Text != "Distinct procedural service.\n" || r.Subject != "Re: modifier 59" {
		t.Errorf("WaitReply() = %q / %q, want the appended reply", r.Subject, r.Text)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("WaitReply() took %v for a reply already there, want an immediate find", d)
	}
}

func TestAskTimeout(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	start := time.Now()
	_, err := Ask(t.Context(), AskOptions{
		Question: "Anyone there?", SMTPAddr: s.SMTPAddr(), IMAPAddr: s.IMAPAddr(),
		Timeout: 1500 * time.Millisecond, Recheck: 200 * time.Millisecond,
	})
	elapsed := time.Since(start)
	if !errors.Is(err, ErrNoReply) {
		t.Fatalf("Ask() error = %v, want ErrNoReply", err)
	}
	for _, want := range []string{"no reply within 1.5s", "codedesk serve"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Ask() error = %q, want it to contain %q", err, want)
		}
	}
	if elapsed < 1400*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("Ask() gave up after %v, want about 1.5s", elapsed)
	}
	// The question itself was delivered: nothing was lost.
	if n, _ := s.Count("desk@codedesk.test", Inbox); n != 1 {
		t.Errorf("Count(desk INBOX) = %d, want 1", n)
	}
}

func TestAskErrors(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	base := AskOptions{SMTPAddr: s.SMTPAddr(), IMAPAddr: s.IMAPAddr(), Timeout: 2 * time.Second}
	tests := []struct {
		name string
		mod  func(*AskOptions)
		want string
	}{
		{"empty question", func(o *AskOptions) { o.Question = "  \r\n" }, "question is empty"},
		{"permanent failure", func(o *AskOptions) { o.To = "permerror@codedesk.test" }, "550"},
		{"temporary failure", func(o *AskOptions) { o.To = "temperror@codedesk.test" }, "451"},
		{"bad password", func(o *AskOptions) { o.Password = "wrong" }, "535"},
		{"bad smtp address", func(o *AskOptions) { o.SMTPAddr = "nowhere" }, "smtp address"},
	}
	for _, tt := range tests {
		o := base
		o.Question = "Is J45.909 billable?"
		tt.mod(&o)
		_, err := Ask(t.Context(), o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Ask() error = %v, want one containing %q", tt.name, err, tt.want)
		}
		if errors.Is(err, ErrNoReply) {
			t.Errorf("%s: Ask() error wraps ErrNoReply, want a send error", tt.name)
		}
	}
	// A wrong IMAP password fails fast with a login error, not a timeout.
	o := base
	o.Question = "q"
	_, err := WaitReply(t.Context(), AskOptions{IMAPAddr: s.IMAPAddr(), Password: "wrong", Timeout: 2 * time.Second}, "x@y")
	if err == nil || errors.Is(err, ErrNoReply) || !strings.Contains(err.Error(), "logging in") {
		t.Errorf("WaitReply(bad password) error = %v, want a login error", err)
	}
	if n, _ := s.Count("desk@codedesk.test", Inbox); n != 0 {
		t.Errorf("Count(desk INBOX) = %d, want 0 after failed sends", n)
	}
}

func TestSubjectFor(t *testing.T) {
	t.Parallel()
	long := "Which ICD-10-CM code should we report for a synthetic patient with type 2 diabetes and chronic kidney disease stage 3?"
	tests := map[string]string{
		"Is E11.9 billable?":            "Is E11.9 billable?",
		"  first line\r\nsecond line  ": "first line",
		"":                              "Coding question",
		"a   b\tc":                      "a b c",
		long:                            "Which ICD-10-CM code should we report for a synthetic…",
		strings.Repeat("x", 80):         strings.Repeat("x", 60) + "…",
	}
	for in, want := range tests {
		if got := SubjectFor(in); got != want {
			t.Errorf("SubjectFor(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseReplyHTMLOnlyAndMultipart(t *testing.T) {
	t.Parallel()
	multi := "From: =?utf-8?q?D=C3=A9sk?= <desk@codedesk.test>\r\n" +
		"Subject: =?utf-8?q?Re:_caf=C3=A9?=\r\n" +
		"In-Reply-To: <q@x.test>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=b1\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain part\r\n" +
		"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html part</p>\r\n" +
		"--b1--\r\n"
	r, err := ParseReply([]byte(multi))
	if err != nil {
		t.Fatalf("ParseReply() error = %v", err)
	}
	if r.Text != "plain part" || r.Subject != "Re: café" || r.From != "Désk <desk@codedesk.test>" || r.InReplyTo != "q@x.test" {
		t.Errorf("ParseReply() = text %q subject %q from %q irt %q", r.Text, r.Subject, r.From, r.InReplyTo)
	}
	htmlOnly := "Subject: x\r\nContent-Type: text/html\r\n\r\n<p>only html</p>\r\n"
	if r, err := ParseReply([]byte(htmlOnly)); err != nil || r.Text != "" {
		t.Errorf("ParseReply(html only) = %q, %v, want empty text", r.Text, err)
	}
}
