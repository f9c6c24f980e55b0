package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/internal/web"
)

func runWithInput(t *testing.T, in string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, stdio{In: strings.NewReader(in), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestUsersCommand(t *testing.T) {
	t.Parallel()
	dbPath := filepath.Join(t.TempDir(), "codedesk.db")
	db := "--database-url=" + dbPath
	// The password comes from standard input; the schema is created when
	// this is the first command run on the database.
	code, out, errs := runWithInput(t, "a long enough passphrase\n", "users", "add", "Ann@Clinic.test", "--role", "reviewer", db)
	if code != 0 || !strings.Contains(out, "account ann@clinic.test created (reviewer)") {
		t.Fatalf("users add = %d, %q, %q", code, out, errs)
	}
	if code, _, errs := runWithInput(t, "short\n", "users", "add", "bob@clinic.test", "--role", "admin", db); code == 0 || !strings.Contains(errs, "at least 12") {
		t.Errorf("users add with a short password = %d, %q; want a refusal", code, errs)
	}
	if code, _, _ := runWithInput(t, "a long enough passphrase\n", "users", "add", "not-an-address", "--role", "admin", db); code == 0 {
		t.Error("users add with a bad email succeeded")
	}
	if code, _, _ := runWithInput(t, "a long enough passphrase\n", "users", "add", "x@clinic.test", "--role", "root", db); code == 0 {
		t.Error("users add with an unknown role succeeded")
	}
	// Adding again updates role and password.
	if code, out, _ := runWithInput(t, "another long passphrase\n", "users", "add", "ann@clinic.test", "--role", "admin", db); code != 0 || !strings.Contains(out, "updated (admin)") {
		t.Errorf("users add (existing) = %d, %q", code, out)
	}
	ctx := context.Background()
	sdb, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	u, err := store.GetUserByEmail(ctx, sdb, "ann@clinic.test")
	if err != nil || u.Role != store.RoleAdmin || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("stored account = %+v, %v", u, err)
	}
	if ok, _ := web.VerifyPassword(u.PasswordHash, "another long passphrase"); !ok {
		t.Error("the stored hash does not verify the new password")
	}
	if code, out, _ := runWithInput(t, "", "users", "list", "--json", db); code != 0 || !strings.Contains(out, `"email":"ann@clinic.test","role":"admin","disabled":false`) {
		t.Errorf("users list --json = %d, %q", code, out)
	}
	if code, out, _ := runWithInput(t, "", "users", "disable", "ann@clinic.test", db); code != 0 || !strings.Contains(out, "disabled") {
		t.Errorf("users disable = %d, %q", code, out)
	}
	if code, _, _ := runWithInput(t, "", "users", "disable", "ghost@clinic.test", db); code == 0 {
		t.Error("users disable of an unknown account succeeded")
	}
	evs, _, _ := store.ListEvents(ctx, sdb, store.EventFilter{Actor: "cli"})
	if len(evs) != 3 {
		t.Errorf("audit events by the CLI = %d, want created, updated, disabled", len(evs))
	}
}
