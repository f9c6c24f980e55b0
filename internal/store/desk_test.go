package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

func TestUsersAndSessions(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := &store.User{Email: " Ann@Clinic.TEST ", Role: store.RoleReviewer, PasswordHash: "h1"}
		created, err := store.UpsertUser(ctx, db, u)
		if err != nil || !created || u.Email != "ann@clinic.test" {
			t.Fatalf("UpsertUser() = %v, %v, email %q; want a new account ann@clinic.test", created, err, u.Email)
		}
		if _, err := store.UpsertUser(ctx, db, &store.User{Email: "x@y", Role: "root", PasswordHash: "h"}); err == nil {
			t.Error("UpsertUser(role root) = nil error")
		}
		now := time.Now()
		s := store.Session{TokenHash: "t1", UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := store.CreateSession(ctx, db, s); err != nil {
			t.Fatal(err)
		}
		got, gu, err := store.SessionUser(ctx, db, "t1")
		if err != nil || gu.Email != "ann@clinic.test" || gu.Role != store.RoleReviewer || !got.ExpiresAt.After(now) {
			t.Fatalf("SessionUser() = %+v, %+v, %v", got, gu, err)
		}
		// A new password (upsert of the same email) ends every session.
		again := &store.User{Email: "ann@clinic.test", Role: store.RoleAdmin, PasswordHash: "h2"}
		if created, err := store.UpsertUser(ctx, db, again); err != nil || created || again.ID != u.ID {
			t.Fatalf("UpsertUser(existing) = %v, %v, id %d; want an update of %d", created, err, again.ID, u.ID)
		}
		if _, _, err := store.SessionUser(ctx, db, "t1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SessionUser() after a password change = %v, want ErrNotFound", err)
		}
		// Expiry: idle and absolute.
		old := now.Add(-2 * time.Hour)
		for i, s := range []store.Session{
			{TokenHash: "idle", UserID: u.ID, CreatedAt: old, LastSeenAt: old, ExpiresAt: now.Add(time.Hour)},
			{TokenHash: "over", UserID: u.ID, CreatedAt: old, LastSeenAt: now, ExpiresAt: now.Add(-time.Minute)},
			{TokenHash: "live", UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)},
		} {
			if err := store.CreateSession(ctx, db, s); err != nil {
				t.Fatalf("session %d: %v", i, err)
			}
		}
		if n, err := store.DeleteExpiredSessions(ctx, db, now, now.Add(-30*time.Minute)); err != nil || n != 2 {
			t.Errorf("DeleteExpiredSessions() = %d, %v; want 2", n, err)
		}
		if ok, err := store.SetUserDisabled(ctx, db, "ANN@clinic.test", true); err != nil || !ok {
			t.Fatalf("SetUserDisabled() = %v, %v", ok, err)
		}
		if _, _, err := store.SessionUser(ctx, db, "live"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SessionUser() of a disabled account = %v, want ErrNotFound", err)
		}
		if n, err := store.CountUsers(ctx, db); err != nil || n != 1 {
			t.Errorf("CountUsers() = %d, %v; want 1", n, err)
		}
	})
}

// seedQueue makes n cases: every third awaits review, the others are sent;
// case i comes from sender<i%5>@clinic.test and, when analysed, mentions
// E11.<i%10>.
func seedQueue(t testing.TB, db *store.DB, n int) {
	t.Helper()
	ctx := context.Background()
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		for i := 1; i <= n; i++ {
			st := store.StatusSent
			if i%3 == 0 {
				st = store.StatusAwaitingReview
			}
			c := &store.Case{Subject: fmt.Sprintf("Question %d about coding", i), Requester: fmt.Sprintf("sender%d@clinic.test", i%5), Status: st}
			id, err := store.CreateCase(ctx, tx, c)
			if err != nil {
				return err
			}
			m := &store.Message{CaseID: &id, Mailbox: "INBOX", MessageID: fmt.Sprintf("q%d@clinic.test", i), ContentHash: fmt.Sprint(i),
				Status: store.MessageParsed}
			mid, _, err := store.InsertMessage(ctx, tx, m)
			if err != nil {
				return err
			}
			res := fmt.Sprintf(`{"kind":"code_lookup","codes":[{"system":"icd10cm","code":"E11.%d","role":"asked"}]}`, i%10)
			if _, err := store.InsertAnalysis(ctx, tx, &store.Analysis{CaseID: id, MessageID: mid, Kind: "code_lookup", Confidence: 0.9, Result: []byte(res)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestListQueue(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seedQueue(t, db, 60)
		// Keyset pages cover every awaiting case once, newest first.
		var seen []int64
		f := store.QueueFilter{Statuses: []store.CaseStatus{store.StatusAwaitingReview}, Limit: 7}
		for {
			page, more, err := store.ListQueue(ctx, db, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				seen = append(seen, c.ID)
			}
			if !more {
				break
			}
			f.After = page[len(page)-1].ID
		}
		if len(seen) != 20 || seen[0] != 60 || seen[19] != 3 {
			t.Fatalf("paged awaiting cases = %v, want the 20 multiples of 3 from 60 down", seen)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] >= seen[i-1] {
				t.Fatalf("pages not in order: %v", seen)
			}
		}
		oldest, _, err := store.ListQueue(ctx, db, store.QueueFilter{OldestFirst: true, Limit: 2, After: 10})
		if err != nil || len(oldest) != 2 || oldest[0].ID != 11 || oldest[1].ID != 12 {
			t.Errorf("ListQueue(oldest after 10) = %v, %v; want 11, 12", ids(oldest), err)
		}
		tests := []struct {
			search string
			want   int
		}{
			{"#42", 1},
			{"42", 1},
			{"sender3@clinic.test", 12},
			{"SENDER3@", 12},
			{"E11.7", 6},
			{"e11.7", 6},
			{"Question 5 about", 1},
			{"nothing like this", 0},
			{"100%_", 0},
		}
		for _, tc := range tests {
			got, _, err := store.ListQueue(ctx, db, store.QueueFilter{Search: tc.search, Limit: 100})
			if err != nil || len(got) != tc.want {
				t.Errorf("ListQueue(search %q) = %d cases (%v), %v; want %d", tc.search, len(got), ids(got), err, tc.want)
			}
		}
		if ok, err := store.AssignCase(ctx, db, 3, "Ann@Clinic.test"); err != nil || !ok {
			t.Fatalf("AssignCase() = %v, %v", ok, err)
		}
		mine, _, err := store.ListQueue(ctx, db, store.QueueFilter{Assignee: "ann@clinic.test"})
		if err != nil || len(mine) != 1 || mine[0].ID != 3 {
			t.Errorf("ListQueue(assignee) = %v, %v; want case 3", ids(mine), err)
		}
		free, _, err := store.ListQueue(ctx, db, store.QueueFilter{Assignee: store.UnassignedOnly, Statuses: []store.CaseStatus{store.StatusAwaitingReview}, Limit: 100})
		if err != nil || len(free) != 19 {
			t.Errorf("ListQueue(unassigned) = %d cases, %v; want 19", len(free), err)
		}
	})
}

func ids(cs []store.Case) []int64 {
	var out []int64
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestNotesAndAuditTrail(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		id, err := store.CreateCase(ctx, db, &store.Case{Subject: "S", Requester: "a@b"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.AddNote(ctx, db, &store.Note{CaseID: id, Author: "ann@clinic.test", Body: "called back"}); err != nil {
			t.Fatal(err)
		}
		notes, err := store.CaseNotes(ctx, db, id)
		if err != nil || len(notes) != 1 || notes[0].Body != "called back" {
			t.Errorf("CaseNotes() = %+v, %v", notes, err)
		}
		for i := 0; i < 5; i++ {
			if err := store.AddEvent(ctx, db, id, "ann@clinic.test", "viewed", ""); err != nil {
				t.Fatal(err)
			}
		}
		if err := store.AddEvent(ctx, db, 0, "ann@clinic.test", "signed_in", ""); err != nil {
			t.Fatal(err)
		}
		page, more, err := store.ListEvents(ctx, db, store.EventFilter{Actor: "ann@clinic.test", Limit: 4})
		if err != nil || len(page) != 4 || !more || page[0].Action != "signed_in" {
			t.Fatalf("ListEvents() = %d events (more %v), %v; want 4 newest with more", len(page), more, err)
		}
		rest, more, err := store.ListEvents(ctx, db, store.EventFilter{Actor: "ann@clinic.test", Before: page[3].ID, Limit: 4})
		if err != nil || len(rest) != 2 || more {
			t.Errorf("ListEvents(before) = %d events (more %v), %v; want the last 2", len(rest), more, err)
		}
		if got, _, _ := store.ListEvents(ctx, db, store.EventFilter{CaseID: id, Action: "viewed"}); len(got) != 5 {
			t.Errorf("ListEvents(case, viewed) = %d, want 5", len(got))
		}
		// The trail is append-only: the database refuses changes.
		if _, err := db.Exec(ctx, "UPDATE events SET actor = 'someone else'"); err == nil {
			t.Error("UPDATE events succeeded; want the append-only trigger to refuse it")
		}
		if _, err := db.Exec(ctx, "DELETE FROM events"); err == nil {
			t.Error("DELETE FROM events succeeded; want the append-only trigger to refuse it")
		}
	})
}
