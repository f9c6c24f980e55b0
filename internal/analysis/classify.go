package analysis

import (
	"regexp"
	"strings"
)

// signals are what classification looks at.
type signals struct {
	lower     string
	nDx       int // ICD-10-CM codes
	nProc     int // CPT and HCPCS Level II codes (not modifiers)
	nCodes    int // every code, modifiers included
	nBody     int // codes outside a reply's subject line
	modifiers []string
	units     int
	question  bool
	// clinical is the best narrative-search score of the text over
	// ICD-10-CM (0 when not computed or nothing matched).
	clinical func() float64
}

var (
	reLookupAsk = regexp.MustCompile(`(?i)\b(what(?:'s| is| does)|whats|define|meaning of)\s+(?:(?:the\s+)?(?:hcpcs|cpt|icd-?10(?:-cm)?|icd-?10-pcs|code|dx)\s+){0,2}(?:[A-Z][0-9][A-Z0-9]{1,5}|[A-Z][0-9]{4}|[0-9]{4}[A-Z0-9])(?:\.[A-Z0-9]{1,4})?\b`)
	reQuestion  = regexp.MustCompile(`(?i)(\?|^\s*(what|which|how|can|could|is|are|do|does|should|would|need|please|when|why|may)\b)`)
)

// classify picks the kind of question from docs/design.md; the rules are
// ordered from the most specific ask to the most general.
func classify(s signals) string {
	l := s.lower
	if strings.TrimSpace(l) == "" {
		return KindNotAQuestion
	}
	ack := has(l, "thanks", "thank you", "thx", "got it", "fyi", "no action needed", "perfect", "great", "appreciate it", "received", "will do")
	if ack && !s.question && s.nBody == 0 {
		return KindNotAQuestion
	}
	switch {
	case has(l, "7th", "seventh", "placeholder", "initial encounter", "subsequent encounter", "7th character", "seventh character"):
		return KindSeventhCharacter
	case s.nDx >= 1 && has(l, "excludes", "excludes1", "excludes 1", "excludes2", "excludes 2"):
		return KindExcludesConflict
	case s.nDx >= 2 && s.nProc == 0 && has(l, "together", "along with", "same claim", "same encounter", "both", "combined", "togther"):
		return KindExcludesConflict
	case len(s.modifiers) > 0 || has(l, "modifier", "modifiers"):
		return KindModifierQuestion
	case s.nCodes > 0 && (has(l, "descriptor", "description", "descriptions", "billable", "valid", "deleted", "active", "mean", "meaning", "stand for", "cover") || reLookupAsk.MatchString(l)) &&
		!(s.nProc >= 2 && has(l, "ncci", "bundle", "bundled", "bundling", "together", "ptp")):
		return KindCodeLookup
	case s.nProc >= 2 && has(l, "together", "bundle", "bundled", "bundling", "ncci", "ptp", "same day", "same date", "same session", "edit", "with"):
		return KindNCCIPairCheck
	case s.nProc >= 1 && (s.units > 0 || has(l, "unit", "units", "mue", "mues", "medically unlikely", "how many", "max", "maximum", "per day", "limit")):
		return KindMUECheck
	case s.nProc >= 2:
		return KindNCCIPairCheck
	case s.nCodes > 0:
		return KindCodeLookup
	}
	dxAsk := has(l, "icd", "icd-10", "icd10", "icd-10-cm", "dx", "diagnosis", "diagnoses")
	hcpcsAsk := has(l, "hcpcs", "j code", "j-code", "jcode", "level ii", "level 2")
	hcpcsWords := has(l, "injection", "injections", "vaccine", "shot", "supply", "supplies", "strips", "walker", "wheelchair", "dme",
		"oxygen", "concentrator", "ambulance", "brace", "orthotic", "prosthetic", "catheter", "wellness visit", "drug", "infusion", "mg")
	codingAsk := dxAsk || hcpcsAsk || has(l, "code", "codes", "coding", "coded", "bill", "report")
	switch {
	case hcpcsAsk && !dxAsk:
		return KindHCPCSCoding
	case dxAsk && s.clinical() >= 0.5:
		return KindDiagnosisCoding
	case hcpcsWords && codingAsk:
		return KindHCPCSCoding
	case codingAsk && s.clinical() >= 0.55:
		return KindDiagnosisCoding
	}
	return KindOther
}
