// Package analysis understands a coding question and gathers the evidence
// for its answer from the code sets: which codes it mentions, what each one
// is at the date of service, the NCCI and MUE edits and Tabular notes that
// decide it, codes for a narrative through the Alphabetic Index and the
// Tabular List, and what is missing to answer it. It is deterministic:
// every fact it states names the code-set release it came from, and it
// never cites a code the code sets do not contain at the date of service.
package analysis

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/codes/search"
)

// Codebook is the part of the code knowledge base analysis uses;
// *codes.KB implements it.
type Codebook interface {
	Lookup(code string, dos time.Time) []codes.Entry
	Releases() []codes.Release
	Check(ctx context.Context, codes []string, dos time.Time) (codes.CheckResult, error)
	SearchIndex(dos time.Time) *search.Index
}

// Question is one question to analyse.
type Question struct {
	CaseID   int64
	Subject  string
	Text     string    // the new text of the latest message
	Thread   []string  // earlier messages of the case (or the quoted thread), oldest first: context
	Received time.Time // when it arrived: the date of service when the question gives none
}

// Engine analyses questions against the code sets. KB is called for every
// question, so a server can swap in a freshly imported snapshot.
type Engine struct {
	KB func() Codebook
}

// NewEngine returns an engine over the code base kb returns.
func NewEngine(kb func() Codebook) *Engine { return &Engine{KB: kb} }

// hit is a mentioned code found in the code sets.
type hit struct {
	m       mention
	entry   codes.Entry
	thread  bool // found in the earlier messages, not the new text
	isProc  bool
	isDx    bool
	isMod   bool
	isPCS   bool
	subject bool // in the subject line only
	invalid bool // found, but not valid at the date of service
}

// run is the state of one analysis.
type run struct {
	ctx  context.Context
	kb   Codebook
	dos  time.Time
	text string // subject and new text
	// subjectLen is the length of the subject at the start of text.
	subjectLen int
	thread     string
	facts      Facts
	loaded     map[codes.System]bool
	hits       []hit
	res        Result
	releases   map[string]bool
	warned     map[string]bool
	clinical   float64
	clinDone   bool
	cands      map[string][]search.Result // narrative search results by system and text
	// unknownProcs are CPT-shaped numbers asked about in billing context
	// ("can 22520 and 20225 be billed together") that no loaded table has:
	// reported as not found and counted as procedures when classifying.
	unknownProcs []string
}

var reSubjectPrefix = regexp.MustCompile(`(?i)^\s*((re|aw|sv|fw|fwd|wg)\s*(\[\d+\])?\s*:\s*)+`)

// Analyse answers one question.
func (e *Engine) Analyse(ctx context.Context, q Question) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	r := &run{ctx: ctx, kb: e.KB(), releases: map[string]bool{}, warned: map[string]bool{}, loaded: map[codes.System]bool{}}
	r.res = Result{Kind: KindOther}
	body := q.Text
	if len(body) > MaxQuestionBytes {
		body = body[:MaxQuestionBytes]
		r.warn(fmt.Sprintf("Your message is long; only its first %d KB were read.", MaxQuestionBytes>>10))
	}
	subject := reSubjectPrefix.ReplaceAllString(q.Subject, "")
	subject = regexp.MustCompile(`\s*\[Case #\d+\]`).ReplaceAllString(subject, "")
	subject = strings.TrimSpace(subject)
	r.subjectLen = len(subject)
	r.text = subject + "\n" + strings.TrimSpace(body)
	r.thread = cleanThread(strings.Join(q.Thread, "\n"))
	if len(r.thread) > MaxQuestionBytes {
		r.thread = r.thread[len(r.thread)-MaxQuestionBytes:]
	}
	received := q.Received
	if received.IsZero() {
		received = time.Now()
	}
	var dos time.Time
	r.facts, dos = extractFacts(r.text, received)
	if dos.IsZero() && r.thread != "" {
		if d, ok := dateOfService(r.thread, received); ok {
			dos, r.facts.DateOfService = d, d.Format(time.DateOnly)
		}
	}
	if dos.IsZero() {
		dos = time.Date(received.Year(), received.Month(), received.Day(), 0, 0, 0, 0, time.UTC)
	}
	r.dos = dos
	r.res.DateOfService = dos.Format(time.DateOnly)
	r.res.Facts = r.facts
	for _, rel := range r.kb.Releases() {
		r.loaded[rel.System] = true
		if rel.System == "ncci" {
			r.loaded[codes.CPT] = true
		}
	}

	notFound, unchecked := r.findCodes(r.text, false)
	sig := r.signals(r.text, false)
	kind := classify(sig)
	if r.thread != "" && (kind == KindOther || len(r.hits) == 0 && kind != KindNotAQuestion && kind != KindHCPCSCoding && kind != KindDiagnosisCoding) {
		// A follow-up ("and the left side?", "which modifier then?") is
		// understood with the earlier messages of the case.
		nf, un := r.findCodes(r.thread, true)
		notFound, unchecked = append(notFound, nf...), append(unchecked, un...)
		combined := r.text + "\n" + r.thread
		sig = r.signals(combined, true)
		if k := classify(sig); k != KindOther && k != KindNotAQuestion {
			kind = k
		}
	}
	if kind == KindNotAQuestion && sig.question {
		kind = KindOther
	}
	r.res.Kind = kind
	r.res.Kinds = []string{kind}
	if r.facts.DateOfService == "" && kind != KindNotAQuestion && kind != KindOther {
		r.warn(fmt.Sprintf("No date of service was given; I answered for %s, the date of your message. Tell me the date of service if it differs.", r.res.DateOfService))
	}

	for _, nf := range notFound {
		r.warn(fmt.Sprintf("%s is not a code in the loaded code sets for %s; please check it for a typo.", nf, r.res.DateOfService))
		r.res.Findings = append(r.res.Findings, Finding{Kind: "not_found", Summary: fmt.Sprintf("%s was not found in any loaded code set.", nf)})
	}
	for _, sys := range []codes.System{codes.ICD10CM, codes.HCPCS} {
		if !r.loaded[sys] {
			r.res.Gaps = append(r.res.Gaps, missingCodeSet(sys))
		}
	}

	var paragraph []string
	switch kind {
	case KindNotAQuestion:
		paragraph = append(paragraph, "I did not find a coding question in your message, so there is nothing to answer yet. If you meant to ask something, reply with the code or the case and your question.")
	case KindOther:
		r.addAsked()
		if len(r.res.Codes) > 0 {
			paragraph = append(paragraph, r.lookupAnswer()...)
		} else if len(unchecked) > 0 {
			paragraph = append(paragraph, fmt.Sprintf("I cannot confirm %s yet: the official code set it belongs to is not loaded on this desk, and I do not answer from memory. An administrator can load it (see below); then reply to this email and I will answer.", strings.Join(unchecked, ", ")))
		} else {
			paragraph = append(paragraph, "This desk answers coding questions from the official code sets (ICD-10-CM, ICD-10-PCS, HCPCS Level II, NCCI edits and MUEs). Your message does not ask about a code or a case I can look up, so a member of staff will answer it personally.")
		}
	case KindCodeLookup:
		r.addAsked()
		paragraph = append(paragraph, r.lookupAnswer()...)
		if r.hasProc() {
			r.mueFindings(false)
		}
	case KindDiagnosisCoding:
		r.addAsked()
		paragraph = append(paragraph, r.diagnosis()...)
	case KindHCPCSCoding:
		r.addAsked()
		paragraph = append(paragraph, r.hcpcs()...)
	case KindSeventhCharacter:
		paragraph = append(paragraph, r.seventh()...)
	case KindExcludesConflict:
		r.addAsked()
		paragraph = append(paragraph, r.check(kind)...)
	case KindNCCIPairCheck, KindMUECheck, KindModifierQuestion:
		r.addAsked()
		paragraph = append(paragraph, r.check(kind)...)
		if kind == KindModifierQuestion {
			paragraph = append(paragraph, r.modifierAnswer()...)
		}
	}
	paragraph = append(paragraph, r.otherAsks(kind)...)
	if len(r.res.Codes) == 0 && len(unchecked) > 0 && kind != KindOther {
		paragraph = append(paragraph, fmt.Sprintf("I cannot confirm %s: its code set is not loaded on this desk.", strings.Join(unchecked, ", ")))
	}
	for _, c := range r.res.Codes {
		if c.System == string(codes.CPT) && c.Description == "" {
			r.res.Gaps = append(r.res.Gaps, "CPT descriptors are the AMA's and no licensed CPT file is loaded on this desk: CPT codes are identified by number from the NCCI tables, without their descriptors. An administrator can import your licensed CPT file (codedesk codes import).")
			break
		}
	}
	r.res.Answer = strings.Join(paragraph, " ")
	for rel := range r.releases {
		r.res.References = append(r.res.References, rel)
	}
	sort.Strings(r.res.References)
	r.res.Confidence = r.confidence(len(notFound) + len(unchecked))
	r.res.Kinds = dedupe(r.res.Kinds)
	return r.res, nil
}

var (
	reAttribution = regexp.MustCompile(`(?i)^(?:on .{0,200}wrote:?|.{0,100} wrote:|-+\s*original message\s*-+|(?:from|sent|to|cc|subject|date):.*)$`)
	reQuoteMarks  = regexp.MustCompile(`^(?:\s*>)+\s?`)
)

// cleanThread keeps the words of earlier messages: quote marks,
// attribution lines ("On … wrote:") and header blocks are dropped.
func cleanThread(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(reQuoteMarks.ReplaceAllString(l, ""))
		if l == "" || reAttribution.MatchString(l) {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// otherAsks answers the further questions of a message about codes: a
// sentence without a code that asks for a HCPCS or diagnosis code ("Is
// E11.9 billable? Also, which HCPCS for a standard wheelchair?").
func (r *run) otherAsks(kind string) []string {
	switch kind {
	case KindCodeLookup, KindNCCIPairCheck, KindMUECheck, KindExcludesConflict, KindModifierQuestion:
	default:
		return nil
	}
	var out []string
	body := r.text[min(len(r.text), r.subjectLen):]
	for _, sent := range reAsk.FindAllString(body, -1) {
		if len(mentions(sent)) > 0 {
			continue
		}
		r.clinDone = false
		sig := signals{lower: strings.ToLower(sent), question: true}
		sig.clinical = func() float64 {
			if res := r.candidates(sent, "icd10cm"); len(res) > 0 {
				return res[0].Score
			}
			return 0
		}
		switch classify(sig) {
		case KindHCPCSCoding:
			out = append(out, r.hcpcsOf(sent)...)
			r.res.Kinds = append(r.res.Kinds, KindHCPCSCoding)
		case KindDiagnosisCoding:
			out = append(out, r.diagnosisOf(sent, false)...)
			r.res.Kinds = append(r.res.Kinds, KindDiagnosisCoding)
		}
	}
	return out
}

// reAsk finds the questions of a text: sentences that end with "?".
var reAsk = regexp.MustCompile(`[^.?!\n]+\?`)

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// warn adds a warning once.
func (r *run) warn(w string) {
	if !r.warned[w] {
		r.warned[w] = true
		r.res.Warnings = append(r.res.Warnings, w)
	}
}

func (r *run) use(release string) {
	if release != "" {
		r.releases[release] = true
	}
}

// findCodes looks up every code-shaped token of text; it returns the
// tokens written like codes that no loaded code set has (notFound) and
// those whose code set is not loaded (unchecked).
func (r *run) findCodes(text string, thread bool) (notFound, unchecked []string) {
	seen := map[string]bool{}
	for _, h := range r.hits {
		seen[h.m.norm] = true
	}
	for _, m := range mentions(text) {
		if seen[m.norm] {
			continue
		}
		entries := r.kb.Lookup(m.norm, r.dos)
		var found []codes.Entry
		for _, en := range entries {
			if en.Found {
				found = append(found, en)
			}
		}
		writtenLikeDx := codes.FitsICD10CM(m.norm) && (strings.Contains(m.raw, ".") || len(m.norm) == 3 && !isDigit(m.norm[0]))
		writtenLikeHCPCS := codes.FitsHCPCS(m.norm) && len(m.norm) == 5 && !isDigit(m.norm[0])
		if len(found) == 0 {
			// Only a token written like a code ("E11.22", "K0001") counts
			// as an unknown code — a bare number may be a phone number or
			// ZIP code — and only when its code set is loaded.
			switch {
			case thread:
			case codes.FitsCPT(m.norm) && r.loaded[codes.CPT] && procContext(text, m):
				seen[m.norm] = true
				r.unknownProcs = append(r.unknownProcs, m.raw)
				notFound = append(notFound, m.raw)
			case writtenLikeDx && r.loaded[codes.ICD10CM], writtenLikeHCPCS && r.loaded[codes.HCPCS]:
				notFound = append(notFound, m.raw)
			case writtenLikeDx && !r.loaded[codes.ICD10CM], writtenLikeHCPCS && !r.loaded[codes.HCPCS]:
				unchecked = append(unchecked, m.raw)
			}
			continue
		}
		for _, en := range found {
			if en.System == codes.CPT && en.Description == "" && !cptContext(text, m.pos) && len(en.MUE) == 0 {
				continue
			}
			// A bare 7-character word that happens to be a PCS code is
			// taken only when written in capitals with digits.
			if en.System == codes.PCS && !strings.ContainsAny(m.raw, "0123456789") {
				continue
			}
			// A lone three-character ICD-10-CM category written without
			// a dot must look like one ("I10", "R99"), not a word.
			h := hit{m: m, entry: en, thread: thread, subject: !thread && m.pos < r.subjectLen}
			switch {
			case en.Modifier:
				h.isMod = true
			case en.System == codes.CPT || en.System == codes.HCPCS:
				h.isProc = true
			case en.System == codes.ICD10CM:
				h.isDx = true
			case en.System == codes.PCS:
				h.isPCS = true
			}
			h.invalid = en.Status == "deleted" || en.Status == "terminated" || en.Status == "not_in_force"
			seen[m.norm] = true
			r.hits = append(r.hits, h)
			// A code that fits two systems (a HCPCS modifier "25" is not
			// written so; "J44.9" is only ICD-10-CM) keeps the first.
			break
		}
	}
	return notFound, unchecked
}

func (r *run) signals(text string, withThread bool) signals {
	s := signals{lower: strings.ToLower(text), units: r.facts.Units, modifiers: r.facts.Modifiers}
	if withThread && len(s.modifiers) == 0 {
		s.modifiers = modifiers(r.text)
	}
	s.question = reQuestion.MatchString(strings.TrimSpace(text))
	for _, h := range r.hits {
		if h.thread && !withThread {
			continue
		}
		s.nCodes++
		if !h.subject {
			s.nBody++
		}
		switch {
		case h.isDx:
			s.nDx++
		case h.isProc:
			s.nProc++
		}
	}
	s.nProc += len(r.unknownProcs)
	s.nCodes += len(r.unknownProcs)
	s.nBody += len(r.unknownProcs)
	s.clinical = func() float64 {
		if !r.clinDone {
			r.clinDone = true
			if res := r.candidates(text, "icd10cm"); len(res) > 0 {
				r.clinical = res[0].Score
			}
		}
		return r.clinical
	}
	return s
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// cptContext reports whether a word near pos says the number is a code.
func cptContext(text string, pos int) bool {
	start := max(0, pos-40)
	if pos > len(text) {
		return false
	}
	return reCodeWord.MatchString(text[start:pos])
}

// procContext reports whether a bare CPT-shaped number is asked about as a
// procedure code: a code or billing word close before or after it
// ("CPT 22520", "22520 and 20225 be billed"). Dates, phone numbers, ZIP
// codes and record numbers are masked before mentions are found.
func procContext(text string, m mention) bool {
	if cptContext(text, m.pos) {
		return true
	}
	end := min(len(text), m.pos+len(m.raw)+40)
	if m.pos+len(m.raw) > end {
		return false
	}
	return reCodeWord.MatchString(text[m.pos+len(m.raw) : end])
}

func (r *run) hasProc() bool {
	for _, h := range r.hits {
		if h.isProc {
			return true
		}
	}
	return false
}

// addAsked puts every mentioned code in the codes table with role asked,
// with its status, and the findings its entry carries.
func (r *run) addAsked() {
	for _, h := range r.hits {
		en := h.entry
		c := codeRow(en, RoleAsked)
		r.res.Codes = append(r.res.Codes, c)
		r.use(en.Release)
		for _, w := range en.Warnings {
			if en.LicenceNeeded && strings.HasPrefix(w, "CPT descriptors") {
				continue // said once, in the gaps
			}
			r.warn(fmt.Sprintf("%s: %s.", en.Code, strings.TrimSuffix(w, ".")))
		}
		switch {
		case en.Status == "deleted" || en.Status == "terminated":
			f := Finding{Kind: "deleted", Summary: fmt.Sprintf("%s is %s and not valid for the date of service %s.", en.Code, en.Status, r.res.DateOfService), Source: en.Release}
			if len(en.ReplacedBy) > 0 {
				f.Summary += " Replaced by " + refList(en.ReplacedBy, 8) + "."
			}
			r.res.Findings = append(r.res.Findings, f)
		case en.System == codes.ICD10CM && !en.Billable:
			f := Finding{Kind: "header", Summary: fmt.Sprintf("%s is a header (category or subcategory), not valid on a claim; report one of its %d billable codes.", en.Code, max(en.BillableCount, len(en.BillableChildren))), Source: en.Release}
			if len(en.BillableChildren) > 0 {
				f.Summary += " They are: " + refList(en.BillableChildren, 10) + "."
			}
			r.res.Findings = append(r.res.Findings, f)
			if len(en.BillableChildren) > 0 {
				r.res.Missing = append(r.res.Missing, fmt.Sprintf("Which code under %s the documentation supports: %s", en.Code, decidingQuestion(en.BillableChildren)))
			}
		case en.Status == "not_in_force":
			r.res.Findings = append(r.res.Findings, Finding{Kind: "not_in_force", Summary: fmt.Sprintf("%s is not yet valid on %s.", en.Code, r.res.DateOfService), Source: en.Release})
		}
		if en.System == codes.ICD10CM && en.Billable && len(en.Notes.SeventhCharacters) > 0 && len(codes.Normalize(en.Code)) < 7 {
			r.res.Missing = append(r.res.Missing, fmt.Sprintf("%s needs a 7th character: tell me the encounter (initial, subsequent or sequela).", en.Code))
		}
		if en.System == codes.ICD10CM {
			r.noteFindings(en)
		}
	}
}

// noteFindings lists the Tabular instructions that decide how a diagnosis
// code is reported: code first, use additional code, code also.
func (r *run) noteFindings(en codes.Entry) {
	src := en.Notes.Release
	r.use(src)
	add := func(kind, label string, notes []codes.Note) {
		for i, n := range mergeNotes(notes) {
			if i >= 4 {
				break
			}
			r.res.Findings = append(r.res.Findings, Finding{Kind: kind, Summary: fmt.Sprintf("%s (%s, at %s): %s", label, en.Code, n.Source, n.Text), Source: src})
		}
	}
	add("code_first", "Code first", en.Notes.CodeFirst)
	add("use_additional", "Use additional code", en.Notes.UseAdditionalCode)
	add("code_also", "Code also", en.Notes.CodeAlso)
}

// mergeNotes joins a note that introduces a list ("code to identify
// control using:") with the items the Tabular List writes as notes of
// their own ("insulin (Z79.4)").
func mergeNotes(notes []codes.Note) []codes.Note {
	var out []codes.Note
	open := false
	for _, n := range notes {
		if open && len(out) > 0 && out[len(out)-1].Source == n.Source && !strings.HasSuffix(n.Text, ":") {
			last := &out[len(out)-1]
			if strings.HasSuffix(last.Text, ":") {
				last.Text += " " + n.Text
			} else {
				last.Text += "; " + n.Text
			}
			continue
		}
		out = append(out, n)
		open = strings.HasSuffix(n.Text, ":")
	}
	return out
}

func codeRow(en codes.Entry, role string) Code {
	return Code{System: string(en.System), Code: en.Code, Description: en.Description, Role: role,
		Billable: en.Billable || en.System != codes.ICD10CM && en.System != codes.PCS && en.Status == "active",
		Status:   en.Status, Release: en.Release, Notes: codeNotes(en)}
}

func refList(refs []codes.Ref, n int) string {
	var parts []string
	for i, x := range refs {
		if i >= n {
			parts = append(parts, fmt.Sprintf("and %d more", len(refs)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %s", x.Code, x.Description))
	}
	return strings.Join(parts, "; ")
}

// decidingQuestion asks what tells the billable codes below a header
// apart: what their descriptors add to the words they share ("diabetic
// nephropathy (E11.21), diabetic chronic kidney disease (E11.22) or …").
func decidingQuestion(children []codes.Ref) string {
	if len(children) == 0 {
		return ""
	}
	if len(children) > 8 {
		return fmt.Sprintf("%d codes; the documented type, site, laterality, encounter or complication decides between them", len(children))
	}
	words := make([][]string, len(children))
	for i, c := range children {
		words[i] = strings.Fields(c.Description)
	}
	common := 0
	for ; ; common++ {
		ok := true
		for _, w := range words {
			if common >= len(w)-1 || !strings.EqualFold(w[common], words[0][common]) {
				ok = false
				break
			}
		}
		if !ok {
			break
		}
	}
	var opts []string
	for i, c := range children {
		rest := strings.TrimSpace(strings.Trim(strings.Join(words[i][common:], " "), ","))
		opts = append(opts, fmt.Sprintf("%s (%s)", rest, c.Code))
	}
	if len(opts) == 1 {
		return "does it document " + opts[0] + "?"
	}
	return "does it document " + strings.Join(opts[:len(opts)-1], ", ") + " or " + opts[len(opts)-1] + "?"
}

func codeNotes(en codes.Entry) string {
	var notes []string
	switch {
	case en.Modifier:
		notes = append(notes, "modifier")
	case en.System == codes.ICD10CM && en.Billable:
		notes = append(notes, "billable")
	case en.System == codes.ICD10CM && !en.Billable:
		notes = append(notes, "header code: not valid for billing; a more specific code is required")
	}
	if en.Status != "" && en.Status != "active" && en.Status != "header" {
		notes = append(notes, strings.ReplaceAll(en.Status, "_", " "))
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

// describe is one code in a sentence: `E11.22 (ICD-10-CM) "Type 2 …"`.
func describe(c Code) string {
	switch {
	case c.Description == "" && c.System == "cpt":
		return fmt.Sprintf("%s (CPT; descriptor AMA-licensed, not loaded)", c.Code)
	case c.Description == "":
		return fmt.Sprintf("%s (%s)", c.Code, systemLabel(c.System))
	}
	return fmt.Sprintf("%s (%s, \"%s\")", c.Code, systemLabel(c.System), c.Description)
}

// change is what the addenda say about an asked code.
func (r *run) change(code string) *codes.Change {
	for _, h := range r.hits {
		if h.entry.Code == code {
			return h.entry.Change
		}
	}
	return nil
}

// lookupAnswer writes the answer for codes asked about.
func (r *run) lookupAnswer() []string {
	if len(r.res.Codes) == 0 {
		return []string{"I could not find a code in your message that I can look up. Please send the code (for example E11.22 or K0001) or describe the diagnosis or service, and I will answer with the official descriptors."}
	}
	var parts []string
	for _, c := range r.res.Codes {
		desc := c.Description
		switch {
		case desc == "" && c.System == "cpt":
			parts = append(parts, fmt.Sprintf("%s is a CPT code; its descriptor is AMA-licensed and is shown once your licensed CPT file is loaded", c.Code))
			continue
		case desc == "":
			desc = "(no descriptor)"
		}
		s := fmt.Sprintf("%s (%s) is \"%s\"", c.Code, systemLabel(c.System), desc)
		switch {
		case c.Status == "deleted" || c.Status == "terminated":
			s += fmt.Sprintf(", %s: not valid for a date of service on %s", c.Status, r.res.DateOfService)
		case c.Status == "not_in_force":
			s += fmt.Sprintf(", not yet valid on %s", r.res.DateOfService)
		case c.System == "icd10cm" && c.Billable:
			s += ", a billable code"
		case c.System == "icd10cm":
			s += ", a header code that is not valid for billing on its own"
			if ch := r.change(c.Code); ch != nil && ch.Action == "subdivided" {
				s += fmt.Sprintf(" since %s subdivided it (effective %s); report one of the new codes below it", ch.Release, ch.Effective.Format(time.DateOnly))
			}
		case c.System == "hcpcs" && c.Status == "active" && !strings.Contains(c.Notes, "modifier"):
			s += ", active"
		}
		parts = append(parts, s)
	}
	return []string{strings.Join(parts, ". ") + "."}
}
