package analysis

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/codes"
)

func TestMentionsSkipNoise(t *testing.T) {
	t.Parallel()
	text := "MRN 7734512, ZIP 60614, phone 312-555-0199, balance $125.00, DOS 03/01/2025, Portland, OR 97205, 40 mg. Is J44.1 billable with 99213-25?"
	var got []string
	for _, m := range mentions(text) {
		got = append(got, m.norm)
	}
	if want := []string{"J441", "99213"}; !slices.Equal(got, want) {
		t.Errorf("mentions() = %v, want %v", got, want)
	}
}

func TestExtractFacts(t *testing.T) {
	t.Parallel()
	recv := time.Date(2025, 3, 20, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		text string
		want Facts
	}{
		{"Medicare pt, DOS 3/6/2025, office visit 99213-25 and 20610 RT, 2 units", Facts{DateOfService: "2025-03-06", Setting: "professional", Payer: "medicare", Units: 2, Modifiers: []string{"25", "RT"}, Laterality: "right"}},
		{"hospital outpatient claim for Aetna, modifier 59 or XS? seen March 4, 2025 for follow-up, routine healing, left wrist", Facts{DateOfService: "2025-03-04", Setting: "facility", Payer: "commercial", Modifiers: []string{"59", "XS"}, Encounter: "subsequent", Healing: "routine", Laterality: "left"}},
		{"open fracture, initial ED visit; modifier on the E/M?", Facts{Encounter: "initial", Open: true}},
		{"sequela of an old burn", Facts{Encounter: "sequela"}},
	}
	for _, tc := range tests {
		got, _ := extractFacts(tc.text, recv)
		if got.DateOfService != tc.want.DateOfService || got.Setting != tc.want.Setting || got.Payer != tc.want.Payer ||
			got.Units != tc.want.Units || !slices.Equal(got.Modifiers, tc.want.Modifiers) || got.Encounter != tc.want.Encounter ||
			got.Healing != tc.want.Healing || got.Open != tc.want.Open || got.Laterality != tc.want.Laterality {
			t.Errorf("extractFacts(%q) = %+v, want %+v", tc.text, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	clin := func(v float64) func() float64 { return func() float64 { return v } }
	tests := []struct {
		name string
		s    signals
		want string
	}{
		{"empty", signals{lower: " ", clinical: clin(0)}, KindNotAQuestion},
		{"thanks", signals{lower: "thanks, got it!", clinical: clin(0)}, KindNotAQuestion},
		{"thanks with a code in the subject", signals{lower: "e11.22\nthanks so much", nCodes: 1, nDx: 1, clinical: clin(0)}, KindNotAQuestion},
		{"seventh", signals{lower: "s52.531 which 7th character?", nCodes: 1, nDx: 1, question: true, clinical: clin(0)}, KindSeventhCharacter},
		{"excludes", signals{lower: "can i code e11.9 together with e10.9?", nCodes: 2, nDx: 2, question: true, clinical: clin(0)}, KindExcludesConflict},
		{"modifier", signals{lower: "do i need modifier 25 on 99213 with 20610?", nCodes: 2, nProc: 2, modifiers: []string{"25"}, question: true, clinical: clin(0)}, KindModifierQuestion},
		{"pair", signals{lower: "can 93000 and 93005 be billed together?", nCodes: 2, nProc: 2, question: true, clinical: clin(0)}, KindNCCIPairCheck},
		{"units", signals{lower: "what is the mue for j3420?", nCodes: 1, nProc: 1, question: true, clinical: clin(0)}, KindMUECheck},
		{"lookup", signals{lower: "what is j3420?", nCodes: 1, nProc: 1, question: true, clinical: clin(0)}, KindCodeLookup},
		{"lookup with units", signals{lower: "descriptor for cpt 99214 and is there a unit limit?", nCodes: 1, nProc: 1, question: true, clinical: clin(0)}, KindCodeLookup},
		{"hcpcs", signals{lower: "hcpcs code for a standard wheelchair?", question: true, clinical: clin(0.9)}, KindHCPCSCoding},
		{"drug", signals{lower: "what code for methylprednisolone 40 mg injection?", question: true, clinical: clin(0.4)}, KindHCPCSCoding},
		{"diagnosis", signals{lower: "icd-10 code for essential hypertension?", question: true, clinical: clin(0.9)}, KindDiagnosisCoding},
		{"not clinical", signals{lower: "what are your support hours?", question: true, clinical: clin(0.2)}, KindOther},
	}
	for _, tc := range tests {
		if got := classify(tc.s); got != tc.want {
			t.Errorf("classify(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestCodeRefs(t *testing.T) {
	t.Parallel()
	refs := parseRefs("code to identify stage of chronic kidney disease (N18.1-N18.6) or gestational diabetes (O24.4-) and insulin (Z79.4)")
	if len(refs) != 3 {
		t.Fatalf("parseRefs() = %v, want 3 refs", refs)
	}
	for code, want := range map[string]bool{"N18.31": true, "N18.6": true, "N18.9": false, "O24.410": true, "Z79.4": true, "Z79.84": false} {
		if got := covered(refs, code); got != want {
			t.Errorf("covered(%s) = %v, want %v", code, got, want)
		}
	}
	if got := nextCategory("N18"); got != "N19" {
		t.Errorf("nextCategory(N18) = %q", got)
	}
	if got := nextCategory("E09"); got != "E10" {
		t.Errorf("nextCategory(E09) = %q", got)
	}
}

func TestAnalyseKindsOnFixtures(t *testing.T) {
	t.Parallel()
	kb := fixtureKB(t, "icd10cm_order_2025.txt", "HCPC2025_JAN_ANWEB_fixture.txt", "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv", "ccipra-v321r0-f1.txt", "icd10cm_tabular_fixture_2023.xml")
	e := NewEngine(func() Codebook { return kb })
	when := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		text     string
		kind     string
		code     string
		contains string
	}{
		{"Can we bill 29881 and 29877 together?", KindNCCIPairCheck, "29881", "no modifier"},
		{"How many units of J2405 can we bill per day? We gave 80 units.", KindMUECheck, "J2405", "exceed"},
		{"What is K0001?", KindCodeLookup, "K0001", "Standard wheelchair"},
		{"How many units of J2405 per day? We gave 8 mg.", KindMUECheck, "J2405", "8 mg is 8 unit(s)"},
		{"Is there an Excludes1 conflict between E11.9 and E10.9?", KindExcludesConflict, "E11.9", ""},
		{"What are your opening hours?", KindOther, "", "staff"},
		// A number asked about as a code that no loaded table has is a
		// deleted or mistyped code, not noise: the pair cannot be checked.
		{"Can 22520 and 29881 be billed together?", KindNCCIPairCheck, "29881", "22520 is not in the loaded NCCI tables"},
		// The same shape without billing words near it is not a code.
		{"Suite 40123 here, what is K0001?", KindCodeLookup, "K0001", "Standard wheelchair"},
	}
	for _, tc := range tests {
		res, err := e.Analyse(context.Background(), Question{Text: tc.text, Received: when})
		if err != nil {
			t.Fatal(err)
		}
		if res.Kind != tc.kind {
			t.Errorf("Analyse(%q).Kind = %q, want %q", tc.text, res.Kind, tc.kind)
		}
		if tc.code != "" && (len(res.Codes) == 0 || res.Codes[0].Code != tc.code) {
			t.Errorf("Analyse(%q).Codes = %+v, want %s first", tc.text, res.Codes, tc.code)
		}
		if tc.contains != "" && !strings.Contains(res.Answer, tc.contains) {
			t.Errorf("Analyse(%q).Answer = %q, want it to contain %q", tc.text, res.Answer, tc.contains)
		}
		if res.Confidence <= 0 || res.Confidence >= 1 {
			t.Errorf("Analyse(%q).Confidence = %v", tc.text, res.Confidence)
		}
	}
}

// FuzzExtract checks that fact extraction and narrative cleaning never
// panic, whatever the text.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{"DOS 13/45/2025 modifier 25/59 x3 units", "J1885 30 mg per 15 mg", "\xff\x00 mod", "stage 3a (N18.1-N18.6)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		extractFacts(s, time.Time{})
		narrative(s)
		clauses(s)
		for _, r := range parseRefs(s) {
			_ = r.covers("E11.22")
		}
	})
}

// TestAnalyseAnswersEachQuestion answers a HCPCS question asked beside a
// code lookup in the same email.
func TestAnalyseAnswersEachQuestion(t *testing.T) {
	t.Parallel()
	kb := fixtureKB(t, "icd10cm_order_2025.txt", "HCPC2025_JAN_ANWEB_fixture.txt")
	res, err := NewEngine(func() Codebook { return kb }).Analyse(context.Background(), Question{
		Text: "Is E11.22 billable? Also, which HCPCS code do we use for a standard wheelchair?", Received: dos})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range res.Codes {
		got = append(got, c.Code+"/"+c.Role)
	}
	if res.Kind != KindCodeLookup || !slices.Contains(res.Kinds, KindHCPCSCoding) || !slices.Contains(got, "E11.22/asked") || !slices.Contains(got, "K0001/suggested") {
		t.Errorf("Analyse() kind %q kinds %v codes %v, want the lookup and the HCPCS suggestion", res.Kind, res.Kinds, got)
	}
}

func TestDecidingQuestion(t *testing.T) {
	t.Parallel()
	got := decidingQuestion([]codes.Ref{
		{Code: "E11.21", Description: "Type 2 diabetes mellitus with diabetic nephropathy"},
		{Code: "E11.22", Description: "Type 2 diabetes mellitus with diabetic chronic kidney disease"},
		{Code: "E11.29", Description: "Type 2 diabetes mellitus with other diabetic kidney complication"},
	})
	want := "does it document diabetic nephropathy (E11.21), diabetic chronic kidney disease (E11.22) or other diabetic kidney complication (E11.29)?"
	if got != want {
		t.Errorf("decidingQuestion() = %q, want %q", got, want)
	}
}

func TestFollowUpAndThread(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]bool{
		"And if the nephrologist now says stage 4?":      true,
		"What about the left side?":                      true,
		"How do I code type 2 diabetes with CKD 3b?":     false,
		"and " + strings.Repeat("word ", 40) + "please?": false,
	} {
		if got := isFollowUp(body); got != want {
			t.Errorf("isFollowUp(%q) = %v, want %v", body, got, want)
		}
	}
	got := cleanThread("On Tue, Mar 11, 2025 at 9:02 AM Dana <d@x.test> wrote:\n> How do I code T2DM with CKD 3b?\n>> older\n-----Original Message-----\nFrom: Desk\nSent: Monday\nSubject: Re: x\n\nBody line")
	if want := "How do I code T2DM with CKD 3b?\nolder\nBody line"; got != want {
		t.Errorf("cleanThread() = %q, want %q", got, want)
	}
}
