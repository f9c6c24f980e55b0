// Package analysis understands a coding question and gathers the evidence
// for its answer from the code sets: which codes it mentions, what each one
// is at the date of service, and what is missing to answer it. It is
// deterministic: every fact it states names the code-set release it came
// from, and it never cites a code the code sets do not contain.
package analysis

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/codes"
)

// Codebook is the part of the code knowledge base analysis uses;
// *codes.KB implements it.
type Codebook interface {
	Lookup(code string, dos time.Time) []codes.Entry
	Releases() []codes.Release
}

// Question is one question to analyse.
type Question struct {
	CaseID   int64
	Subject  string
	Text     string    // the new text of the latest message
	Thread   []string  // earlier questions of the case, oldest first (context)
	Received time.Time // when it arrived: the default date of service
}

// Engine analyses questions against the code sets. KB is called for every
// question, so a server can swap in a freshly imported snapshot.
type Engine struct {
	KB func() Codebook
}

// NewEngine returns an engine over the code base kb returns.
func NewEngine(kb func() Codebook) *Engine { return &Engine{KB: kb} }

var (
	// A token that may be a code: letters and digits, optionally with one
	// dot (ICD-10-CM written with its dot).
	reToken = regexp.MustCompile(`(?i)\b[A-Z0-9]{3}(?:\.[A-Z0-9]{1,4}|[A-Z0-9]{1,4})?\b`)
	// Words that say the next number is a code.
	reCodeWord = regexp.MustCompile(`(?i)\b(cpt|hcpcs|code|codes|icd|icd-10|icd10|dx|px|bill|billed|billing|report)\b`)
)

// mention is a candidate code found in the text.
type mention struct {
	raw  string
	norm string
	pos  int
}

// mentions finds tokens shaped like ICD-10-CM, HCPCS Level II or CPT codes,
// in order of first appearance.
func mentions(text string) []mention {
	var out []mention
	seen := map[string]bool{}
	for _, loc := range reToken.FindAllStringIndex(text, -1) {
		raw := text[loc[0]:loc[1]]
		n := codes.Normalize(raw)
		if seen[n] {
			continue
		}
		if !(codes.FitsICD10CM(n) || codes.FitsHCPCS(n) || codes.FitsCPT(n)) || len(n) < 3 {
			continue
		}
		// A bare three-letter word ("ICD", "CPT") is not a code.
		if !strings.ContainsAny(n, "0123456789") {
			continue
		}
		seen[n] = true
		out = append(out, mention{raw: raw, norm: n, pos: loc[0]})
	}
	return out
}

// Analyse answers one question.
func (e *Engine) Analyse(ctx context.Context, q Question) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	kb := e.KB()
	dos := q.Received
	if dos.IsZero() {
		dos = time.Now()
	}
	res := Result{Kind: KindOther, DateOfService: dos.Format(time.DateOnly)}
	text := q.Subject + "\n" + q.Text
	loaded := map[codes.System]bool{}
	for _, r := range kb.Releases() {
		loaded[r.System] = true
	}

	var notFound, unchecked []string
	usedReleases := map[string]bool{}
	for _, m := range mentions(text) {
		entries := kb.Lookup(m.norm, dos)
		var hits []codes.Entry
		for _, en := range entries {
			if en.Found {
				hits = append(hits, en)
			}
		}
		if len(hits) == 0 {
			// Only a token written like a code ("E11.22", "K0001") counts as
			// an unknown code — a bare number may be a phone number or ZIP —
			// and only when its code set is loaded.
			if codes.FitsICD10CM(m.norm) && strings.Contains(m.raw, ".") && loaded[codes.ICD10CM] ||
				codes.FitsHCPCS(m.norm) && len(m.norm) == 5 && !isDigit(m.norm[0]) && loaded[codes.HCPCS] {
				notFound = append(notFound, m.raw)
			}
			if codes.FitsICD10CM(m.norm) && strings.Contains(m.raw, ".") && !loaded[codes.ICD10CM] ||
				codes.FitsHCPCS(m.norm) && len(m.norm) == 5 && !isDigit(m.norm[0]) && !loaded[codes.HCPCS] {
				unchecked = append(unchecked, m.raw)
			}
			continue
		}
		for _, en := range hits {
			if en.System == codes.CPT && !cptContext(text, m.pos) && en.Description == "" && !isKnownCPT(en) {
				continue
			}
			c := Code{System: string(en.System), Code: en.Code, Description: en.Description, Role: RoleAsked,
				Billable: en.Billable, Status: en.Status, Release: en.Release}
			c.Notes = codeNotes(en)
			res.Codes = append(res.Codes, c)
			if en.Release != "" {
				usedReleases[en.Release] = true
			}
		}
	}

	switch {
	case len(res.Codes) > 0:
		res.Kind = KindCodeLookup
		res.Kinds = []string{KindCodeLookup}
	case len(strings.TrimSpace(q.Text)) == 0:
		res.Kind = KindNotAQuestion
	}
	for _, nf := range notFound {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s is not a code in the loaded code sets for %s; please check it for a typo.", nf, res.DateOfService))
		res.Findings = append(res.Findings, Finding{Kind: "not_found", Summary: fmt.Sprintf("%s was not found in any loaded code set.", nf)})
	}
	for _, sys := range []codes.System{codes.ICD10CM, codes.HCPCS} {
		if !loaded[sys] {
			res.Gaps = append(res.Gaps, missingCodeSet(sys))
		}
	}
	for r := range usedReleases {
		res.References = append(res.References, r)
	}
	sort.Strings(res.References)
	res.Answer = answer(res, unchecked)
	res.Confidence = confidence(res, len(notFound)+len(unchecked))
	return res, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// cptContext reports whether a word near pos says the number is a code.
func cptContext(text string, pos int) bool {
	start := max(0, pos-40)
	return reCodeWord.MatchString(text[start:pos])
}

// isKnownCPT reports whether a CPT number is known from the public files
// (NCCI, MUE) even without a descriptor.
func isKnownCPT(en codes.Entry) bool { return en.Found && en.Release != "" }

func codeNotes(en codes.Entry) string {
	var notes []string
	switch {
	case en.System == codes.ICD10CM && en.Billable:
		notes = append(notes, "billable")
	case en.System == codes.ICD10CM && !en.Billable:
		notes = append(notes, "header code: not valid for billing; a more specific code is required")
	}
	if en.Status != "" && en.Status != "active" && en.Status != "header" {
		notes = append(notes, en.Status)
	}
	if en.System == codes.CPT && en.Description == "" {
		notes = append(notes, "CPT descriptor needs your AMA licence file (codedesk codes import)")
	}
	return strings.Join(notes, "; ")
}

func missingCodeSet(sys codes.System) string {
	switch sys {
	case codes.ICD10CM:
		return "The ICD-10-CM code set is not loaded on this desk, so ICD-10-CM codes could not be looked up. An administrator can load it with: codedesk codes import icd10cm_order_YYYY.txt (the CMS/CDC order file)."
	case codes.HCPCS:
		return "The HCPCS Level II code set is not loaded on this desk, so HCPCS codes could not be looked up. An administrator can load it with: codedesk codes import HCPCYYYY_…_ANWEB_….txt (the CMS alpha-numeric file)."
	}
	return fmt.Sprintf("The %s code set is not loaded.", sys)
}

func systemLabel(s string) string {
	switch s {
	case "icd10cm":
		return "ICD-10-CM"
	case "hcpcs":
		return "HCPCS Level II"
	case "pcs":
		return "ICD-10-PCS"
	case "cpt":
		return "CPT"
	}
	return s
}

// answer writes the one-paragraph answer that opens the reply.
func answer(res Result, unchecked []string) string {
	if len(res.Codes) == 0 {
		if len(unchecked) > 0 {
			return fmt.Sprintf("I cannot confirm %s yet: the official code set it belongs to is not loaded on this desk, and I do not answer from memory. An administrator can load it (see below); then reply to this email and I will answer.",
				strings.Join(unchecked, ", "))
		}
		return "I could not find a code in your message that I can look up. Please send the code (for example E11.22 or K0001) or describe the diagnosis or service, and I will answer with the official descriptors."
	}
	var parts []string
	for _, c := range res.Codes {
		desc := c.Description
		switch {
		case desc == "" && c.System == "cpt":
			parts = append(parts, fmt.Sprintf("%s is a CPT code; its descriptor is AMA-licensed and is shown once your licensed CPT file is loaded", c.Code))
			continue
		case desc == "":
			desc = "(no descriptor)"
		}
		s := fmt.Sprintf("%s (%s) is \"%s\"", c.Code, systemLabel(c.System), desc)
		if c.System == "icd10cm" {
			if c.Billable {
				s += ", a billable code"
			} else {
				s += ", a header code that is not valid for billing on its own"
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ". ") + "."
}

// confidence is how sure the answer is: high when every code was found and
// nothing is missing, lower for each gap.
func confidence(res Result, notFound int) float64 {
	if len(res.Codes) == 0 {
		return 0.2
	}
	c := 0.95
	c -= 0.15 * float64(notFound)
	if len(res.Missing) > 0 || len(res.Gaps) > 0 {
		c -= 0.1
	}
	for _, code := range res.Codes {
		if code.Description == "" {
			c -= 0.1
		}
	}
	if c < 0.1 {
		c = 0.1
	}
	return c
}
