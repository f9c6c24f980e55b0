package search

import "testing"

func TestOneEdit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"pnuemonia", "pneumonia", true}, // swap
		{"diabetis", "diabetes", true},   // substitution
		{"hypertensio", "hypertension", true},
		{"fracure", "fracture", true},
		{"fracture", "fracture", false},
		{"fracture", "rupture", false},
		{"ab", "ba", true},
		{"abc", "", false},
	}
	for _, tc := range tests {
		if got := oneEdit(tc.a, tc.b); got != tc.want {
			t.Errorf("oneEdit(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSearchCorrectsTypos(t *testing.T) {
	t.Parallel()
	docs := append(testDocs(), Doc{System: "icd10cm", Code: "J18.9", Text: "Pneumonia, unspecified organism", Field: FieldLong, Billable: true})
	ix := Build(docs)
	for q, want := range map[string]string{
		"pnuemonia":             "J18.9", // adjacent letters swapped
		"infecton urinary":      "N39.0", // a letter left out
		"hypertenssion":         "I10",   // a letter doubled
		"pneumonai unspecified": "J18.9",
	} {
		res := ix.Search(q, Options{})
		if len(res) == 0 || res[0].Code != want {
			t.Errorf("Search(%q) = %v, want %s first", q, res, want)
		}
	}
	// A word one edit from nothing indexed stays unknown.
	if res := ix.Search("zzzzzzz", Options{}); len(res) != 0 {
		t.Errorf("Search(zzzzzzz) = %v, want nothing", res)
	}
}
