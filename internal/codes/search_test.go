package codes

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/codes/search"
	"github.com/codedesk/codedesk/internal/dbtest"
)

func TestSearchOverKB(t *testing.T) {
	t.Parallel()
	db := dbtest.SQLite(t)
	importFixtures(t, db, "icd10cm_order_2025.txt", "HCPC2025_JAN_ANWEB_fixture.txt", "icd10cm_tabular_fixture_2023.xml", "icd10cm_index_fixture_2023.xml")
	kb := load(t, db)
	kb.now = func() time.Time { return date("2025-02-01") }
	docs := kb.SearchDocs(time.Time{})
	fields := map[string]int{}
	var indexEvidence string
	for _, d := range docs {
		fields[d.Field]++
		if d.Field == search.FieldIndex && d.Code == "E11.22" {
			indexEvidence = d.Evidence
		}
	}
	if fields[search.FieldLong] == 0 || fields[search.FieldShort] == 0 || fields[search.FieldInclusion] == 0 || fields[search.FieldIndex] == 0 {
		t.Errorf("SearchDocs() fields = %v, want long, short, inclusion and index texts", fields)
	}
	if want := "Index: Diabetes, diabetic (mellitus) (sugar) > type 2 > with > chronic kidney disease"; indexEvidence != want {
		t.Errorf("index evidence for E11.22 = %q, want %q", indexEvidence, want)
	}
	var see string
	for _, d := range docs {
		if d.Code == "I21.09" && strings.Contains(d.Evidence, "→ see") {
			see = d.Evidence
		}
	}
	if want := "Index: Heart attack → see Infarct, myocardium, ST elevation, anterior → I21.09"; see != want {
		t.Errorf("cross-reference evidence = %q, want %q", see, want)
	}
	res := kb.Search("type 2 diabetes with chronic kidney disease", search.Options{System: "icd10cm", Limit: 3})
	if len(res) == 0 || res[0].Code != "E11.22" {
		t.Errorf("Search(T2DM w CKD) = %+v, want E11.22 first", res)
	}
	if res := kb.Search("standard wheelchair", search.Options{System: "hcpcs"}); len(res) == 0 || res[0].Code != "K0001" {
		t.Errorf("Search(standard wheelchair) = %+v, want K0001 first", res)
	}
	if a, b := kb.SearchIndex(date("2025-01-01")), kb.SearchIndex(date("2025-03-01")); a != b {
		t.Errorf("SearchIndex() built twice for dates served by the same releases")
	}
	_ = context.Background()
}
