// Package evalset runs codedesk's answer engine over an evaluation set of
// question emails (testdata/eval: one .eml per case and expected.tsv with
// the expected kind and codes) and reports per-kind accuracy, the recall
// of the expected codes in the top of the answer, and the codes the
// answer cites that the code sets do not hold at the date of service.
package evalset

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/analysis"
	"github.com/codedesk/codedesk/internal/codes"
)

// Case is one evaluation email with what a senior coder would answer.
type Case struct {
	File  string
	Kind  string
	Codes []string // expected codes, best first
	Raw   []byte
}

// MaxCaseBytes caps one evaluation email.
const MaxCaseBytes = 1 << 20

// Load reads dir/expected.tsv and the emails it names.
func Load(dir string) ([]Case, error) {
	f, err := os.Open(filepath.Join(dir, "expected.tsv"))
	if err != nil {
		return nil, fmt.Errorf("opening the evaluation set: %w", err)
	}
	defer f.Close()
	var out []Case
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if strings.TrimSpace(t) == "" || strings.HasPrefix(t, "#") {
			continue
		}
		cols := strings.Split(t, "\t")
		if len(cols) < 2 {
			return nil, fmt.Errorf("expected.tsv line %d: want file, kind and codes separated by tabs", line)
		}
		c := Case{File: cols[0], Kind: cols[1]}
		if len(cols) > 2 && strings.TrimSpace(cols[2]) != "" {
			for _, x := range strings.Split(cols[2], ",") {
				c.Codes = append(c.Codes, strings.TrimSpace(x))
			}
		}
		b, err := os.ReadFile(filepath.Join(dir, c.File))
		if err != nil {
			return nil, fmt.Errorf("expected.tsv line %d: %w", line, err)
		}
		if len(b) > MaxCaseBytes {
			return nil, fmt.Errorf("expected.tsv line %d: %s is larger than %d bytes", line, c.File, MaxCaseBytes)
		}
		c.Raw = b
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading expected.tsv: %w", err)
	}
	return out, nil
}

// Outcome is the engine's answer to one case.
type Outcome struct {
	Case       Case
	Kind       string
	Codes      []string // the answer's codes, best first
	Missed     []string // expected codes not in the top of the answer
	Invented   []string // codes cited that do not exist or are not valid at the date of service
	Confidence float64
	Took       time.Duration
	Err        error
}

// Report sums up a run.
type Report struct {
	Outcomes []Outcome
	// PerKind counts, per expected kind, the cases and those classified
	// right.
	PerKind  map[string][2]int
	Cases    int
	KindOK   int
	Expected int // expected codes
	Recalled int // expected codes found in the top max(3, n) of the answer
	Invented int
}

// KindAccuracy is the share of cases whose kind was right.
func (r Report) KindAccuracy() float64 { return ratio(r.KindOK, r.Cases) }

// Recall is the share of expected codes found in the top of the answer.
func (r Report) Recall() float64 { return ratio(r.Recalled, r.Expected) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// Draft answers one raw message (queue.DraftMessage in practice).
type Draft func(ctx context.Context, raw []byte) (analysis.Result, error)

// Lookup is the knowledge base's Lookup (to check every cited code).
type Lookup func(code string, dos time.Time) []codes.Entry

// Run answers every case and scores the answers.
func Run(ctx context.Context, draft Draft, lookup Lookup, cases []Case) Report {
	rep := Report{PerKind: map[string][2]int{}}
	for _, c := range cases {
		start := time.Now()
		res, err := draft(ctx, c.Raw)
		o := Outcome{Case: c, Kind: res.Kind, Confidence: res.Confidence, Took: time.Since(start), Err: err}
		dos, _ := time.Parse(time.DateOnly, res.DateOfService)
		for _, code := range res.Codes {
			o.Codes = append(o.Codes, code.Code)
			if !cited(lookup, code, dos) {
				o.Invented = append(o.Invented, code.Code)
			}
		}
		top := max(3, len(c.Codes))
		for _, want := range c.Codes {
			found := false
			for i, got := range o.Codes {
				if i < top && codes.Normalize(got) == codes.Normalize(want) {
					found = true
				}
			}
			if !found {
				o.Missed = append(o.Missed, want)
			}
		}
		pk := rep.PerKind[c.Kind]
		pk[0]++
		if o.Kind == c.Kind {
			pk[1]++
			rep.KindOK++
		}
		rep.PerKind[c.Kind] = pk
		rep.Cases++
		rep.Expected += len(c.Codes)
		rep.Recalled += len(c.Codes) - len(o.Missed)
		rep.Invented += len(o.Invented)
		rep.Outcomes = append(rep.Outcomes, o)
	}
	return rep
}

// cited reports whether a code in an answer is a real code: it exists in
// its system, and a code the desk suggests is valid at the date of
// service.
func cited(lookup Lookup, c analysis.Code, dos time.Time) bool {
	for _, en := range lookup(c.Code, dos) {
		if !en.Found || string(en.System) != c.System {
			continue
		}
		if c.Role == analysis.RoleAsked {
			return true
		}
		return en.Status == "active" && (en.Billable || en.System == codes.HCPCS || en.System == codes.CPT)
	}
	return false
}

// Write prints the report: per-kind accuracy, recall, invented codes, and
// every case that missed.
func (r Report) Write(w io.Writer, verbose bool) {
	kinds := make([]string, 0, len(r.PerKind))
	for k := range r.PerKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "%-20s %6s %8s\n", "kind", "cases", "correct")
	for _, k := range kinds {
		pk := r.PerKind[k]
		fmt.Fprintf(w, "%-20s %6d %7.1f%%\n", k, pk[0], 100*ratio(pk[1], pk[0]))
	}
	fmt.Fprintf(w, "\nkind accuracy      %5.1f%% (%d/%d; target ≥ 95%%)\n", 100*r.KindAccuracy(), r.KindOK, r.Cases)
	fmt.Fprintf(w, "code recall@3      %5.1f%% (%d/%d expected codes in the top max(3, n) of the answer; target ≥ 90%%)\n", 100*r.Recall(), r.Recalled, r.Expected)
	fmt.Fprintf(w, "invented codes     %d (target 0)\n", r.Invented)
	var took []time.Duration
	for _, o := range r.Outcomes {
		took = append(took, o.Took)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	if len(took) > 0 {
		fmt.Fprintf(w, "draft time         p50 %v, max %v\n", took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	}
	first := true
	for _, o := range r.Outcomes {
		bad := o.Kind != o.Case.Kind || len(o.Missed) > 0 || len(o.Invented) > 0 || o.Err != nil
		if !bad && !verbose {
			continue
		}
		if first {
			fmt.Fprintf(w, "\n%-32s %-18s %-18s %s\n", "case", "expected", "got", "codes (missed / invented)")
			first = false
		}
		fmt.Fprintf(w, "%-32s %-18s %-18s %s", o.Case.File, o.Case.Kind, o.Kind, strings.Join(o.Codes, ","))
		if len(o.Missed) > 0 {
			fmt.Fprintf(w, "  missed %s", strings.Join(o.Missed, ","))
		}
		if len(o.Invented) > 0 {
			fmt.Fprintf(w, "  INVENTED %s", strings.Join(o.Invented, ","))
		}
		if o.Err != nil {
			fmt.Fprintf(w, "  error: %v", o.Err)
		}
		fmt.Fprintln(w)
	}
}
