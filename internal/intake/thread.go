// Package intake decides what becomes of an inbound message: which case it
// belongs to (threading) and whether it may be answered at all.
package intake

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/codedesk/codedesk/internal/store"
)

var reCaseTag = regexp.MustCompile(`\[Case #(\d{1,18})\]`)

// CaseTag returns the case number quoted in a subject as "[Case #N]", or 0.
func CaseTag(subject string) int64 {
	m := reCaseTag.FindStringSubmatch(subject)
	if m == nil {
		return 0
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// How a message was threaded.
const (
	ByHeaders = "headers"  // In-Reply-To / References named a message of the case
	BySubject = "subject"  // [Case #N] tag from a participant of that case
	NewCase   = "new"      // no thread found
	Stranger  = "stranger" // [Case #N] tag from someone who is not a participant: new linked case
)

// Threading is the outcome of Thread.
type Threading struct {
	CaseID int64  // existing case, or 0 for a new one
	LinkTo int64  // for a new case: the case it refers to (stranger quoting a tag)
	How    string // ByHeaders, BySubject, NewCase or Stranger
}

// Thread finds the case a message belongs to: first by In-Reply-To and
// References (any message of a case, ours included), then by the [Case #N]
// subject tag — either way only when the sender already takes part in that
// case, so a quoted case number or a forwarded thread never exposes a case
// to a stranger: their message opens a new case linked to the old one.
func Thread(ctx context.Context, q store.Querier, from, subject, inReplyTo string, references []string) (Threading, error) {
	ids := make([]string, 0, len(references)+1)
	if inReplyTo != "" {
		ids = append(ids, inReplyTo)
	}
	for i := len(references) - 1; i >= 0; i-- {
		if r := strings.TrimSpace(references[i]); r != "" {
			ids = append(ids, r)
		}
	}
	if len(ids) > 0 {
		caseID, err := store.CaseByMessageIDs(ctx, q, ids)
		switch {
		case err == nil:
			ok, err := store.IsParticipant(ctx, q, caseID, from)
			if err != nil {
				return Threading{}, fmt.Errorf("threading by headers: %w", err)
			}
			if ok {
				return Threading{CaseID: caseID, How: ByHeaders}, nil
			}
			return Threading{LinkTo: caseID, How: Stranger}, nil
		case !errors.Is(err, store.ErrNotFound):
			return Threading{}, fmt.Errorf("threading by headers: %w", err)
		}
	}
	if n := CaseTag(subject); n > 0 {
		if _, err := store.GetCase(ctx, q, n); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return Threading{How: NewCase}, nil
			}
			return Threading{}, fmt.Errorf("threading by subject: %w", err)
		}
		ok, err := store.IsParticipant(ctx, q, n, from)
		if err != nil {
			return Threading{}, fmt.Errorf("threading by subject: %w", err)
		}
		if ok {
			return Threading{CaseID: n, How: BySubject}, nil
		}
		return Threading{LinkTo: n, How: Stranger}, nil
	}
	return Threading{How: NewCase}, nil
}
