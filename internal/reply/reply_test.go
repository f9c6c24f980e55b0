package reply

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codedesk/codedesk/internal/analysis"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestSubject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		id   int64
		want string
	}{
		{"E11.22?", 7, "Re: E11.22? [Case #7]"},
		{"Re: E11.22? [Case #7]", 7, "Re: E11.22? [Case #7]"},
		{"RE: Fwd: AW: question", 3, "Re: question [Case #3]"},
		{"Re[2]: question [Case #1]", 9, "Re: question [Case #9]"},
		{"", 4, "Re: Your coding question [Case #4]"},
		{"   ", 0, "Re: Your coding question"},
		{"question", 0, "Re: question"},
	}
	for _, tc := range tests {
		if got := Subject(tc.in, tc.id); got != tc.want {
			t.Errorf("Subject(%q, %d) = %q, want %q", tc.in, tc.id, got, tc.want)
		}
	}
}

func TestGreeting(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"Dana Coder":        "Hello Dana,",
		`"Coder, Dana"`:     "Hello Dana,",
		"":                  "Hello,",
		"coder@clinic.test": "Hello,",
		"  Dr.  Lee ":       "Hello Dr. Lee,",
		"Ms Jane Doe":       "Hello Ms Doe,",
		"José":              "Hello José,",
	}
	for in, want := range tests {
		if got := Greeting(in); got != want {
			t.Errorf("Greeting(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWrap(t *testing.T) {
	t.Parallel()
	got := wrap(20, 2, "one two three four five six seven eight")
	want := "one two three four\n  five six seven eight"
	if got != want {
		t.Errorf("wrap() = %q, want %q", got, want)
	}
	for _, line := range strings.Split(wrap(30, 4, strings.Repeat("word ", 40)), "\n") {
		if len(line) > 30+4 {
			t.Errorf("line %q longer than the width", line)
		}
	}
}

func sampleResult() analysis.Result {
	return analysis.Result{
		Kind:       analysis.KindCodeLookup,
		Confidence: 0.95,
		Answer:     `E11.22 (ICD-10-CM) is "Type 2 diabetes mellitus with diabetic chronic kidney disease", a billable code. K0001 (HCPCS Level II) is "Standard wheelchair".`,
		Codes: []analysis.Code{
			{System: "icd10cm", Code: "E11.22", Description: "Type 2 diabetes mellitus with diabetic chronic kidney disease", Role: analysis.RoleAsked, Notes: "billable", Billable: true},
			{System: "hcpcs", Code: "K0001", Description: "Standard wheelchair", Role: analysis.RoleAsked},
			{System: "cpt", Code: "99213", Role: analysis.RoleAsked, Notes: "CPT descriptor needs your AMA licence file"},
		},
		Findings:   []analysis.Finding{{Kind: "use_additional", Summary: "Use an additional code to identify the stage of chronic kidney disease (N18.1-N18.6).", Source: "ICD-10-CM FY2023 Tabular List"}},
		Missing:    []string{"The stage of the chronic kidney disease."},
		Gaps:       []string{"No NCCI PTP edits are loaded."},
		Verify:     []string{"The documentation links the kidney disease to the diabetes."},
		Warnings:   []string{"E11.23 is not a code."},
		References: []string{"HCPCS 2025-Q1", "ICD-10-CM FY2025"},
	}
}

// TestRenderGolden renders a reply with every section and compares both
// bodies with golden files (go test ./internal/reply -update rewrites them).
func TestRenderGolden(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		reviewed bool
		res      analysis.Result
	}{
		{"full_auto", false, sampleResult()},
		{"minimal_reviewed", true, analysis.Result{Kind: analysis.KindOther, Answer: "I could not find a code in your message."}},
	} {
		out, err := r.Render(Data{CaseID: 42, Greeting: "Hello Dana,", Result: tc.res, DeskName: "codedesk coding desk", Reviewed: tc.reviewed})
		if err != nil {
			t.Fatal(err)
		}
		for ext, got := range map[string]string{"txt": out.Text, "html": out.HTML} {
			path := filepath.Join("testdata", tc.name+"."+ext+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s: rendered reply differs from the golden file:\n%s", path, got)
			}
		}
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	res := analysis.Result{Answer: `<script>alert(1)</script>`, Codes: []analysis.Code{{System: "icd10cm", Code: "<b>", Description: `"><img src=x onerror=alert(1)>`}}}
	out, err := r.Render(Data{CaseID: 1, Greeting: "Hello <Dana>,", Result: res})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<img", "<b>", "<Dana>"} {
		if strings.Contains(out.HTML, bad) {
			t.Errorf("HTML body contains unescaped %q", bad)
		}
	}
	if !strings.Contains(out.Text, "<script>alert(1)</script>") {
		t.Errorf("text body should carry the text as written")
	}
}

func TestTextTableColumns(t *testing.T) {
	t.Parallel()
	tbl := textTable(sampleResult().Codes)
	lines := strings.Split(tbl, "\n")
	if !strings.HasPrefix(lines[0], "Code     System     Role        Description") {
		t.Errorf("header = %q", lines[0])
	}
	if !strings.Contains(tbl, "(no descriptor available)") {
		t.Errorf("a code without descriptor is not marked:\n%s", tbl)
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line of %d characters: %q", n, l)
		}
	}
}
