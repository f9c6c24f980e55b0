package search

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// testDocs is a small synthetic corpus in the shapes the KB feeds.
func testDocs() []Doc {
	cm := func(code, text string, billable bool) Doc {
		return Doc{System: "icd10cm", Code: code, Text: text, Field: FieldLong, Billable: billable}
	}
	return []Doc{
		cm("E11", "Type 2 diabetes mellitus", false),
		cm("E11.2", "Type 2 diabetes mellitus with kidney complications", false),
		cm("E11.22", "Type 2 diabetes mellitus with diabetic chronic kidney disease", true),
		cm("E11.8", "Type 2 diabetes mellitus with unspecified complications", true),
		cm("E11.9", "Type 2 diabetes mellitus without complications", true),
		cm("E10.9", "Type 1 diabetes mellitus without complications", true),
		{System: "icd10cm", Code: "E11.22", Text: "Diabetes, diabetic (mellitus) (sugar) > type 2 > with > chronic kidney disease",
			Field: FieldIndex, Evidence: "Index: Diabetes, diabetic (mellitus) (sugar) > type 2 > with > chronic kidney disease", Billable: true},
		cm("I10", "Essential (primary) hypertension", true),
		{System: "icd10cm", Code: "I10", Text: "High blood pressure", Field: FieldInclusion, Billable: true},
		cm("I50.9", "Heart failure, unspecified", true),
		cm("I21.09", "ST elevation (STEMI) myocardial infarction involving other coronary artery of anterior wall", true),
		cm("I21.19", "ST elevation (STEMI) myocardial infarction involving other coronary artery of inferior wall", true),
		cm("J44.1", "Chronic obstructive pulmonary disease with (acute) exacerbation", true),
		cm("J44.9", "Chronic obstructive pulmonary disease, unspecified", true),
		cm("N39.0", "Urinary tract infection, site not specified", true),
		cm("S72.001", "Fracture of unspecified part of neck of right femur", false),
		cm("S72.001A", "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture", true),
		cm("S72.001B", "Fracture of unspecified part of neck of right femur, initial encounter for open fracture type I or II", true),
		cm("S72.001D", "Fracture of unspecified part of neck of right femur, subsequent encounter for closed fracture with routine healing", true),
		cm("S72.001S", "Fracture of unspecified part of neck of right femur, sequela", true),
		cm("S72.002A", "Fracture of unspecified part of neck of left femur, initial encounter for closed fracture", true),
		cm("S72.009A", "Fracture of unspecified part of neck of unspecified femur, initial encounter for closed fracture", true),
		cm("S13.4", "Sprain of ligaments of cervical spine", false),
		cm("S13.4XXA", "Sprain of ligaments of cervical spine, initial encounter", true),
		cm("S13.4XXD", "Sprain of ligaments of cervical spine, subsequent encounter", true),
		{System: "icd10cm", Code: "S13.4", Text: "Whiplash injury", Field: FieldIndex, Billable: false},
		cm("D63.1", "Anemia in chronic kidney disease", true),
		cm("E50.9", "Vitamin A deficiency, unspecified", true),
		cm("E56.9", "Vitamin deficiency, unspecified", true),
		cm("Z99.9", "Dependence on unspecified enabling machine and device", true),
		cm("K35.200", "Acute appendicitis with generalized peritonitis, without perforation or abscess", true),
		cm("K35.210", "Acute appendicitis with generalized peritonitis, without perforation, with abscess", true),
		cm("F91.9", "Conduct disorder, unspecified", true),
		cm("I45.9", "Conduction disorder, unspecified", true),
		cm("V82.5", "Occupant of streetcar injured by fall in streetcar", true),
		cm("V82.6", "Occupant of streetcar injured by fall from streetcar", true),
		cm("Z99.8", "Dependence on other enabling machines and devices", true),
		{System: "hcpcs", Code: "K0001", Text: "Standard wheelchair", Field: FieldLong, Billable: true},
		{System: "hcpcs", Code: "E0143", Text: "Walker, folding, wheeled, adjustable or fixed height", Field: FieldLong, Billable: true},
		{System: "hcpcs", Code: "J1559", Text: "Injection, immune globulin (hizentra), 100 mg", Field: FieldLong, Billable: true},
		{System: "hcpcs", Code: "J1551", Text: "Injection, immune globulin (cutaquig), 100 mg", Field: FieldLong, Billable: true},
		{System: "hcpcs", Code: "A0429", Text: "Ambulance service, basic life support, emergency transport (bls-emergency)", Field: FieldLong, Billable: true},
		{System: "hcpcs", Code: "A0429", Text: "Bls-emergency", Field: FieldShort, Billable: true},
		{System: "pcs", Code: "0DTJ4ZZ", Text: "Resection of Appendix, Percutaneous Endoscopic Approach", Field: FieldLong, Billable: true},
	}
}

var (
	testIndexOnce sync.Once
	testIndex     *Index
)

func newTestIndex() *Index {
	testIndexOnce.Do(func() { testIndex = Build(testDocs()) })
	return testIndex
}

func codesOf(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}

// TestSearchRanking checks the first result for queries that exercise each
// ranking rule.
func TestSearchRanking(t *testing.T) {
	t.Parallel()
	ix := newTestIndex()
	tests := []struct {
		name, query, system, want string
	}{
		{"exact descriptor", "Type 2 diabetes mellitus with diabetic chronic kidney disease", "", "E11.22"},
		{"abbreviations and w/", "T2DM w/ CKD", "", "E11.22"},
		{"w/o is negation", "T2DM w/o complications", "", "E11.9"},
		{"without beats with", "type 2 diabetes without complication", "", "E11.9"},
		{"no is negation", "type 2 diabetic, no complications", "", "E11.9"},
		{"with complications", "type 2 diabetes with complications", "", "E11.8"},
		{"type 1", "T1DM", "", "E10.9"},
		{"billable before header", "type 2 diabetes", "", "E11.9"},
		{"HTN", "HTN", "", "I10"},
		{"lay term and inclusion", "high blood pressure", "", "I10"},
		{"nonessential modifier not required", "essential hypertension", "", "I10"},
		{"CHF", "CHF", "", "I50.9"},
		{"MI of the front wall", "MI of the front wall", "", "I21.09"},
		{"word forms", "myocardial infarctions involving the anterior walls", "", "I21.09"},
		{"COPD exacerbation", "COPD exacerbation", "", "J44.1"},
		{"UTI", "UTI", "", "N39.0"},
		{"fx, side, default encounter and closed", "fx neck of right femur", "", "S72.001A"},
		{"open fracture asked", "open fx neck of right femur", "", "S72.001B"},
		{"subsequent encounter asked", "fracture of neck of right femur, subsequent encounter", "", "S72.001D"},
		{"sequela asked", "fracture of neck of right femur sequela", "", "S72.001S"},
		{"left", "broken left femur neck", "", "S72.002A"},
		{"no side: unspecified", "femoral neck fracture", "", "S72.009A"},
		{"index path to a header reaches its child", "whiplash", "", "S13.4XXA"},
		{"due to", "anemia due to chronic kidney disease", "", "D63.1"},
		{"vitamin A is not an article", "vitamin A deficiency", "", "E50.9"},
		{"plain vitamin deficiency", "Vitamin deficiency, unspecified", "", "E56.9"},
		{"without X or Y excludes both", "appendicitis without perforation or abscess", "", "K35.200"},
		{"without X, with Y", "appendicitis without perforation, with abscess", "", "K35.210"},
		{"same stem, different word", "Conduction disorder, unspecified", "", "I45.9"},
		{"stop words decide an exact match", "Occupant of streetcar injured by fall from streetcar", "", "V82.6"},
		{"narrative filler", "What is the ICD-10 code for a patient with type 2 diabetes and CKD?", "", "E11.22"},
		{"hcpcs", "standard wheelchair", "hcpcs", "K0001"},
		{"hcpcs brand in parentheses decides", "immune globulin hizentra", "hcpcs", "J1559"},
		{"hcpcs abbreviation", "BLS emergency ambulance", "hcpcs", "A0429"},
		{"pcs", "resection of appendix, percutaneous endoscopic", "pcs", "0DTJ4ZZ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := ix.Search(tt.query, Options{System: tt.system, Limit: 5})
			if len(rs) == 0 || rs[0].Code != tt.want {
				t.Errorf("Search(%q) = %v, want %s first", tt.query, codesOf(rs), tt.want)
			}
		})
	}
}

func TestSearchResultFields(t *testing.T) {
	t.Parallel()
	ix := newTestIndex()
	rs := ix.Search("diabetes type 2 with chronic kidney disease", Options{Limit: 3})
	if len(rs) == 0 {
		t.Fatal("Search() = no results")
	}
	r := rs[0]
	want := Result{System: "icd10cm", Code: "E11.22", Description: "Type 2 diabetes mellitus with diabetic chronic kidney disease",
		Evidence: "Index: Diabetes, diabetic (mellitus) (sugar) > type 2 > with > chronic kidney disease", Billable: true, Field: FieldIndex}
	r.Score = 0
	if r != want {
		t.Errorf("Search()[0] = %+v, want %+v", r, want)
	}
	if rs[0].Score <= 0 || rs[0].Score > 1.1 {
		t.Errorf("Search()[0].Score = %v, want in (0, 1.1]", rs[0].Score)
	}
	for i := 1; i < len(rs); i++ {
		if rs[i].Score > rs[i-1].Score {
			t.Errorf("scores not descending: %v", rs)
		}
	}
	seen := map[string]bool{}
	for _, r := range ix.Search("fracture of neck of femur", Options{Limit: 20}) {
		if seen[r.Code] {
			t.Errorf("code %s appears twice", r.Code)
		}
		seen[r.Code] = true
	}
	// A header says so and carries its own descriptor as evidence.
	hs := ix.Search("Sprain of ligaments of cervical spine", Options{Limit: 5})
	var header *Result
	for i := range hs {
		if hs[i].Code == "S13.4" {
			header = &hs[i]
		}
	}
	if header == nil || header.Billable || header.Evidence != "Descriptor: Sprain of ligaments of cervical spine" {
		t.Errorf("header result = %+v, want S13.4 not billable with its descriptor as evidence", header)
	}
	if hs[0].Code != "S13.4XXA" {
		t.Errorf("Search(S13.4 descriptor) first = %s, want the billable S13.4XXA above its header", hs[0].Code)
	}
}

func TestSearchOptions(t *testing.T) {
	t.Parallel()
	ix := newTestIndex()
	if got := ix.Search("fracture", Options{Limit: 3}); len(got) != 3 {
		t.Errorf("Limit 3: got %d results", len(got))
	}
	if got := ix.Search("fracture", Options{}); len(got) != 7 {
		t.Errorf("Limit 0 (default %d): got %d results, want all 7 fracture codes", DefaultLimit, len(got))
	}
	if got := ix.Search("fracture", Options{Limit: 1000}); len(got) > MaxLimit {
		t.Errorf("Limit 1000: got %d results, want at most %d", len(got), MaxLimit)
	}
	for _, r := range ix.Search("diabetes wheelchair", Options{System: "hcpcs"}) {
		if r.System != "hcpcs" {
			t.Errorf("System hcpcs: got %s %s", r.System, r.Code)
		}
	}
	if got := ix.Search("wheelchair", Options{System: "cpt"}); len(got) != 0 {
		t.Errorf("System without documents: got %v", codesOf(got))
	}
	for _, q := range []string{"", "   ", "the of and", "zzzzqqq", "(((", "w/", "\x00\xff"} {
		if got := ix.Search(q, Options{}); len(got) != 0 {
			t.Errorf("Search(%q) = %v, want nothing", q, codesOf(got))
		}
	}
	if got, want := ix.Systems(), []string{"hcpcs", "icd10cm", "pcs"}; !slices.Equal(got, want) {
		t.Errorf("Systems() = %v, want %v", got, want)
	}
}

// TestSearchTieBreaksAreStable checks that equal scores come back in the
// same order every time: billable first, then code order.
func TestSearchTieBreaksAreStable(t *testing.T) {
	t.Parallel()
	docs := []Doc{
		{System: "icd10cm", Code: "X02", Text: "Same words here", Field: FieldLong, Billable: true},
		{System: "icd10cm", Code: "X01", Text: "Same words here", Field: FieldLong, Billable: false},
		{System: "icd10cm", Code: "X03", Text: "Same words here", Field: FieldLong, Billable: true},
	}
	for i := 0; i < 5; i++ {
		slices.Reverse(docs)
		got := codesOf(Build(docs).Search("same words here", Options{}))
		if want := []string{"X02", "X03", "X01"}; !slices.Equal(got, want) {
			t.Fatalf("Search() = %v, want %v", got, want)
		}
	}
}

func TestBuildSkipsEmptyAndShortDuplicates(t *testing.T) {
	t.Parallel()
	ix := Build([]Doc{
		{System: "hcpcs", Code: "", Text: "no code", Field: FieldLong},
		{System: "hcpcs", Code: "A1", Text: "   ", Field: FieldLong},
		{System: "hcpcs", Code: "A2", Text: "Long text", Field: FieldLong},
		{System: "hcpcs", Code: "A2", Text: "Lng txt", Field: FieldShort},
		{System: "hcpcs", Code: "A3", Text: "Only a short one", Field: FieldShort},
	})
	if ix.Len() != 2 {
		t.Errorf("Len() = %d, want 2 (A2 long, A3 short)", ix.Len())
	}
	if got := ix.Search("only short", Options{}); len(got) != 1 || got[0].Description != "Only a short one" {
		t.Errorf("Search(only short) = %+v, want A3 described by its short text", got)
	}
}

func TestSearchConcurrent(t *testing.T) {
	t.Parallel()
	ix := newTestIndex()
	want := codesOf(ix.Search("T2DM w/ CKD", Options{}))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 200; i++ {
				if got := codesOf(ix.Search("T2DM w/ CKD", Options{})); !slices.Equal(got, want) {
					t.Errorf("concurrent Search() = %v, want %v", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestAnalyze(t *testing.T) {
	t.Parallel()
	terms := func(text string, o analyzeOptions) string {
		var a analyzer
		var out []string
		for _, tk := range a.analyze(text, o) {
			s := tk.term
			if tk.opt {
				s = "(" + s + ")"
			}
			out = append(out, s)
		}
		return strings.Join(out, " ")
	}
	doc := analyzeOptions{icd: true}
	query := analyzeOptions{query: true}
	tests := []struct {
		text string
		o    analyzeOptions
		want string
	}{
		{"Type 2 diabetes mellitus without complications", doc, "type 2 diabet mellit (!complic)"},
		{"T2DM w/o complications", query, "type 2 diabet mellit !complic"},
		{"Acute hepatitis B without delta-agent with hepatic coma", doc, "acut hepat b (!delt) (!agent) hepat coma"},
		{"Exposure to smoke, not in building or structure", doc, "exposur smoke (!build) (!structur)"},
		{"Essential (primary) hypertension", doc, "essenti (primari) hypertens"},
		{"Essential (primary) hypertension", analyzeOptions{}, "essenti primari hypertens"},
		{"Other injury of heart, unspecified with or without hemopericardium", doc, "other injuri heart (unspecifi) (hemopericardi)"},
		{"Sprain of ligaments of cervical spine, initial encounter", doc, "sprain ligament cervic spine (initi) (encount)"},
		{"Malignant neoplasm of unspecified site of left female breast", doc, "malign neoplasm (unspecifi) (site) left femal breast"},
		{"Alzheimer's disease", doc, "alzheim diseas"},
		{"anaemia, oedema", doc, "anemi edem"},
		{"Non-displaced fracture", doc, "nondisplac fractur"},
		{"myocardium, myocardial; vertebra, vertebral", doc, "myocardi myocardi vertebr vertebr"},
		{"Café-au-lait spots", doc, "cafe au lait spot"},
		{"grade I, zone II", query, "grade i zone ii"},
		{"I think the patient has HTN", query, "(i) think (patient) hypertens"},
		{"heart attack", query, "myocardi infarct (heart) (attack)"},
		{"f/u s/p fx", query, "subsequ encount (follow) (up) stat post fractur"},
		{"E. coli UTI, C. diff", query, "escherichi coli urinari tract infect clostridi difficil"},
		{"systolic >= 140, diastolic <90, EF <=40%, amnicore pro+", doc, "systol atleast 140 diastol under 90 ef atmost 40 amnicor pro plus"},
		{"Diabetes > type 2 > with > CKD", doc, "diabet type 2 chronic kidney diseas"},
	}
	for _, tt := range tests {
		if got := terms(tt.text, tt.o); got != tt.want {
			t.Errorf("analyze(%q, %+v) = %q, want %q", tt.text, tt.o, got, tt.want)
		}
	}
}

func TestFoldLatin(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{
		{"myocardium", "myocardial"}, {"vertebra", "vertebral"}, {"duodenum", "duodenal"},
		{"humerus", "humeral"}, {"trachea", "tracheal"}, {"ovary", "ovarian"}, {"bacterium", "bacteria"},
		{"kidneys", "kidney"}, {"fractured", "fractures"}, {"infarction", "infarct"},
	}
	for _, p := range pairs {
		if a, b := stemWord(p[0]), stemWord(p[1]); a != b {
			t.Errorf("stemWord(%q) = %q, stemWord(%q) = %q; want equal", p[0], a, p[1], b)
		}
	}
	for _, w := range []string{"arm", "leg", "ear", "eye", "toe"} {
		if got := stemWord(w); got != w {
			t.Errorf("stemWord(%q) = %q, want it unchanged", w, got)
		}
	}
}

func FuzzSearch(f *testing.F) {
	for _, s := range []string{"T2DM w/ CKD", "fx (left) femur, initial", "w/o", "non-", "((([[", "é’s", "a/b/c/", "no not without"} {
		f.Add(s)
	}
	ix := newTestIndex()
	f.Fuzz(func(t *testing.T, q string) {
		rs := ix.Search(q, Options{Limit: 5})
		if len(rs) > 5 {
			t.Fatalf("Search(%q) returned %d results", q, len(rs))
		}
		for _, r := range rs {
			if r.Code == "" || r.Score <= 0 {
				t.Fatalf("Search(%q) returned %+v", q, r)
			}
		}
	})
}

func ExampleIndex_Search() {
	ix := Build([]Doc{
		{System: "icd10cm", Code: "E11.22", Text: "Type 2 diabetes mellitus with diabetic chronic kidney disease", Field: FieldLong, Billable: true},
		{System: "icd10cm", Code: "E11.9", Text: "Type 2 diabetes mellitus without complications", Field: FieldLong, Billable: true},
	})
	for _, r := range ix.Search("T2DM w/ CKD", Options{Limit: 1}) {
		fmt.Printf("%s %s (%s)\n", r.Code, r.Description, r.Evidence)
	}
	// Output: E11.22 Type 2 diabetes mellitus with diabetic chronic kidney disease (Descriptor: Type 2 diabetes mellitus with diabetic chronic kidney disease)
}
