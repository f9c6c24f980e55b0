package codes

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/codes/codefile"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func fixture(name string) string { return filepath.Join("testdata", name) }

// importFixtures imports files from testdata and fails the test on error.
func importFixtures(t *testing.T, db *store.DB, names ...string) []ImportResult {
	t.Helper()
	var paths []string
	for _, n := range names {
		paths = append(paths, fixture(n))
	}
	res, err := Import(context.Background(), db, paths, ImportOptions{})
	if err != nil {
		t.Fatalf("Import(%v) error = %v", names, err)
	}
	return res
}

func load(t *testing.T, db *store.DB) *KB {
	t.Helper()
	kb, err := Load(context.Background(), db)
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	return kb
}

func one(t *testing.T, kb *KB, code string, dos time.Time) Entry {
	t.Helper()
	es := kb.Lookup(code, dos)
	if len(es) != 1 {
		t.Fatalf("Lookup(%q) = %d entries (%+v), want 1", code, len(es), es)
	}
	return es[0]
}

func TestImportOrderAndHCPCS(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		res := importFixtures(t, db, "icd10cm_order_2025.txt", "HCPC2025_JAN_ANWEB_fixture.txt", "icd10pcs_order_2026.txt")
		if len(res) != 3 {
			t.Fatalf("Import() = %d results, want 3", len(res))
		}
		if r := res[0].Release; r.Name != "ICD-10-CM FY2025" || r.Format != codefile.ICD10CMOrder || !r.From.Equal(date("2024-10-01")) || !r.To.Equal(date("2025-09-30")) || res[0].Rows != 28 {
			t.Errorf("Import(order) release = %+v rows %d, want ICD-10-CM FY2025 2024-10-01..2025-09-30, 28 rows", r, res[0].Rows)
		}
		if r := res[1].Release; r.Name != "HCPCS 2025-Q1" || !r.From.Equal(date("2025-01-01")) || !r.To.Equal(date("2025-03-31")) || res[1].Rows != 8 {
			t.Errorf("Import(hcpcs) release = %+v rows %d, want HCPCS 2025-Q1 with 8 rows", r, res[1].Rows)
		}
		if r := res[2].Release; r.Name != "ICD-10-PCS FY2026" || r.System != PCS {
			t.Errorf("Import(pcs) release = %+v, want ICD-10-PCS FY2026", r)
		}
		kb := load(t, db)
		if got := len(kb.Releases()); got != 3 {
			t.Errorf("Releases() = %d, want 3", got)
		}
		dos := date("2025-02-01")
		e := one(t, kb, "e11.22", dos)
		if !e.Found || e.System != ICD10CM || e.Code != "E11.22" || !e.Billable || e.Status != "active" ||
			e.Description != "Type 2 diabetes mellitus with diabetic chronic kidney disease" || e.Release != "ICD-10-CM FY2025" {
			t.Errorf("Lookup(e11.22) = %+v", e)
		}
		if e.Parent == nil || e.Parent.Code != "E11.2" {
			t.Errorf("Lookup(E11.22).Parent = %+v, want E11.2", e.Parent)
		}
		h := one(t, kb, "E11", dos)
		if h.Billable || h.Status != "header" || len(h.Children) != 2 || h.BillableCount != 4 {
			t.Errorf("Lookup(E11) = billable %v status %q children %d billable %d; want header with 2 children, 4 billable below", h.Billable, h.Status, len(h.Children), h.BillableCount)
		}
		k := one(t, kb, "K0001", dos)
		if k.System != HCPCS || k.Description != "Standard wheelchair" || k.HCPCS == nil || k.HCPCS.Coverage != "C" || k.HCPCS.BETOS != "D1D" || !k.Billable {
			t.Errorf("Lookup(K0001) = %+v", k)
		}
		a := one(t, kb, "a0426", dos)
		if a.Description != "Ambulance service, advanced life support, non-emergency transport, level 1 (als 1)" {
			t.Errorf("Lookup(A0426).Description = %q", a.Description)
		}
		g := one(t, kb, "G0001", dos)
		if g.Status != "terminated" || g.Billable {
			t.Errorf("Lookup(G0001) status %q billable %v, want terminated, not billable", g.Status, g.Billable)
		}
		if g := one(t, kb, "G0001", date("2004-06-01")); g.Status != "active" {
			t.Errorf("Lookup(G0001, 2004) status %q, want active", g.Status)
		}
		if n := one(t, kb, "G0568", date("2024-12-01")); n.Status != "not_in_force" || n.Billable {
			t.Errorf("Lookup(G0568, 2024-12-01) = %q billable %v, want not_in_force", n.Status, n.Billable)
		}
		m := one(t, kb, "GA", dos)
		if !m.Modifier || m.Billable || m.Description != "Waiver of liability statement issued as required by payer policy, individual case" {
			t.Errorf("Lookup(GA) = %+v", m)
		}
		p := one(t, kb, "0DTJ4ZZ", date("2026-01-15"))
		if p.System != PCS || !p.Billable || p.Description != "Resection of Appendix, Percutaneous Endoscopic Approach" {
			t.Errorf("Lookup(0DTJ4ZZ) = %+v", p)
		}
	})
}

func TestImportIsIdempotent(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		first := importFixtures(t, db, "icd10cm_order_2025.txt")
		// The same release again, plain and gzip-compressed: nothing changes.
		again := importFixtures(t, db, "icd10cm_order_2025.txt", "icd10cm_order_2025.txt.gz")
		for _, r := range again {
			if !r.Unchanged || r.Release.ID != first[0].Release.ID || r.Rows != first[0].Rows {
				t.Errorf("re-Import(%s) = unchanged %v id %d rows %d, want unchanged id %d rows %d", r.File, r.Unchanged, r.Release.ID, r.Rows, first[0].Release.ID, first[0].Rows)
			}
		}
		var n int
		if err := db.QueryRow(context.Background(), "SELECT COUNT(*) FROM code_entries").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 28 {
			t.Errorf("code_entries rows = %d after re-import, want 28", n)
		}
		rels, err := ListReleases(context.Background(), db)
		if err != nil || len(rels) != 1 {
			t.Errorf("ListReleases() = %d, %v; want 1 release", len(rels), err)
		}
	})
}

func TestFailedImportLeavesPreviousState(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		importFixtures(t, db, "icd10cm_order_2025.txt")
		// The same release, changed, with a malformed line 3 near the end:
		// the import fails and the first import stays whole.
		b, err := os.ReadFile(fixture("icd10cm_order_2025.txt"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\r\n")
		lines[25] = lines[25][:14] + "7" + lines[25][15:]
		bad := filepath.Join(t.TempDir(), "icd10cm_order_2025.txt")
		if err := os.WriteFile(bad, []byte(strings.Join(lines, "\r\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = Import(context.Background(), db, []string{bad}, ImportOptions{})
		var pe *codefile.ParseError
		if !errors.As(err, &pe) || pe.Line != 26 || pe.Field != "header/valid flag (column 15)" || !strings.Contains(err.Error(), "icd10cm_order_2025.txt:26") {
			t.Fatalf("Import(bad) error = %v, want a parse error naming the file, line 26 and the flag field", err)
		}
		kb := load(t, db)
		if e := one(t, kb, "Z20.822", date("2025-01-01")); !e.Found || e.Release != "ICD-10-CM FY2025" {
			t.Errorf("after failed import Lookup(Z20.822) = %+v, want the first import", e)
		}
		var n int
		if err := db.QueryRow(context.Background(), "SELECT COUNT(*) FROM code_entries").Scan(&n); err != nil || n != 28 {
			t.Errorf("code_entries = %d, %v after a failed import, want 28", n, err)
		}
	})
}

func TestReleasesCoexistByDateOfService(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		importFixtures(t, db, "icd10cm_order_2026.txt", "icd10cm_order_2025.txt")
		kb := load(t, db)
		old := one(t, kb, "E1122", date("2025-09-30"))
		if old.Release != "ICD-10-CM FY2025" || strings.Contains(old.Description, "revised") {
			t.Errorf("Lookup(E1122, 2025-09-30) = %q from %q, want the FY2025 text", old.Description, old.Release)
		}
		cur := one(t, kb, "E1122", date("2025-10-01"))
		if cur.Release != "ICD-10-CM FY2026" || !strings.Contains(cur.Description, "revised") || hasWarning(cur, "covers") {
			t.Errorf("Lookup(E1122, 2025-10-01) = %q from %q warnings %v, want the FY2026 text", cur.Description, cur.Release, cur.Warnings)
		}
		later := one(t, kb, "E1122", date("2027-01-01"))
		if later.Release != "ICD-10-CM FY2026" || !hasWarning(later, "no imported icd10cm release covers 2027-01-01") {
			t.Errorf("Lookup(E1122, 2027) from %q warnings %v, want FY2026 with a stale-release warning", later.Release, later.Warnings)
		}
		early := one(t, kb, "E1122", date("2020-01-01"))
		if early.Status != "not_in_force" || early.Billable {
			t.Errorf("Lookup(E1122, 2020) status %q billable %v, want not_in_force", early.Status, early.Billable)
		}
	})
}

func TestLookupUnknownGivesNearMatches(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	importFixtures(t, db, "icd10cm_order_2025.txt", "HCPC2025_JAN_ANWEB_fixture.txt")
	kb := load(t, db)
	dos := date("2025-01-15")
	tests := []struct {
		code, want, reason string
	}{
		{"M80.08A", "M80.08XA", "placeholder X"},
		{"E11.23", "E11.22", "one character"},
		{"E11.2", "", ""}, // exists: a header
		{"K0010", "K0001", "one character"},
	}
	for _, tt := range tests {
		es := kb.Lookup(tt.code, dos)
		if tt.want == "" {
			if len(es) != 1 || !es[0].Found {
				t.Errorf("Lookup(%s) = %+v, want found", tt.code, es)
			}
			continue
		}
		if len(es) != 1 || es[0].Found || es[0].Status != "not_found" {
			t.Fatalf("Lookup(%s) = %+v, want one not-found entry", tt.code, es)
		}
		ok := false
		for _, n := range es[0].NearMatches {
			if n.Code == tt.want && strings.Contains(n.Reason, tt.reason) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("Lookup(%s).NearMatches = %+v, want %s (%s)", tt.code, es[0].NearMatches, tt.want, tt.reason)
		}
	}
	if es := kb.Lookup("not a code!", dos); len(es) != 1 || es[0].Found {
		t.Errorf("Lookup(garbage) = %+v, want one not-found entry", es)
	}
}

func hasWarning(e Entry, sub string) bool {
	for _, w := range e.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}
