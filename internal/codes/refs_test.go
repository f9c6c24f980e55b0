package codes

import "testing"

func TestParseCodeRefs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text    string
		covered []string
		not     []string
	}{
		{"diabetes mellitus due to underlying condition (E08.-)", []string{"E08", "E089", "E0822"}, []string{"E09", "E11"}},
		{"collapsed vertebra NOS (M48.5)", []string{"M485", "M4850XA"}, []string{"M48", "M486"}},
		{"infectious diseases specific to the perinatal period (P35-P39)", []string{"P35", "P371", "P399"}, []string{"P34", "P40", "P3"}},
		{"drug-induced diabetes (E09.-, E10.-)", []string{"E0990", "E109"}, []string{"E11"}},
		{"poisoning (T36-T65 with fifth or sixth character 1-4 or 6)", []string{"T360X1A", "T65"}, []string{"T66"}},
		{"no codes here (see chapter text)", nil, []string{"E11"}},
	}
	for _, tt := range tests {
		refs := parseCodeRefs(tt.text)
		covers := func(c string) bool {
			for _, r := range refs {
				if r.covers(c) {
					return true
				}
			}
			return false
		}
		for _, c := range tt.covered {
			if !covers(c) {
				t.Errorf("parseCodeRefs(%q) = %v, does not cover %s", tt.text, refs, c)
			}
		}
		for _, c := range tt.not {
			if covers(c) {
				t.Errorf("parseCodeRefs(%q) = %v, covers %s", tt.text, refs, c)
			}
		}
	}
}
