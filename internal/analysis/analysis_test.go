package analysis

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/dbtest"
)

// fixtureKB loads the codes package's small official-format fixtures.
func fixtureKB(t *testing.T, files ...string) *codes.KB {
	t.Helper()
	ctx := context.Background()
	db := dbtest.SQLite(t)
	var paths []string
	for _, f := range files {
		paths = append(paths, "../codes/testdata/"+f)
	}
	if len(paths) > 0 {
		if _, err := codes.Import(ctx, db, paths, codes.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	kb, err := codes.Load(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	return kb
}

var dos = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func TestMentions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want []string
	}{
		{"What is E11.22 and e1122 again?", []string{"E1122"}},
		{"HCPCS K0001 with J2405", []string{"K0001", "J2405"}},
		{"CPT 99213, 0001U and 1234F", []string{"99213", "0001U", "1234F"}},
		{"call me at ICD or CPT", nil},
	}
	for _, tc := range tests {
		var got []string
		for _, m := range mentions(tc.text) {
			got = append(got, m.norm)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("mentions(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestAnalyseLooksUpMentionedCodes(t *testing.T) {
	t.Parallel()
	kb := fixtureKB(t, "icd10cm_order_2025.txt", "HCPC2025_JAN_ANWEB_fixture.txt", "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv")
	e := NewEngine(func() Codebook { return kb })
	res, err := e.Analyse(context.Background(), Question{
		Subject:  "quick one",
		Text:     "What is E11.22? Also K0001. Call 555-12345 or write to 90210. CPT 99213 too. And E11.99?",
		Received: dos,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != KindCodeLookup {
		t.Errorf("Kind = %q, want %q", res.Kind, KindCodeLookup)
	}
	var got []string
	for _, c := range res.Codes {
		got = append(got, c.System+":"+c.Code)
		if c.Role != RoleAsked {
			t.Errorf("%s role = %q", c.Code, c.Role)
		}
	}
	// The phone number and the ZIP code are not codes; 99213 is (a CPT
	// number the MUE table knows, introduced by "CPT").
	if want := "icd10cm:E11.22,hcpcs:K0001,cpt:99213"; strings.Join(got, ",") != want {
		t.Errorf("codes = %v, want %s", got, want)
	}
	if res.Codes[0].Description != "Type 2 diabetes mellitus with diabetic chronic kidney disease" || !res.Codes[0].Billable {
		t.Errorf("E11.22 = %+v", res.Codes[0])
	}
	if !strings.Contains(res.Codes[2].Notes, "AMA licence") {
		t.Errorf("CPT note = %q, want the licence explained", res.Codes[2].Notes)
	}
	if !strings.Contains(strings.Join(res.Warnings, " "), "E11.99 is not a code") {
		t.Errorf("warnings = %v, want E11.99 reported as unknown", res.Warnings)
	}
	if len(res.References) == 0 || res.Confidence <= 0 || res.Confidence >= 1 {
		t.Errorf("references %v, confidence %v", res.References, res.Confidence)
	}
	if !strings.HasPrefix(res.Answer, `E11.22 (ICD-10-CM) is "Type 2 diabetes`) {
		t.Errorf("answer = %q", res.Answer)
	}
}

func TestAnalyseWithoutCodeSets(t *testing.T) {
	t.Parallel()
	kb := fixtureKB(t)
	res, err := NewEngine(func() Codebook { return kb }).Analyse(context.Background(), Question{Text: "What is E11.22 and K0001?", Received: dos})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Codes) != 0 || len(res.Warnings) != 0 {
		t.Errorf("codes %v, warnings %v: nothing can be said without code sets", res.Codes, res.Warnings)
	}
	if len(res.Gaps) != 2 || !strings.Contains(res.Answer, "I cannot confirm E11.22, K0001 yet") {
		t.Errorf("gaps %v, answer %q", res.Gaps, res.Answer)
	}
}

func TestAnalyseNotAQuestion(t *testing.T) {
	t.Parallel()
	kb := fixtureKB(t)
	res, _ := NewEngine(func() Codebook { return kb }).Analyse(context.Background(), Question{Text: "  \n", Received: dos})
	if res.Kind != KindNotAQuestion {
		t.Errorf("Kind = %q, want %q", res.Kind, KindNotAQuestion)
	}
}

// FuzzMentions checks that code extraction never panics and only returns
// tokens shaped like codes.
func FuzzMentions(f *testing.F) {
	for _, s := range []string{"E11.22 K0001 99213", "e11.22.33", "0001U 1234F 0042T", "Z79.899 ...", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, m := range mentions(s) {
			if !(codes.FitsICD10CM(m.norm) || codes.FitsHCPCS(m.norm) || codes.FitsCPT(m.norm) || codes.FitsPCS(m.norm)) {
				t.Errorf("mention %q is not shaped like a code", m.norm)
			}
		}
	})
}
