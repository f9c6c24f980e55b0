package queue

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/analysis"
	"github.com/codedesk/codedesk/internal/mailparse"
	"github.com/codedesk/codedesk/internal/reply"
)

// The steps below are shared by the workers and by DraftMessage, so that
// "codedesk draft" answers exactly as the queue does.

// questionText is the text analysed for a message: its new text (quoted
// replies and signature removed), or the whole body when nothing new is left
// (a bare forward).
func questionText(p *mailparse.Message) string {
	q, _ := splitQuestion(p)
	return q
}

// splitQuestion returns the new text of a message and the quoted earlier
// messages, which are the question's context when the thread is not in
// the database (codedesk draft reads one message).
func splitQuestion(p *mailparse.Message) (question, quoted string) {
	q, quoted, _ := mailparse.NewText(p.Text)
	if strings.TrimSpace(q) == "" {
		q, quoted = p.Text, ""
	}
	// A question forwarded as an attached message (message/rfc822) is
	// the question: "please answer the question below" says nothing.
	for i, f := range p.Forwarded {
		if i >= 3 || f == nil {
			break
		}
		fq, _, _ := mailparse.NewText(f.Text)
		if strings.TrimSpace(fq) == "" {
			fq = f.Text
		}
		q += "\n\n" + fq
	}
	return q, quoted
}

// allows reports whether policy lets a result be sent without review, and
// why not when it does not.
func (p Policy) allows(res analysis.Result) (bool, string) {
	switch {
	case !p.AutoSend:
		return false, ""
	case res.Kind == analysis.KindNotAQuestion:
		return false, "no coding question found"
	case res.Confidence < p.MinConfidence:
		return false, fmt.Sprintf("confidence %.2f below %.2f", res.Confidence, p.MinConfidence)
	}
	return true, ""
}

// compose renders the reply to a question.
func compose(r *reply.Renderer, desk Desk, caseID int64, fromName string, res analysis.Result, reviewed bool) (reply.Rendered, error) {
	return r.Render(reply.Data{CaseID: caseID, Greeting: reply.Greeting(fromName), Result: res, DeskName: desk.Name, Reviewed: reviewed})
}

// Standalone is the outcome of DraftMessage.
type Standalone struct {
	Parsed   *mailparse.Message // nil when the input was not a message
	Result   analysis.Result
	Subject  string
	Reply    reply.Rendered
	AutoSend bool   // policy would send it without review
	Held     string // why it would wait for review, if it would
}

// DraftMessage runs parse, analyse and draft on one raw message without the
// queue or the database, as the workers do. Input that is not a message
// gives kind "other" with a warning, never an error; mail that must not be
// answered gives kind "not_a_question" with its ignored reason.
func DraftMessage(ctx context.Context, d *Deps, raw []byte) (*Standalone, error) {
	out := &Standalone{}
	p, err := mailparse.Parse(raw, d.ParseOptions)
	if err != nil {
		out.Result = analysis.Result{Kind: analysis.KindOther, Confidence: 0,
			Warnings: []string{fmt.Sprintf("the input could not be read as an email message: %v", err)},
			Answer:   "This message could not be read, so it was not analysed. It is kept for staff to look at."}
		out.Held = "unparseable message"
		return out, nil
	}
	out.Parsed = p
	if p.Auto.Ignore() {
		reason := p.Auto.Kind
		if p.Auto.Reason != "" {
			reason += ": " + p.Auto.Reason
		}
		out.Result = analysis.Result{Kind: analysis.KindNotAQuestion, IgnoredReason: reason,
			Answer: "This message is not answered: " + reason + "."}
		out.Held = "not answered: " + reason
		return out, nil
	}
	received := p.Date
	if received.IsZero() {
		received = time.Now()
	}
	text, quoted := splitQuestion(p)
	q := analysis.Question{Subject: p.Subject, Text: text, Received: received}
	if strings.TrimSpace(quoted) != "" {
		q.Thread = []string{quoted}
	}
	res, err := d.Analyser.Analyse(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("analysing: %w", err)
	}
	out.Result = res
	out.AutoSend, out.Held = d.Policy.allows(res)
	out.Subject = reply.Subject(p.Subject, 0)
	if out.Reply, err = compose(d.Renderer, d.Desk, 0, p.From.Name, res, !out.AutoSend); err != nil {
		return nil, err
	}
	return out, nil
}
