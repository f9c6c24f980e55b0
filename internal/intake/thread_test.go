package intake

import (
	"context"
	"fmt"
	"testing"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

func TestCaseTag(t *testing.T) {
	t.Parallel()
	tests := map[string]int64{
		"Re: E11.22 [Case #12]":        12,
		"[Case #3] and [Case #4]":      3,
		"Re: case #12":                 0,
		"[Case #]":                     0,
		"[Case #99999999999999999999]": 0,
		"":                             0,
	}
	for in, want := range tests {
		if got := CaseTag(in); got != want {
			t.Errorf("CaseTag(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestThread(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		id, err := store.CreateCase(ctx, db, &store.Case{Subject: "Q", Requester: "coder@clinic.test", Status: store.StatusSent})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.AddParticipant(ctx, db, id, "coder@clinic.test"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := store.InsertMessage(ctx, db, &store.Message{CaseID: &id, Direction: store.Outbound, MessageID: "reply-1@codedesk.test", ContentHash: "h"}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, from, subject, irt string
			refs                     []string
			want                     Threading
		}{
			{"reply by header", "Coder@Clinic.test", "anything", "reply-1@codedesk.test", nil, Threading{CaseID: id, How: ByHeaders}},
			{"reply by references", "coder@clinic.test", "x", "", []string{"<unknown@x>", "<reply-1@codedesk.test>"}, Threading{CaseID: id, How: ByHeaders}},
			{"tag from participant", "coder@clinic.test", fmt.Sprintf("Re: Q [Case #%d]", id), "", nil, Threading{CaseID: id, How: BySubject}},
			{"tag from stranger", "other@elsewhere.test", fmt.Sprintf("Re: Q [Case #%d]", id), "", nil, Threading{LinkTo: id, How: Stranger}},
			{"headers from stranger", "other@elsewhere.test", "Re: Q", "reply-1@codedesk.test", nil, Threading{LinkTo: id, How: Stranger}},
			{"tag of no case", "coder@clinic.test", "[Case #999]", "", nil, Threading{How: NewCase}},
			{"new", "coder@clinic.test", "new question", "", nil, Threading{How: NewCase}},
		}
		for _, tc := range tests {
			got, err := Thread(ctx, db, tc.from, tc.subject, tc.irt, tc.refs)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s: Thread() = %+v, want %+v", tc.name, got, tc.want)
			}
		}
	})
}
