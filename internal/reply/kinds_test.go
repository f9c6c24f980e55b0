package reply

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codedesk/codedesk/internal/analysis"
)

// TestRenderEachKind renders a stored analysis of each kind of question
// (testdata/results/<kind>.json, written by codedesk draft --json on the
// evaluation set) and compares the text and HTML bodies with golden files
// (go test ./internal/reply -update rewrites them).
func TestRenderEachKind(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("testdata/results/*.json")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, f := range files {
		kind := strings.TrimSuffix(filepath.Base(f), ".json")
		kinds[kind] = true
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var res analysis.Result
			if err := json.Unmarshal(b, &res); err != nil {
				t.Fatal(err)
			}
			if res.Kind != kind {
				t.Fatalf("%s holds kind %q", f, res.Kind)
			}
			out, err := r.Render(Data{CaseID: 42, Greeting: "Hello Dana,", Result: res, Reviewed: true})
			if err != nil {
				t.Fatalf("Render() error = %v", err)
			}
			for _, g := range []struct{ ext, got string }{{"txt", out.Text}, {"html", out.HTML}} {
				path := filepath.Join("testdata", "kinds", kind+"."+g.ext+".golden")
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(g.got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if g.got != string(want) {
					t.Errorf("Render(%s).%s differs from %s:\n%s", kind, g.ext, path, g.got)
				}
			}
			// The answer comes first, then the codes, then the disclaimer.
			a, c, d := strings.Index(out.Text, firstWords(res.Answer)), strings.Index(out.Text, "CODES"), strings.Index(out.Text, "This answer rests on")
			if a < 0 || d < 0 || c >= 0 && !(a < c && c < d) {
				t.Errorf("Render(%s) order: answer %d, codes %d, disclaimer %d", kind, a, c, d)
			}
			for _, code := range res.Codes {
				if !strings.Contains(out.Text, code.Code) || !strings.Contains(out.HTML, code.Code) {
					t.Errorf("Render(%s) lacks code %s", kind, code.Code)
				}
			}
		})
	}
	for _, k := range []string{analysis.KindCodeLookup, analysis.KindDiagnosisCoding, analysis.KindHCPCSCoding, analysis.KindNCCIPairCheck,
		analysis.KindMUECheck, analysis.KindModifierQuestion, analysis.KindExcludesConflict, analysis.KindSeventhCharacter,
		analysis.KindNotAQuestion, analysis.KindOther} {
		if !kinds[k] {
			t.Errorf("no stored result for kind %s in testdata/results", k)
		}
	}
}

func firstWords(s string) string {
	w := strings.Fields(s)
	return strings.Join(w[:min(3, len(w))], " ")
}
