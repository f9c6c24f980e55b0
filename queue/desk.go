package queue

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/store"
	"github.com/riverqueue/river"
)

// Desk actions of the web desk. Each one changes the case, records who did
// it in the audit trail and enqueues the next job in one transaction.

// MaxDraftText caps a reviewer's edited reply (bytes).
const MaxDraftText = 256 << 10

// ErrNotReanalysable is returned when a case's state does not allow a
// re-run of its analysis (a reply is being sent, or was sent).
var ErrNotReanalysable = errors.New("the case cannot be analysed again in its current state")

// ErrDraftTooLong is returned for an edited reply above MaxDraftText.
var ErrDraftTooLong = fmt.Errorf("the reply is longer than %d KiB", MaxDraftText>>10)

// SaveDraft replaces the text of a pending draft with a reviewer's edit.
// The HTML alternative is rebuilt from the text, so both parts of the mail
// say the same.
func (q *Queue) SaveDraft(ctx context.Context, draftID int64, reviewer, text string) error {
	text, err := cleanDraftText(text)
	if err != nil {
		return err
	}
	return q.db.WithTx(ctx, func(tx *store.Tx) error {
		_, err := q.editDraft(ctx, tx, draftID, reviewer, text)
		return err
	})
}

// editDraft applies an edit inside tx when the text differs from the draft's
// and reports the draft.
func (q *Queue) editDraft(ctx context.Context, tx *store.Tx, draftID int64, reviewer, text string) (store.Draft, error) {
	dr, err := store.GetDraft(ctx, tx, draftID)
	if err != nil {
		return dr, err
	}
	if dr.Status != store.DraftPending {
		return dr, fmt.Errorf("editing draft %d: %w", draftID, ErrNotPending)
	}
	if normalizeNewlines(dr.BodyText) == text {
		return dr, nil
	}
	// Keep every text the reply had: the drafted one on the first edit,
	// then each reviewer's.
	revs, err := store.DraftRevisions(ctx, tx, draftID)
	if err != nil {
		return dr, err
	}
	if len(revs) == 0 {
		if err := store.AddDraftRevision(ctx, tx, &store.DraftRevision{DraftID: draftID, Author: store.ActorSystem,
			BodyText: dr.BodyText, CreatedAt: dr.CreatedAt}); err != nil {
			return dr, err
		}
	}
	if err := store.AddDraftRevision(ctx, tx, &store.DraftRevision{DraftID: draftID, Author: reviewer, BodyText: text}); err != nil {
		return dr, err
	}
	ok, err := store.UpdateDraftBody(ctx, tx, draftID, text, TextToHTML(text))
	if err != nil {
		return dr, err
	}
	if !ok {
		return dr, fmt.Errorf("editing draft %d: %w", draftID, ErrNotPending)
	}
	return dr, store.AddEvent(ctx, tx, dr.CaseID, reviewer, "edited",
		fmt.Sprintf("draft_id=%d chars_before=%d chars_after=%d", draftID, len([]rune(dr.BodyText)), len([]rune(text))))
}

// ApproveText approves a pending draft with the reviewer's text (saved
// first when it differs) and enqueues its send, all in one transaction: the
// edit, the approval, the audit events and the send job commit together or
// not at all.
func (q *Queue) ApproveText(ctx context.Context, draftID int64, reviewer, text string) error {
	text, err := cleanDraftText(text)
	if err != nil {
		return err
	}
	return q.db.WithTx(ctx, func(tx *store.Tx) error {
		dr, err := q.editDraft(ctx, tx, draftID, reviewer, text)
		if err != nil {
			return err
		}
		return q.approveTx(ctx, tx, dr.CaseID, draftID, reviewer)
	})
}

// reanalysable lists the states from which a reviewer may re-run analysis.
var reanalysable = []store.CaseStatus{store.StatusAwaitingReview, store.StatusNeedsAttention, store.StatusRejected, store.StatusFailed}

// Reanalyse runs a case's analysis again from its newest question (after a
// code-set import, say): the waiting draft is superseded, the case leaves
// the review queue until the new draft is ready, and the analyse job is
// enqueued in the same transaction.
func (q *Queue) Reanalyse(ctx context.Context, caseID int64, actor string) error {
	return q.db.WithTx(ctx, func(tx *store.Tx) error {
		msgID, err := store.LatestInbound(ctx, tx, caseID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("re-running analysis of case %d: no question was read from it: %w", caseID, ErrNotReanalysable)
			}
			return err
		}
		moved, err := store.TransitionCase(ctx, tx, caseID, reanalysable, store.StatusParsed, "analysis re-run by "+actor)
		if err != nil {
			return err
		}
		if !moved {
			return fmt.Errorf("re-running analysis of case %d: %w", caseID, ErrNotReanalysable)
		}
		if _, err := store.SupersedePendingDrafts(ctx, tx, caseID); err != nil {
			return err
		}
		if err := store.AddEvent(ctx, tx, caseID, actor, "reanalysis_requested", fmt.Sprintf("message_id=%d", msgID)); err != nil {
			return err
		}
		// AnalyseArgs is unique per (case, message) for as long as River
		// keeps the completed job; a re-run keys on a ten-second period as
		// well, which still folds a double click into one job.
		args := AnalyseArgs{CaseID: caseID, MessageID: msgID}
		opts := args.InsertOpts()
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByPeriod: 10 * time.Second}
		if _, err := q.eng.insertTx(ctx, tx, args, &opts); err != nil {
			return fmt.Errorf("enqueueing analysis of case %d: %w", caseID, err)
		}
		return nil
	})
}

func cleanDraftText(text string) (string, error) {
	text = normalizeNewlines(text)
	if len(text) > MaxDraftText {
		return "", ErrDraftTooLong
	}
	if strings.TrimSpace(text) == "" {
		return "", errors.New("the reply is empty")
	}
	return text, nil
}

// normalizeNewlines turns the CRLF line ends browsers submit into LF.
func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// TextToHTML renders a reviewer-edited plain-text reply as the HTML
// alternative: escaped, paragraphs on blank lines, line breaks kept, the
// layout of the code tables preserved by a monospace font.
func TextToHTML(text string) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n")
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		para = strings.Trim(para, "\n")
		if para == "" {
			continue
		}
		lines := strings.Split(para, "\n")
		for i, l := range lines {
			lines[i] = html.EscapeString(l)
		}
		b.WriteString(`<p style="font-family:monospace;white-space:pre-wrap">`)
		b.WriteString(strings.Join(lines, "<br>\n"))
		b.WriteString("</p>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}
