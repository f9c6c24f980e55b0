package codefile

import (
	"compress/gzip"
	"os"
	"testing"
)

func openShared(t *testing.T, rel string) *gzip.Reader {
	t.Helper()
	f, err := os.Open("../../../../shared/data/" + rel)
	if err != nil {
		t.Skipf("official data file %s not present (needs ../shared/data): %v", rel, err)
	}
	t.Cleanup(func() { f.Close() })
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestReadTabularSharedData(t *testing.T) {
	t.Parallel()
	z := openShared(t, "icd10cm/fy2023-xml/icd10cm_tabular_2023.xml.gz")
	counts := map[string]int{}
	notes := map[string]int{}
	var m80 TabularItem
	ver, err := ReadTabular(z, "icd10cm_tabular_2023.xml", func(it TabularItem) error {
		counts[it.Kind]++
		for _, n := range it.Notes {
			notes[n.Type]++
		}
		if it.Code == "M80" {
			m80 = it
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ReadTabular() error = %v", err)
	}
	// Counts from PROVENANCE.md.
	if ver != "2023" || counts["chapter"] != 22 || counts["section"] != 296 || counts["diag"] != 45869 {
		t.Errorf("ReadTabular() version %q counts %v, want 2023 with 22 chapters, 296 sections, 45869 diags", ver, counts)
	}
	if notes[NoteSeventhNote] != 507 || notes[NoteSeventhDef] != 1787 {
		t.Errorf("7th-character notes = %d, definitions %d; want 507, 1787", notes[NoteSeventhNote], notes[NoteSeventhDef])
	}
	t.Logf("note counts: %v", notes)
	var sev []string
	for _, n := range m80.Notes {
		if n.Type == NoteSeventhDef {
			sev = append(sev, n.Char)
		}
	}
	if m80.Parent != "M80-M85" || len(sev) != 6 || sev[0] != "A" || sev[5] != "S" {
		t.Errorf("M80 parent %q 7th characters %v, want M80-M85 and A D G K P S", m80.Parent, sev)
	}
}

func TestReadIndexSharedData(t *testing.T) {
	t.Parallel()
	z := openShared(t, "icd10cm/fy2023-xml/icd10cm_index_2023.xml.gz")
	var (
		n, mains, codes int
		byseq           = map[int]IndexTerm{}
		path            string
	)
	ver, err := ReadIndex(z, "icd10cm_index_2023.xml", func(it IndexTerm) error {
		n++
		if it.Level == 0 {
			mains++
		}
		if it.Code != "" {
			codes++
		}
		byseq[it.Seq] = it
		if it.Code == "E11.22" && path == "" {
			var parts []string
			for p := it; ; p = byseq[p.Parent] {
				parts = append([]string{p.Title}, parts...)
				if p.Parent == 0 {
					break
				}
			}
			path = joinPath(parts)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ReadIndex() error = %v", err)
	}
	// PROVENANCE.md: 8,060 main terms, 72,058 nested terms, 61,983 codes.
	if ver != "2023" || mains != 8060 || n != 8060+72058 || codes != 61983 {
		t.Errorf("ReadIndex() version %q, %d terms, %d main, %d codes; want 2023, 80118, 8060, 61983", ver, n, mains, codes)
	}
	if path != "Diabetes, diabetic (mellitus) (sugar) > with > chronic kidney disease" {
		t.Errorf("first index path to E11.22 = %q", path)
	}
}

func joinPath(p []string) string {
	s := ""
	for i, x := range p {
		if i > 0 {
			s += " > "
		}
		s += x
	}
	return s
}
