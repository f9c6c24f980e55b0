package codes

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/codedesk/codedesk/internal/codes/codefile"
	"github.com/codedesk/codedesk/internal/codes/search"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

func TestAddendaDeletedRevisedAdded(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		res := importFixtures(t, db, "icd10cm_order_2025.txt", "icd10cm_order_addenda_2025.txt", "icd10cm_codes_addenda_2025.txt")
		if res[1].Release.Format != codefile.ICD10CMOrderAddenda || res[1].Rows != 5 || res[2].Release.Format != codefile.ICD10CMCodesAddenda || res[2].Rows != 3 {
			t.Fatalf("Import(addenda) = %s %d rows, %s %d rows; want order addenda 5 rows (summary skipped), codes addenda 3",
				res[1].Release.Format, res[1].Rows, res[2].Release.Format, res[2].Rows)
		}
		kb := load(t, db)
		d := one(t, kb, "C83.39", date("2025-01-15"))
		if !d.Found || d.Status != "deleted" || d.Billable || d.Description != "Diffuse large B-cell lymphoma, extranodal and solid organ sites" {
			t.Errorf("Lookup(C83.39) = %+v, want deleted with its old descriptor", d)
		}
		if len(d.ReplacedBy) != 1 || d.ReplacedBy[0].Code != "C83.3A" {
			t.Errorf("Lookup(C83.39).ReplacedBy = %+v, want C83.3A", d.ReplacedBy)
		}
		if d.Change == nil || d.Change.Action != "deleted" || !d.Change.Effective.Equal(date("2024-10-01")) {
			t.Errorf("Lookup(C83.39).Change = %+v, want deleted 2024-10-01", d.Change)
		}
		before := one(t, kb, "C83.39", date("2024-06-01"))
		if before.Status != "active" || !before.Billable || !hasWarning(before, "valid until 2024-09-30") {
			t.Errorf("Lookup(C83.39, 2024-06-01) = %+v, want active until 2024-09-30", before)
		}
		rev := one(t, kb, "E11.22", date("2025-01-15"))
		if rev.Change == nil || rev.Change.Action != "revised" || rev.Change.Was != "Type 2 diabetes mellitus with diabetic CKD" {
			t.Errorf("Lookup(E11.22).Change = %+v, want revised, was the old title", rev.Change)
		}
		add := one(t, kb, "C81.0A", date("2025-01-15"))
		if add.Change == nil || add.Change.Action != "added" {
			t.Errorf("Lookup(C81.0A).Change = %+v, want added", add.Change)
		}
	})
}

func TestTabularNotesInherited(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		importFixtures(t, db, "icd10cm_order_2025.txt", "icd10cm_tabular_fixture_2023.xml")
		kb := load(t, db)
		dos := date("2025-01-15")
		e := one(t, kb, "E11.22", dos)
		n := e.Notes
		if n.Release != "ICD-10-CM FY2023 Tabular List" || n.From != "" {
			t.Errorf("Lookup(E11.22).Notes release %q from %q, want the FY2023 Tabular List, the code itself", n.Release, n.From)
		}
		sources := func(ns []Note) []string {
			var s []string
			for _, x := range ns {
				s = append(s, x.Source)
			}
			return s
		}
		if got := sources(n.UseAdditionalCode); !slices.Equal(got, []string{"E11.22", "E11"}) {
			t.Errorf("use additional code sources = %v, want [E11.22 E11] (own, then inherited)", got)
		}
		if got := sources(n.Excludes1); !slices.Equal(got, []string{"E11", "E11", "Chapter 4"}) {
			t.Errorf("excludes1 sources = %v, want [E11 E11 Chapter 4]", got)
		}
		if len(n.Includes) != 1 || n.Includes[0].Text != "diabetes NOS" {
			t.Errorf("includes = %+v, want diabetes NOS from E11", n.Includes)
		}
		if h := e.Hierarchy; h == nil || h.Chapter.Code != "4" || h.Block.Code != "E08-E13" || h.Category.Code != "E11" {
			t.Errorf("Lookup(E11.22).Hierarchy = %+v, want chapter 4, block E08-E13, category E11", h)
		}
		if !hasWarning(e, "notes come from ICD-10-CM FY2023 Tabular List, older than the code's release ICD-10-CM FY2025") {
			t.Errorf("Lookup(E11.22).Warnings = %v, want the older-notes warning", e.Warnings)
		}
		if inc := one(t, kb, "E11.21", dos).Notes.InclusionTerms; len(inc) != 1 || inc[0].Source != "E11.21" {
			t.Errorf("Lookup(E11.21) inclusion terms = %+v, want its own one", inc)
		}
		if inc := one(t, kb, "E11.22", dos).Notes.InclusionTerms; len(inc) != 0 {
			t.Errorf("Lookup(E11.22) inclusion terms = %+v, want none (E11.21's are not inherited)", inc)
		}
		m := one(t, kb, "M80.08XA", dos)
		var chars []string
		for _, s := range m.Notes.SeventhCharacters {
			chars = append(chars, s.Char+"@"+s.Source)
		}
		if !slices.Equal(chars, []string{"A@M80", "D@M80", "S@M80"}) || m.Notes.From != "M80.08" {
			t.Errorf("Lookup(M80.08XA) 7th characters %v from %q, want A, D, S inherited from M80, notes of M80.08", chars, m.Notes.From)
		}
		if len(m.Notes.SeventhCharacterNote) != 1 || len(m.Notes.InclusionTerms) != 0 {
			t.Errorf("Lookup(M80.08XA) 7th-character note %v, inclusion terms %v; want one note, no inclusion terms of M80.0", m.Notes.SeventhCharacterNote, m.Notes.InclusionTerms)
		}
		// C81.0A is newer than the FY2023 Tabular List: notes of its parent.
		c := one(t, kb, "C81.0A", dos)
		if c.Notes.From != "C81.0" || !hasWarning(c, "C81.0A is not in ICD-10-CM FY2023 Tabular List") {
			t.Errorf("Lookup(C81.0A) notes from %q warnings %v, want C81.0 and a not-in-tabular warning", c.Notes.From, c.Warnings)
		}
	})
}

func TestMUEAndCPT(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		res := importFixtures(t, db, "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv", "synthetic_licensed_descriptors_2026.csv")
		if r := res[0].Release; r.Format != codefile.MUEPractitioner || r.Name != "NCCI MUE practitioner 2026-Q2" || !r.From.Equal(date("2026-04-01")) || res[0].Rows != 8 {
			t.Errorf("Import(MUE) = %+v rows %d, want practitioner 2026-Q2 from 2026-04-01 with 8 rows", r, res[0].Rows)
		}
		if r := res[1].Release; r.Format != codefile.CPTDescriptors || r.Version != "2026" || res[1].Rows != 3 {
			t.Errorf("Import(CPT) = %+v rows %d, want CPT 2026 with 3 rows (header skipped)", r, res[1].Rows)
		}
		kb := load(t, db)
		dos := date("2026-05-01")
		e := one(t, kb, "99213", dos)
		if e.System != CPT || e.LicenceNeeded || !strings.HasPrefix(e.Description, "Synthetic descriptor") || len(e.MUE) != 1 || e.MUE[0].Value != 2 || e.MUE[0].MAI != 3 {
			t.Errorf("Lookup(99213) = %+v, want the licensed descriptor and MUE 2 (MAI 3)", e)
		}
		n := one(t, kb, "36415", dos)
		if n.System != CPT || !n.Found || !n.LicenceNeeded || n.Description != "" || len(n.MUE) != 1 {
			t.Errorf("Lookup(36415) = %+v, want a CPT code known by number whose descriptor needs the AMA licence", n)
		}
		j := one(t, kb, "j2405", dos)
		if j.System != HCPCS || len(j.MUE) != 1 || j.MUE[0].Value != 64 || j.MUE[0].Rationale != "Prescribing Information" || !strings.Contains(j.MUE[0].Explained, "per-day") {
			t.Errorf("Lookup(J2405) = %+v, want MUE 64 per day", j)
		}
		if k := one(t, kb, "K0001", dos); len(k.MUE) != 1 || k.MUE[0].Value != 0 || !strings.HasPrefix(k.MUE[0].Explained, "no units are payable") {
			t.Errorf("Lookup(K0001).MUE = %+v, want value 0 explained", k.MUE)
		}
		if old := one(t, kb, "99213", date("2025-01-01")); len(old.MUE) != 1 || old.MUE[0].Warning == "" {
			t.Errorf("Lookup(99213, 2025) MUE = %+v, want a warning that the MUE release does not cover the date", old.MUE)
		}
	})
}

func TestCheck(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		importFixtures(t, db, "icd10cm_order_2025.txt", "icd10cm_order_2026.txt", "icd10cm_tabular_fixture_2023.xml",
			"ccipra-v321r0-f1.txt", "ccipra-v321r0-f2.txt", "ccioph-v321r0-f1.txt", "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv",
			"HCPC2025_JAN_ANWEB_fixture.txt", "icd10cm_order_addenda_2025.txt")
		kb := load(t, db)
		ctx := context.Background()
		dos := date("2026-04-15")
		res, err := kb.Check(ctx, []string{"36415", "99213", "29877", "29881", "29880", "20610", "20611", "J2405", "96374"}, dos)
		if err != nil {
			t.Fatalf("Check() error = %v", err)
		}
		got := map[string]PTPFinding{}
		for _, f := range res.NCCI {
			got[f.Table+" "+f.Column1+"/"+f.Column2] = f
		}
		// The pair is listed twice; the row in force at the date wins, and
		// the codes' order on the command line does not matter.
		if f, ok := got["practitioner 99213/36415"]; !ok || f.ModifierIndicator != "1" || f.Effective != "2021-01-01" || f.Deleted != nil {
			t.Errorf("99213/36415 = %+v, want the 2021 row with modifier 1", f)
		}
		if f := got["practitioner 29881/29877"]; f.ModifierIndicator != "0" || !strings.HasPrefix(f.Explained, "0 = not allowed") {
			t.Errorf("practitioner 29881/29877 = %+v, want modifier 0 explained", f)
		}
		if f := got["outpatient hospital 29881/29877"]; f.ModifierIndicator != "1" || !strings.Contains(f.Explained, "XE") {
			t.Errorf("hospital 29881/29877 = %+v, want modifier 1 explained", f)
		}
		if _, ok := got["practitioner 29881/29880"]; !ok {
			t.Errorf("29881/29880 (second file of the release) missing from %v", res.NCCI)
		}
		if _, ok := got["practitioner 20610/20611"]; ok {
			t.Errorf("20610/20611 was deleted in 2015 but reported: %v", res.NCCI)
		}
		if f := got["practitioner 96374/J2405"]; f.Rationale != "Standards of medical/surgical practice" {
			t.Errorf("96374/J2405 = %+v", f)
		}
		if len(res.NCCI) != 5 {
			t.Errorf("Check() NCCI findings = %d (%v), want 5", len(res.NCCI), res.NCCI)
		}
		old, err := kb.Check(ctx, []string{"99213", "36415"}, date("2019-05-01"))
		if err != nil || len(old.NCCI) != 1 || old.NCCI[0].ModifierIndicator != "0" || old.NCCI[0].Deleted == nil || *old.NCCI[0].Deleted != "2020-12-31" {
			t.Errorf("Check(2019) = %+v, %v; want the old row, modifier 0, deleted 2020-12-31", old.NCCI, err)
		}
		mues := map[string]int{}
		for _, m := range res.MUE {
			mues[m.Code] = m.Value
		}
		if mues["99213"] != 2 || mues["J2405"] != 64 || mues["29881"] != 1 {
			t.Errorf("Check() MUEs = %v", mues)
		}

		dx, err := kb.Check(ctx, []string{"E11.9", "E08.9", "N18.30", "E11", "M80.08", "M80.08A", "Z99.999", "M80.08XZ", "C83.39"}, date("2025-01-15"))
		if err != nil {
			t.Fatalf("Check(dx) error = %v", err)
		}
		ex := map[string]bool{}
		for _, x := range dx.Excludes {
			ex[x.Code+">"+x.Excluded] = true
		}
		if !ex["E11.9>E08.9"] || !ex["E08.9>E11.9"] || ex["E11.9>N18.30"] || ex["N18.30>E11.9"] {
			t.Errorf("Check(dx).Excludes = %+v, want E11.9/E08.9 both ways and nothing for N18.30", dx.Excludes)
		}
		kinds := map[string]string{}
		for _, w := range dx.Warnings {
			kinds[w.Code] = w.Kind
		}
		want := map[string]string{"E11": "header", "M80.08": "seventh_character", "M80.08A": "placeholder_x", "Z99.999": "not_found",
			"M80.08XZ": "not_found", "C83.39": "deleted"}
		for code, kind := range want {
			if kinds[code] != kind {
				t.Errorf("Check(dx) warning for %s = %q, want %q (all: %+v)", code, kinds[code], kind, dx.Warnings)
			}
		}
		if len(dx.NCCI) != 0 || len(dx.MUE) != 0 {
			t.Errorf("Check(dx) NCCI %v MUE %v, want none for diagnoses", dx.NCCI, dx.MUE)
		}
	})
}

// TestKBConcurrentUse runs lookups, checks and searches from many
// goroutines at once (run with -race).
func TestKBConcurrentUse(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	importFixtures(t, db, "icd10cm_order_2025.txt", "icd10cm_tabular_fixture_2023.xml", "icd10cm_index_fixture_2023.xml",
		"HCPC2025_JAN_ANWEB_fixture.txt", "ccipra-v321r0-f1.txt", "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv")
	kb := load(t, db)
	dos := date("2026-04-15")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if es := kb.Lookup([]string{"E11.22", "M80.08A", "K0001", "99213"}[i%4], dos); len(es) == 0 {
					t.Errorf("Lookup() returned nothing")
				}
				if _, err := kb.Check(context.Background(), []string{"99213", "36415", "E11.9"}, dos); err != nil {
					t.Errorf("Check() error = %v", err)
				}
				if i%10 == 0 {
					kb.Search("type 2 diabetes", search.Options{})
				}
			}
		}()
	}
	wg.Wait()
}

// TestCheckSaysWhenPTPWasNotChecked: without imported PTP edits, two
// procedure codes are "not checked", never "no edit".
func TestCheckSaysWhenPTPWasNotChecked(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	importFixtures(t, db, "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv")
	kb := load(t, db)
	res, err := kb.Check(context.Background(), []string{"29881", "20610"}, date("2026-05-01"))
	if err != nil {
		t.Fatal(err)
	}
	if res.PTPChecked {
		t.Error("PTPChecked = true without any PTP release")
	}
	importFixtures(t, db, "ccipra-v321r0-f1.txt")
	res, err = load(t, db).Check(context.Background(), []string{"29881", "20610"}, date("2026-05-01"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.PTPChecked {
		t.Error("PTPChecked = false with a PTP release imported")
	}
}
