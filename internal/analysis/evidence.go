package analysis

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/codes/search"
)

// filler are words of a coding question that are not part of the clinical
// narrative; they are dropped before the narrative is searched.
var filler = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`what which how do does did i we you they should would could can may might is are was were be been the a an
		icd icd10 icd-10 icd-10-cm cm code codes coding coded dx diagnosis diagnoses hcpcs level ii cpt j-code jcode j please pls
		thanks thank hi hello team need use using used right correct proper now right? full complete bill billed billing report
		question quick one for to me my our your us it this that these those there here about with? 7th seventh character characters
		patient pt instead same complete know many much gave given administered unit units office today`) {
		filler[w] = true
	}
	// "right" is laterality, keep it; "with" and "without" matter.
	delete(filler, "right")
}

var (
	reSentence = regexp.MustCompile(`[.;:!?\n]+\s*`)
	reWords    = regexp.MustCompile(`[A-Za-z][A-Za-z0-9'/-]*|\d+[A-Za-z]*`)
	// Words of the encounter, which the 7th character carries: for a 7th
	// character question they are taken from the facts, not searched.
	reEncounter = regexp.MustCompile(`(?i)\b(?:(?:routine|delayed)\s+healing|healing\s+as\s+expected|cast\s+(?:check|change)|follow[- ]?up|f/u|initial(?:\s+(?:encounter|visit|treatment))?|subsequent(?:\s+encounter)?|first\s+visit|(?:ed|er)\s+visit|recheck|encounter|visit)\b`)
	// Idioms whose words are clinical elsewhere: "back for a cast check".
	reIdiom   = regexp.MustCompile(`(?i)\b(?:came|comes|coming|is|was|are|were)?\s*back\s+(?:for|in|to|today)\b`)
	reCodeRef = regexp.MustCompile(`\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(?:\s*-\s*([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)|-)?`)
	rePerDose = regexp.MustCompile(`(?i)\b(?:per|up to)\s+(\d+(?:\.\d+)?)\s*(mg|mcg|ml|units?|gm|g)\b`)
	reDose    = regexp.MustCompile(`(?i)\b(\d+(?:\.\d+)?)\s*(mg|mcg|ml|gm|g)\b`)
)

// narrative is the clinical part of a question: code-question filler and
// codes dropped, the rest kept in order.
func narrative(text string) string {
	var out []string
	text = reIdiom.ReplaceAllString(text, " ")
	for _, w := range reWords.FindAllString(mask(text), -1) {
		lw := strings.ToLower(strings.Trim(w, "'-/"))
		// Names of code systems and their versions ("ICD-11", "ICD9")
		// are not clinical words.
		if filler[lw] || lw == "" || strings.HasPrefix(lw, "icd") || strings.HasPrefix(lw, "cpt") {
			continue
		}
		n := codes.Normalize(w)
		if strings.ContainsAny(n, "0123456789") && (codes.FitsICD10CM(n) || codes.FitsHCPCS(n) || codes.FitsCPT(n)) && len(n) >= 3 {
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// clauses splits a narrative into sentences worth searching on their own.
func clauses(text string) []string {
	var out []string
	for _, s := range reSentence.Split(mask(text), -1) {
		if n := narrative(s); len(strings.Fields(n)) >= 2 {
			out = append(out, n)
		}
	}
	return out
}

func (r *run) search(q, system string, limit int) []search.Result {
	if strings.TrimSpace(q) == "" {
		return nil
	}
	ix := r.kb.SearchIndex(r.dos)
	if ix == nil {
		return nil
	}
	return ix.Search(q, search.Options{System: system, Limit: limit})
}

// qualifiers are words of a descriptor that narrow a code to a situation
// the question must state: a code that needs them ranks lower when the
// question is silent on them.
var qualifiers = []string{"subsequent", "sequela", "recurrent", "history", "screening", "encounter for", "family", "newborn", "neonatal", "pregnancy", "puerperium", "childbirth", "postprocedural", "drug induced", "due to underlying condition", "poisoning", "adverse effect", "with complications", "other specified"}

// candidates searches the narrative (whole and clause by clause) and
// returns the billable codes best first, re-ranked by the qualifiers the
// question does not state.
func (r *run) candidates(text, system string) []search.Result {
	key := system + "\x00" + text
	if c, ok := r.cands[key]; ok {
		return c
	}
	lower := strings.ToLower(text)
	best := map[string]search.Result{}
	doses := reDose.FindAllString(lower, -1)
	parenteral := has(lower, "iv", "im", "intravenous", "intramuscular", "injection", "injected", "push", "infusion", "subcutaneous", "sq", "subq")
	byMouth := has(lower, "oral", "orally", "po", "by mouth", "tablet", "tablets")
	side := r.facts.Laterality
	other := map[string]string{"right": "left", "left": "right"}[side]
	rank := func(q string, factor float64) {
		for _, res := range r.search(q, system, 40) {
			if !res.Billable {
				continue
			}
			res.Score *= factor
			d := strings.ToLower(res.Description)
			for _, w := range qualifiers {
				if strings.Contains(d, w) && !strings.Contains(lower, strings.Fields(w)[0]) {
					res.Score *= 0.9
				}
			}
			if other != "" {
				switch {
				case containsWord(d, other):
					res.Score *= 0.85
				case containsWord(d, side):
					res.Score *= 1.05
				}
			}
			// The route decides between drug codes: an oral code is not an
			// injection and the reverse.
			if system == "hcpcs" {
				oral := containsWord(d, "oral")
				switch {
				case parenteral && oral:
					res.Score *= 0.8
				case byMouth && !oral && (strings.Contains(d, "injection") || strings.Contains(d, "infusion")):
					res.Score *= 0.8
				}
			}
			// A drug code whose descriptor has the dose given ("40 mg")
			// fits better than one per another dose.
			for _, dose := range doses {
				if strings.Contains(d, dose) || strings.Contains(d, strings.ReplaceAll(dose, " ", "")) {
					res.Score *= 1.1
				}
			}
			if prev, ok := best[res.Code]; !ok || res.Score > prev.Score {
				best[res.Code] = res
			}
		}
	}
	rank(narrative(text), 1)
	// Sentences on their own find a condition buried in a long message;
	// they rank a little below the whole text.
	if cl := clauses(text); len(cl) > 1 {
		for _, q := range cl {
			rank(q, 0.9)
		}
	}
	out := make([]search.Result, 0, len(best))
	for _, v := range best {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Code < out[j].Code
	})
	if r.cands == nil {
		r.cands = map[string][]search.Result{}
	}
	r.cands[key] = out
	return out
}

// codeRef is a code or range named by a Tabular note: "N18.1-N18.6",
// "E11.22", "O24.4-".
type codeRef struct{ from, to string }

func parseRefs(text string) []codeRef {
	var out []codeRef
	for _, m := range reCodeRef.FindAllStringSubmatch(text, -1) {
		from := codes.Normalize(m[1])
		to := from
		if m[2] != "" {
			to = codes.Normalize(m[2])
		}
		out = append(out, codeRef{from, to})
	}
	return out
}

func (c codeRef) covers(code string) bool {
	n := codes.Normalize(code)
	lo := n[:min(len(n), len(c.from))]
	hi := n[:min(len(n), len(c.to))]
	return lo >= c.from && hi <= c.to
}

func covered(refs []codeRef, code string) bool {
	for _, x := range refs {
		if x.covers(code) {
			return true
		}
	}
	return false
}

// lookupFound returns the entry of a code in a system at the date of
// service, if the code exists there.
func (r *run) lookupFound(code string, sys codes.System) (codes.Entry, bool) {
	for _, en := range r.kb.Lookup(code, r.dos) {
		if en.Found && en.System == sys {
			return en, true
		}
	}
	return codes.Entry{}, false
}

// validFor reports whether an entry may be suggested: it exists, is
// billable and is in force at the date of service.
func validFor(en codes.Entry) bool {
	return en.Found && (en.Billable || en.System == codes.HCPCS) && en.Status == "active"
}

// suggest adds a code the engine proposes, after checking it exists and is
// valid at the date of service; it reports whether it was added.
func (r *run) suggest(code string, sys codes.System, role, note string) (codes.Entry, bool) {
	for _, c := range r.res.Codes {
		if codes.Normalize(c.Code) == codes.Normalize(code) {
			return codes.Entry{}, false
		}
	}
	en, ok := r.lookupFound(code, sys)
	if !ok || !validFor(en) {
		return en, false
	}
	row := codeRow(en, role)
	if note != "" {
		if row.Notes != "" {
			row.Notes += "; "
		}
		row.Notes += note
	}
	r.res.Codes = append(r.res.Codes, row)
	r.use(en.Release)
	for _, w := range en.Warnings {
		if en.LicenceNeeded && strings.HasPrefix(w, "CPT descriptors") {
			continue // said once, in the gaps
		}
		r.warn(fmt.Sprintf("%s: %s.", en.Code, strings.TrimSuffix(w, ".")))
	}
	return en, true
}

// diagnosis answers "how do I code …": codes for the narrative through
// the Alphabetic Index and the Tabular List, with the companion codes the
// Tabular notes require, in sequence.
func (r *run) diagnosis() []string { return r.diagnosisOf(r.text, true) }

// diagnosisOf codes the narrative text; thread says the earlier messages
// may complete it.
func (r *run) diagnosisOf(text string, thread bool) []string {
	// A follow-up ("and if it is stage 4?") keeps the condition of the
	// earlier question and changes the facts it states: the codes are
	// found from the earlier question, the companion codes from the new
	// text first.
	newText := text
	followUp := thread && r.thread != "" && len(r.hits) == 0 && (r.clinical < 0.5 || isFollowUp(r.text[min(len(r.text), r.subjectLen):]))
	search := text
	if followUp {
		text += "\n" + r.thread
		search = r.thread
	}
	cands := r.candidates(search, "icd10cm")
	if len(cands) == 0 {
		r.res.Missing = append(r.res.Missing, "The diagnosis as the provider documented it (the assessment or final diagnosis), so I can find it in the Alphabetic Index.")
		return []string{"I could not match the condition in your message to the ICD-10-CM Alphabetic Index or Tabular List. Please send the provider's diagnostic statement."}
	}
	top := cands[:min(len(cands), 12)]
	primary := top[0]
	// Sequencing: a code whose "code first" note names another candidate
	// goes after it (e.g. N18.31 after E11.22).
	if en, ok := r.lookupFound(primary.Code, codes.ICD10CM); ok {
		for _, n := range en.Notes.CodeFirst {
			refs := parseRefs(n.Text)
			for _, c := range top[1:] {
				if c.Score >= 0.6*primary.Score && covered(refs, c.Code) {
					primary = c
					break
				}
			}
		}
	}
	pen, ok := r.suggest(r.withSeventh(primary.Code), codes.ICD10CM, RoleSuggested, "")
	if !ok {
		return []string{"I could not confirm a valid ICD-10-CM code for the narrative at the date of service; please send the provider's diagnostic statement."}
	}
	r.res.Findings = append(r.res.Findings, Finding{Kind: "index", Summary: fmt.Sprintf("%s: %s", pen.Code, primary.Evidence), Source: indexSource(primary, pen)})
	r.noteFindings(pen)
	var additional []string
	for _, n := range pen.Notes.UseAdditionalCode {
		refs := parseRefs(n.Text)
		if len(refs) == 0 {
			continue
		}
		found := false
		c, ok := r.companion(refs, newText, pen.Description)
		if !ok && followUp {
			c, ok = r.companion(refs, r.thread, pen.Description)
		}
		if ok && c != primary.Code {
			if en, ok := r.suggest(c, codes.ICD10CM, RoleAdditional, "required by the use-additional note at "+n.Source); ok {
				additional = append(additional, en.Code)
				found = true
			}
		}
		if !found && strings.Contains(strings.ToLower(n.Text), "stage") {
			r.res.Missing = append(r.res.Missing, fmt.Sprintf("%s requires an additional code to identify %s; the documentation you sent does not state it.", pen.Code, strings.TrimPrefix(n.Text, "code to identify ")))
		}
	}
	// Close alternatives the documentation must rule out.
	alts := 0
	for _, c := range top[1:] {
		if alts >= 2 || c.Score < 0.97*primary.Score {
			break
		}
		if covered([]codeRef{{"N18", "N18"}}, c.Code) && len(additional) > 0 {
			continue
		}
		if _, ok := r.suggest(r.withSeventh(c.Code), codes.ICD10CM, RoleSuggested, "alternative: check which one the documentation supports"); ok {
			alts++
		}
	}
	s := fmt.Sprintf("Code %s", describe(r.res.Codes[len(r.res.Codes)-1-alts-len(additional)]))
	if len(additional) > 0 {
		s += fmt.Sprintf(", followed by %s as the Tabular List instructs", strings.Join(additional, " and "))
	}
	s += fmt.Sprintf(". The Alphabetic Index leads there: %s.", strings.TrimPrefix(primary.Evidence, "Index: "))
	out := []string{s}
	if alts > 0 {
		out = append(out, "Close alternatives are listed below; the provider's documentation decides between them.")
	}
	r.res.Verify = append(r.res.Verify, "The provider's final diagnostic statement supports the suggested code(s); code to the highest specificity documented.")
	return out
}

func indexSource(res search.Result, en codes.Entry) string {
	if strings.HasPrefix(res.Evidence, "Index") {
		return "ICD-10-CM Alphabetic Index; " + en.Release
	}
	return en.Release
}

// withSeventh replaces the 7th character of a code that has one with the
// one the encounter in the question calls for.
func (r *run) withSeventh(code string) string {
	en, ok := r.lookupFound(code, codes.ICD10CM)
	if !ok || len(en.Notes.SeventhCharacters) == 0 {
		return code
	}
	n := codes.Normalize(code)
	if len(n) != 7 {
		return code
	}
	if ch := r.pickSeventh(en.Notes.SeventhCharacters); ch != "" {
		if alt, ok := r.lookupFound(n[:6]+ch, codes.ICD10CM); ok && validFor(alt) {
			return alt.Code
		}
	}
	return code
}

// pickSeventh chooses the 7th character for the encounter the question
// describes, among those the category defines; "" when it cannot tell.
func (r *run) pickSeventh(defs []codes.SeventhChar) string {
	text := map[string]string{}
	for _, d := range defs {
		text[d.Char] = strings.ToLower(d.Text)
	}
	find := func(words ...string) string {
		for _, d := range defs {
			ok := true
			for _, w := range words {
				if !strings.Contains(text[d.Char], w) {
					ok = false
				}
			}
			if ok {
				return d.Char
			}
		}
		return ""
	}
	f := r.facts
	switch f.Encounter {
	case "sequela":
		return find("sequela")
	case "subsequent":
		switch f.Healing {
		case "delayed":
			return find("subsequent", "delayed")
		case "nonunion":
			return find("subsequent", "nonunion")
		case "malunion":
			return find("subsequent", "malunion")
		}
		if c := find("subsequent", "routine"); c != "" {
			return c
		}
		return find("subsequent")
	case "initial":
		if f.Open {
			if c := find("initial", "open"); c != "" {
				return c
			}
		}
		if c := find("initial", "closed"); c != "" {
			return c
		}
		return find("initial")
	}
	return ""
}

// seventh answers which 7th character a code takes.
func (r *run) seventh() []string {
	var base codes.Entry
	var evidence string
	for _, h := range r.hits {
		if h.isDx && len(h.entry.Notes.SeventhCharacters) > 0 {
			base = h.entry
			break
		}
	}
	// A newer message that names the other side changes the code found
	// in the earlier one.
	if base.Found && r.facts.Laterality != "" {
		d := strings.ToLower(base.Description)
		other := map[string]string{"right": "left", "left": "right"}[r.facts.Laterality]
		if other != "" && strings.Contains(d, other) && !strings.Contains(d, r.facts.Laterality) {
			want := strings.ReplaceAll(d, other, r.facts.Laterality)
			want = strings.Split(want, ", initial")[0]
			for _, c := range r.candidates(want, "icd10cm") {
				if strings.HasPrefix(strings.ToLower(c.Description), want) {
					if en, ok := r.lookupFound(c.Code, codes.ICD10CM); ok {
						base = en
					}
					break
				}
			}
		}
	}
	if !base.Found {
		text := r.text
		if r.thread != "" && r.clinical < 0.5 {
			text += "\n" + r.thread
		}
		text = reEncounter.ReplaceAllString(text, " ")
		for _, c := range r.candidates(text, "icd10cm") {
			if en, ok := r.lookupFound(c.Code, codes.ICD10CM); ok && len(en.Notes.SeventhCharacters) > 0 {
				base, evidence = en, c.Evidence
				break
			}
		}
	}
	if !base.Found {
		r.addAsked()
		r.res.Missing = append(r.res.Missing, "The injury or condition code (or the provider's diagnosis), so I can find which 7th characters its category takes.")
		return []string{"I could not find a code that takes a 7th character in your message. Please send the code or the diagnosis."}
	}
	defs := base.Notes.SeventhCharacters
	var list []string
	for _, d := range defs {
		list = append(list, d.Char+" = "+d.Text)
	}
	src := base.Notes.Release
	r.use(src)
	r.res.Findings = append(r.res.Findings, Finding{Kind: "seventh_character", Summary: fmt.Sprintf("7th characters defined at %s: %s.", defs[0].Source, strings.Join(list, "; ")), Source: src})
	n := codes.Normalize(base.Code)
	stem := n
	if len(stem) == 7 {
		stem = stem[:6]
	}
	placeholder := len(stem) < 6
	for len(stem) < 6 {
		stem += "X"
	}
	ch := r.pickSeventh(defs)
	if ch == "" {
		if len(n) == 7 {
			r.suggest(base.Code, codes.ICD10CM, RoleAsked, "")
		}
		r.res.Missing = append(r.res.Missing, "The encounter: is the patient receiving active treatment (initial), seen for routine healing or recovery after treatment (subsequent), or for a complication that results from the injury (sequela)?")
		return []string{fmt.Sprintf("%s takes a 7th character; which one depends on the encounter, which your message does not state. The choices are: %s.", codes.Display(codes.ICD10CM, stem), strings.Join(list, "; "))}
	}
	en, ok := r.suggest(stem+ch, codes.ICD10CM, RoleSuggested, "")
	if !ok {
		r.res.Missing = append(r.res.Missing, "A more specific code: "+codes.Display(codes.ICD10CM, stem)+" is not a complete code at the date of service.")
		return []string{fmt.Sprintf("I could not build a valid code from %s with 7th character %s; please send the full code or the diagnosis.", codes.Display(codes.ICD10CM, stem), ch)}
	}
	if evidence != "" {
		r.res.Findings = append(r.res.Findings, Finding{Kind: "index", Summary: fmt.Sprintf("%s- found from your description: %s", codes.Display(codes.ICD10CM, stem), evidence), Source: en.Release})
	}
	var meaning string
	for _, d := range defs {
		if d.Char == ch {
			meaning = d.Text
		}
	}
	s := fmt.Sprintf("The complete code is %s (\"%s\"): 7th character %s means %s.", en.Code, en.Description, ch, strings.ToLower(meaning))
	if placeholder {
		s += " The code has fewer than six characters before the 7th, so the placeholder X fills the empty positions (Guidelines I.A.5)."
	}
	r.res.Verify = append(r.res.Verify, "The encounter type: 7th character A is for active treatment (not only the first visit), D for routine care during healing or recovery, S for a complication or condition that results from the injury.")
	r.noteFindings(en)
	return []string{s}
}

// hcpcs answers "which HCPCS code for …": Level II codes for the
// narrative, with units from the dose when the descriptor is per dose.
func (r *run) hcpcs() []string { return r.hcpcsOf(r.text) }

// hcpcsOf suggests Level II codes for the narrative text.
func (r *run) hcpcsOf(text string) []string {
	cands := r.candidates(text, "hcpcs")
	var out []string
	n := 0
	var primary codes.Entry
	for _, c := range cands {
		if n >= 3 || n > 0 && c.Score < 0.8*cands[0].Score {
			break
		}
		role := RoleSuggested
		note := ""
		if n > 0 {
			note = "alternative"
		}
		en, ok := r.suggest(c.Code, codes.HCPCS, role, note)
		if !ok {
			continue
		}
		if n == 0 {
			primary = en
		}
		n++
	}
	if !primary.Found {
		r.res.Missing = append(r.res.Missing, "What was supplied or given: the item, or the drug with its dose and route.")
		return []string{"I could not match your description to a HCPCS Level II code. Please describe the item, drug (with dose and route) or service."}
	}
	s := fmt.Sprintf("For the item or drug you ask about, report %s.", describe(r.res.Codes[len(r.res.Codes)-n]))
	if text == r.text {
		s = fmt.Sprintf("Report %s.", describe(r.res.Codes[len(r.res.Codes)-n]))
	}
	if m := rePerDose.FindStringSubmatch(primary.Description); m != nil {
		if d := reDose.FindStringSubmatch(text); d != nil && strings.EqualFold(strings.TrimSuffix(m[2], "s"), d[2]) {
			per, _ := strconv.ParseFloat(m[1], 64)
			given, _ := strconv.ParseFloat(d[1], 64)
			if per > 0 && given > 0 {
				units := int(math.Ceil(given / per))
				r.facts.Units = units
				r.res.Facts.Units = units
				s += fmt.Sprintf(" The descriptor is per %s %s, so %s %s is %d unit(s).", m[1], m[2], d[1], d[2], units)
				r.res.Findings = append(r.res.Findings, Finding{Kind: "units", Summary: fmt.Sprintf("%s is reported per %s %s: %s %s given = %d unit(s).", primary.Code, m[1], m[2], d[1], d[2], units), Source: primary.Release})
			}
		}
	}
	if h := primary.HCPCS; h != nil {
		if cov := h.CoverageText(); cov != "" {
			r.res.Findings = append(r.res.Findings, Finding{Kind: "coverage", Summary: fmt.Sprintf("%s Medicare coverage: %s", primary.Code, cov), Source: primary.Release})
		}
	}
	for _, m := range primary.MUE {
		r.res.MUE = append(r.res.MUE, MUE{Code: m.Code, Value: m.Value, MAI: m.MAI, Rationale: m.Rationale, Release: m.Release})
		r.res.Findings = append(r.res.Findings, Finding{Kind: "mue", Summary: fmt.Sprintf("MUE for %s (%s): %d unit(s); MAI %d: %s.", m.Code, m.Table, m.Value, m.MAI, m.Explained), Source: m.Release})
		r.use(m.Release)
	}
	if n > 1 {
		s += " Close alternatives are listed below; the exact item or drug and dose decide between them."
	}
	r.res.Verify = append(r.res.Verify, "The drug name, dose and route, or the exact item supplied, as documented; the payer's coverage policy (LCD) for it.")
	out = append(out, s)
	return out
}

var noise = map[string]bool{"of": true, "with": true, "and": true, "the": true, "or": true, "in": true, "to": true, "unspecified": true, "other": true, "due": true, "for": true}

func tokens(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9')
	}) {
		if !noise[w] {
			out[w] = true
		}
	}
	return out
}

// companion picks the code a "use additional code" note asks for among the
// billable codes of its range: the one whose distinguishing words (those
// its siblings in the range do not share, "3a" in "stage 3a") the
// narrative states. No pick when none or several fit equally.
func (r *run) companion(refs []codeRef, text, explained string) (string, bool) {
	var pool []codes.Ref
	seen := map[string]bool{}
	for _, ref := range refs {
		for cat := ref.from[:3]; cat <= ref.to[:3]; cat = nextCategory(cat) {
			en, ok := r.lookupFound(cat, codes.ICD10CM)
			if !ok {
				continue
			}
			kids := en.BillableChildren
			if en.Billable {
				kids = append(kids, codes.Ref{Code: en.Code, Description: en.Description, Billable: true})
			}
			for _, k := range kids {
				if covered([]codeRef{ref}, k.Code) && !seen[k.Code] {
					seen[k.Code] = true
					pool = append(pool, k)
				}
			}
			if len(pool) > 200 {
				break
			}
		}
	}
	if len(pool) == 0 {
		return "", false
	}
	count := map[string]int{}
	toks := make([]map[string]bool, len(pool))
	for i, p := range pool {
		toks[i] = tokens(p.Description)
		for w := range toks[i] {
			count[w]++
		}
	}
	// Words the main code already explains ("type 2") do not choose the
	// companion.
	said := tokens(narrative(text))
	for w := range tokens(explained) {
		delete(said, w)
	}
	best, bestScore, tie := "", 0, false
	for i, p := range pool {
		score := 0
		for w := range toks[i] {
			if (count[w] < len(pool) || len(pool) == 1) && said[w] {
				score++
			}
		}
		switch {
		case score > bestScore:
			best, bestScore, tie = p.Code, score, false
		case score == bestScore && score > 0:
			tie = true
		}
	}
	if bestScore == 0 || tie {
		return "", false
	}
	return best, true
}

// nextCategory is the ICD-10-CM category after cat ("N18" → "N19").
func nextCategory(cat string) string {
	b := []byte(cat)
	for i := len(b) - 1; i >= 1; i-- {
		if b[i] < '9' && b[i] >= '0' || b[i] >= 'A' && b[i] < 'Z' {
			b[i]++
			return string(b)
		}
		if b[i] == '9' {
			b[i] = '0'
			continue
		}
		b[i] = '0'
	}
	return "~"
}

// reFollowUp starts a message that continues the thread's question.
var reFollowUp = regexp.MustCompile(`(?i)^\s*(?:and|but|also|then|so|what if|what about|how about|same|ok(?:ay)?[,.]?\s+(?:and|what|so|but))\b`)

// isFollowUp reports whether a short message continues the earlier
// question rather than asking a new one ("And if it is stage 4?").
func isFollowUp(body string) bool {
	return reFollowUp.MatchString(body) && len(strings.Fields(body)) <= 25
}
