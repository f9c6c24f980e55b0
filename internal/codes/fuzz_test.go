package codes

import (
	"context"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
)

// FuzzLookup feeds arbitrary strings (as found in email text) to Normalize,
// Lookup and Check: they never panic, and Lookup always answers.
func FuzzLookup(f *testing.F) {
	db := dbtest.SQLite(f)
	if _, err := Import(context.Background(), db, []string{fixture("icd10cm_order_2025.txt"), fixture("HCPC2025_JAN_ANWEB_fixture.txt"),
		fixture("icd10cm_tabular_fixture_2023.xml"), fixture("icd10cm_order_addenda_2025.txt")}, ImportOptions{}); err != nil {
		f.Fatal(err)
	}
	kb, err := Load(context.Background(), db)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"E11.22", "e1122", "M80.08A", "K0001", "GA", "", "..", "Z", "0DTJ4ZZ", "\xff\xfe", "E11.2222222", "C83.39"} {
		f.Add(s)
	}
	dos := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		c := Normalize(s)
		if Normalize(c) != c {
			t.Errorf("Normalize(%q) = %q is not stable", s, c)
		}
		if es := kb.Lookup(s, dos); len(es) == 0 {
			t.Errorf("Lookup(%q) returned no entry", s)
		}
		if _, err := kb.Check(context.Background(), []string{s, "E11.9"}, dos); err != nil {
			t.Errorf("Check(%q) error = %v", s, err)
		}
	})
}
