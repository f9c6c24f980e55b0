package codes

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/codedesk/codedesk/internal/codes/codefile"
	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
)

// sharedData is the folder of official files this project was given (see
// its PROVENANCE.md); tests that need them skip when it is absent.
const sharedData = "../../../shared/data"

// sharedFile returns the path of a file under ../shared/data, or skips the
// test when it is not there.
func sharedFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(sharedData, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("official data file %s not present (needs ../shared/data): %v", rel, err)
	}
	return p
}

const (
	sharedICD10CMOrder   = "icd10cm/fy2025/icd10cm_order_2025.txt.gz"
	sharedICD10CMCodes   = "icd10cm/fy2025/icd10cm_codes_2025.txt.gz"
	sharedICD10CMOrderAd = "icd10cm/fy2025/icd10cm_order_addenda_2025.txt"
	sharedICD10CMCodesAd = "icd10cm/fy2025/icd10cm_codes_addenda_2025.txt"
	sharedTabular        = "icd10cm/fy2023-xml/icd10cm_tabular_2023.xml.gz"
	sharedIndex          = "icd10cm/fy2023-xml/icd10cm_index_2023.xml.gz"
	sharedHCPCS          = "hcpcs/2025-jan/HCPC2025_JAN_ANWEB_12172024.txt.gz"
	sharedMUE            = "ncci/mue/MCR_MUE_PractitionerServices_Eff_04-01-2026.csv"
	sharedPCSOrder       = "icd10pcs/fy2026/icd10pcs_order_2026.txt.gz"
	sharedPCSCodes       = "icd10pcs/fy2026/icd10pcs_codes_2026.txt.gz"
	sharedPCSOrderAd     = "icd10pcs/fy2026/order_addenda_2026.txt"
	sharedPCSCodesAd     = "icd10pcs/fy2026/codes_addenda_2026.txt"
)

// sharedAll lists every official file, with its format and row count from
// PROVENANCE.md.
var sharedAll = []struct {
	rel    string
	format codefile.Format
	rows   int64
}{
	{sharedICD10CMOrder, codefile.ICD10CMOrder, 97584},
	{sharedICD10CMCodes, codefile.ICD10CMCodes, 74260},
	{sharedICD10CMOrderAd, codefile.ICD10CMOrderAddenda, 72 + 2 + 252 + 36 + 26},
	{sharedICD10CMCodesAd, codefile.ICD10CMCodesAddenda, 252 + 36 + 26},
	{sharedTabular, codefile.ICD10CMTabular, 0}, // elements and notes: counted in codefile's tests
	{sharedIndex, codefile.ICD10CMIndex, 8060 + 72058},
	{sharedHCPCS, codefile.HCPCS, 8259 + 383},
	{sharedMUE, codefile.MUEPractitioner, 15095},
	{sharedPCSOrder, codefile.PCSOrder, 80110},
	{sharedPCSCodes, codefile.PCSCodes, 79193},
	{sharedPCSOrderAd, codefile.PCSOrderAddenda, 0},
	{sharedPCSCodesAd, codefile.PCSCodesAddenda, 0},
}

func TestSharedDataImportAll(t *testing.T) {
	t.Parallel()
	var paths []string
	for _, f := range sharedAll {
		paths = append(paths, sharedFile(t, f.rel))
	}
	dbtest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		res, err := Import(ctx, db, paths, ImportOptions{})
		if err != nil {
			t.Fatalf("Import() error = %v", err)
		}
		for i, f := range sharedAll {
			if res[i].Release.Format != f.format {
				t.Errorf("Import(%s) format = %s, want %s", f.rel, res[i].Release.Format, f.format)
			}
			if f.rows != 0 && res[i].Rows != f.rows {
				t.Errorf("Import(%s) rows = %d, want %d", f.rel, res[i].Rows, f.rows)
			}
		}
		kb := load(t, db)
		dos := date("2025-01-15")
		for _, c := range []string{"E11.22", "I21.02", "M80.08XA", "Z20.822", "U07.1"} {
			if e := one(t, kb, c, dos); !e.Found || !e.Billable || e.Status != "active" {
				t.Errorf("Lookup(%s) = %+v, want billable and active", c, e)
			}
		}
		e := one(t, kb, "E11.22", dos)
		if e.Hierarchy == nil || e.Hierarchy.Chapter.Code != "4" || e.Hierarchy.Block.Code != "E08-E13" || len(e.Notes.Excludes1) == 0 ||
			!hasWarning(e, "notes come from ICD-10-CM FY2023 Tabular List, older than the code's release ICD-10-CM FY2025") {
			t.Errorf("Lookup(E11.22) hierarchy %+v notes %+v warnings %v", e.Hierarchy, e.Notes, e.Warnings)
		}
		m := one(t, kb, "M80.08XA", dos)
		var chars []string
		for _, s := range m.Notes.SeventhCharacters {
			chars = append(chars, s.Char)
		}
		if !slices.Equal(chars, []string{"A", "D", "G", "K", "P", "S"}) || m.Notes.SeventhCharacters[0].Source != "M80" {
			t.Errorf("Lookup(M80.08XA) 7th characters = %v, want A D G K P S from M80", m.Notes.SeventhCharacters)
		}
		// Z68 is a block of one category whose id is the category's own
		// code; its codes must hang from the block, not loop on themselves.
		if z := one(t, kb, "Z68.41", dos); z.Hierarchy == nil || z.Hierarchy.Block == nil || z.Hierarchy.Block.Code != "Z68" || !z.Billable {
			t.Errorf("Lookup(Z68.41) = %+v, want billable under block Z68", z)
		}
		// Added in FY2025, so not in the FY2023 Tabular List.
		c := one(t, kb, "C81.0A", dos)
		if c.Change == nil || c.Change.Action != "added" || !hasWarning(c, "is not in ICD-10-CM FY2023 Tabular List") {
			t.Errorf("Lookup(C81.0A) change %+v warnings %v", c.Change, c.Warnings)
		}
		// Deleted as a billable code in FY2025 and subdivided.
		d := one(t, kb, "M51.36", dos)
		if d.Status != "header" || d.Change == nil || d.Change.Action != "subdivided" || len(d.ReplacedBy) < 2 {
			t.Errorf("Lookup(M51.36) status %q change %+v replaced by %v; want a subdivided header", d.Status, d.Change, d.ReplacedBy)
		}
		if old := one(t, kb, "E11.22", date("2024-09-30")); old.Status != "not_in_force" {
			t.Errorf("Lookup(E11.22, 2024-09-30) status = %q, want not_in_force (no FY2024 release imported)", old.Status)
		}
		if k := one(t, kb, "K0001", dos); k.Description != "Standard wheelchair" || k.HCPCS.BETOS != "D1D" || k.HCPCS.Coverage != "C" {
			t.Errorf("Lookup(K0001) = %+v", k)
		}
		if a := one(t, kb, "A0426", dos); a.Description != "Ambulance service, advanced life support, non-emergency transport, level 1 (als 1)" {
			t.Errorf("Lookup(A0426).Description = %q", a.Description)
		}
		for _, m := range []string{"GA", "GY", "GZ", "JW", "KX", "LT", "RT", "XE"} {
			if e := one(t, kb, m, dos); !e.Modifier || !e.Found {
				t.Errorf("Lookup(%s) = %+v, want a Level II modifier", m, e)
			}
		}
		var terminated int
		for _, r := range kb.lists[HCPCS][0].recs {
			if r.hcpcs != nil && r.hcpcs.Terminated != 0 {
				terminated++
			}
		}
		if terminated != 1165 {
			t.Errorf("HCPCS records with a termination date = %d, want 1165", terminated)
		}
		// MUE values checked in PROVENANCE.md.
		mdos := date("2026-05-01")
		for code, want := range map[string]int{"99213": 2, "J2405": 64, "K0001": 0, "G0008": 1, "0001U": 1} {
			es := kb.Lookup(code, mdos)
			if len(es) != 1 || len(es[0].MUE) != 1 || es[0].MUE[0].Value != want {
				t.Errorf("Lookup(%s).MUE = %+v, want %d", code, es, want)
			}
		}
		if es := kb.Lookup("99213", mdos); es[0].System != CPT || !es[0].LicenceNeeded || es[0].MUE[0].MAI != 3 {
			t.Errorf("Lookup(99213) = %+v, want CPT known by number, MAI 3", es[0])
		}
		if p := one(t, kb, "0DTJ4ZZ", date("2026-01-15")); p.System != PCS || !p.Billable || !strings.Contains(p.Description, "Appendix") {
			t.Errorf("Lookup(0DTJ4ZZ) = %+v", p)
		}
		res2, err := kb.Check(ctx, []string{"E11.9", "E10.9", "S72.001", "E11"}, dos)
		if err != nil {
			t.Fatal(err)
		}
		ex := false
		for _, x := range res2.Excludes {
			if x.Code == "E11.9" && x.Excluded == "E10.9" {
				ex = true
			}
		}
		kinds := map[string]string{}
		for _, w := range res2.Warnings {
			kinds[w.Code] = w.Kind
		}
		if !ex || kinds["S72.001"] != "seventh_character" || kinds["E11"] != "header" {
			t.Errorf("Check(E11.9 E10.9 S72.001 E11) excludes %v warnings %v", res2.Excludes, res2.Warnings)
		}
		// Re-importing everything changes nothing.
		again, err := Import(ctx, db, paths, ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range again {
			if !r.Unchanged {
				t.Errorf("re-Import(%s) changed the release", r.File)
			}
		}
	})
}
