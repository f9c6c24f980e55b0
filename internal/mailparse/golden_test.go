package mailparse

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// corpusOptions are the options the corpus is parsed with.
var corpusOptions = Options{OwnAddresses: []string{"desk@codedesk.test"}}

// goldenResult is what a golden file records for one .eml.
type goldenResult struct {
	Message *Message `json:"message"`
	NewText struct {
		Question  string `json:"question"`
		Quoted    string `json:"quoted"`
		Signature string `json:"signature"`
	} `json:"new_text"`
}

// corpus returns the paths of the synthetic .eml files.
func corpus(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus in testdata: %v", err)
	}
	return files
}

func renderGolden(t *testing.T, raw []byte) []byte {
	t.Helper()
	m, err := Parse(raw, corpusOptions)
	if err != nil {
		t.Fatalf("Parse() error = %v, want nil", err)
	}
	var g goldenResult
	g.Message = m
	g.NewText.Question, g.NewText.Quoted, g.NewText.Signature = NewText(m.Text)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(g); err != nil {
		t.Fatalf("encoding result: %v", err)
	}
	return buf.Bytes()
}

// TestGolden parses every corpus message and compares the result with its
// golden file. Run "go test ./internal/mailparse -run TestGolden -update"
// to refresh the golden files after an intended change, and review the diff.
func TestGolden(t *testing.T) {
	t.Parallel()
	for _, path := range corpus(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".eml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := renderGolden(t, raw)
			golden := strings.TrimSuffix(path, ".eml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Parse(%s) differs from %s (run with -update and review the diff):\n%s", filepath.Base(path), filepath.Base(golden), firstDiff(string(got), string(want)))
			}
		})
	}
}

// firstDiff describes the first differing line of two texts.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return "(no line differs)"
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
