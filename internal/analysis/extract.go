package analysis

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/codes"
)

// Facts are what the question states besides its codes: the date of
// service, setting, payer, units, modifiers, encounter and laterality.
type Facts struct {
	DateOfService string   `json:"date_of_service,omitempty"` // YYYY-MM-DD as written in the question
	Setting       string   `json:"setting,omitempty"`         // professional or facility
	Payer         string   `json:"payer,omitempty"`           // medicare, medicaid or commercial
	Units         int      `json:"units,omitempty"`
	Modifiers     []string `json:"modifiers,omitempty"`
	Encounter     string   `json:"encounter,omitempty"` // initial, subsequent or sequela
	Healing       string   `json:"healing,omitempty"`   // routine, delayed, nonunion, malunion
	Open          bool     `json:"open_fracture,omitempty"`
	Laterality    string   `json:"laterality,omitempty"` // right, left or bilateral
}

// MaxQuestionBytes caps the text analysed; longer questions are cut (the
// rest is usually a pasted record, not the question) with a warning.
const MaxQuestionBytes = 64 << 10

var (
	// A token that may be a code: letters and digits, optionally with one
	// dot (ICD-10-CM written with its dot).
	reToken = regexp.MustCompile(`(?i)\b[A-Z0-9]{3}(?:\.[A-Z0-9]{1,4}|[A-Z0-9]{1,4})?\b`)
	// Words that say the next number is a code.
	reCodeWord = regexp.MustCompile(`(?i)\b(cpt|hcpcs|code|codes|icd|icd-10|icd10|dx|px|bill|billed|billing|report|reported|mue|units?|modifier|mod)\b`)
	// Spans that hold numbers that are not codes: dates, phone and fax
	// numbers, money, ZIP codes after a state, record and account numbers.
	reNoise = []*regexp.Regexp{
		regexp.MustCompile(`\b\d{1,2}/\d{1,2}/\d{2,4}\b`),
		regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`),
		regexp.MustCompile(`\(?\b\d{3}\)?[-. ]\d{3}[-. ]\d{4}\b`),
		regexp.MustCompile(`\$\s?\d[\d,]*(?:\.\d+)?`),
		regexp.MustCompile(`(?i)\b(?:mrn|acct|account|claim|member|policy|ticket|invoice|npi|tin|ein|zip|zip code|ext|extension|suite|ste|room|apt|po box|id)\b\s*(?:#|no\.?|number|:)?\s*[A-Z0-9-]+`),
		regexp.MustCompile(`#\s?\d+`),
		regexp.MustCompile(`\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b`), // "OR 97205"
		regexp.MustCompile(`\b\d+(?:\.\d+)?\s?(?:mg|ml|mcg|cc|minutes|min|mins|hours|hrs|days|weeks|wks|months|mos|years|yrs|y/o|%)\b`),
		regexp.MustCompile(`\b\d{1,5}\s+[A-Z][a-z]+\s+(?:Rd|St|Ave|Blvd|Dr|Ln|Way|Road|Street|Avenue)\b`),
		regexp.MustCompile(`(?m)^\s*\d{1,2}[.)]\s`), // list numbering
		regexp.MustCompile(`\b\d+\.\d+\b`),          // lab values ("A1c 7.9")
	}
)

// mention is a candidate code found in the text.
type mention struct {
	raw  string
	norm string
	pos  int
}

// mask blanks the spans of s that hold numbers that are not codes, keeping
// offsets unchanged.
func mask(s string) string {
	b := []byte(s)
	for _, re := range reNoise {
		for _, loc := range re.FindAllStringIndex(s, -1) {
			for i := loc[0]; i < loc[1]; i++ {
				b[i] = ' '
			}
		}
	}
	return string(b)
}

// mentions finds tokens shaped like ICD-10-CM, ICD-10-PCS, HCPCS Level II
// or CPT codes, in order of first appearance, outside dates, phone
// numbers, amounts and record numbers.
func mentions(text string) []mention {
	text = mask(text)
	var out []mention
	seen := map[string]bool{}
	for _, loc := range reToken.FindAllStringIndex(text, -1) {
		raw := text[loc[0]:loc[1]]
		// "99213-25": the suffix is a modifier, the token ends before it;
		// "E11.22.": the trailing dot is punctuation (the regexp stops).
		n := codes.Normalize(raw)
		if seen[n] || len(n) < 3 {
			continue
		}
		if !(codes.FitsICD10CM(n) || codes.FitsHCPCS(n) || codes.FitsCPT(n) || codes.FitsPCS(n) && len(n) == 7) {
			continue
		}
		// A bare three-letter word ("ICD", "CPT") is not a code, nor is a
		// word of letters with one digit at its end ("COVID19" style
		// words are rare; ICD-10-CM codes have a digit second).
		if !strings.ContainsAny(n, "0123456789") {
			continue
		}
		// An ICD-10-PCS code must be written in capitals or with digits
		// mostly: a lower-case 7-letter word is a word.
		if len(n) == 7 && !codes.FitsICD10CM(n) && raw != strings.ToUpper(raw) {
			continue
		}
		seen[n] = true
		out = append(out, mention{raw: raw, norm: n, pos: loc[0]})
	}
	return out
}

var (
	reModWord   = regexp.MustCompile(`(?i)\b(?:modifiers?|mods?)\s*[:\-]?\s*((?:[0-9A-Z]{2}(?:\s*(?:,|/|and|or|vs\.?|versus)\s*)?)+)`)
	reModSuffix = regexp.MustCompile(`\b(?:\d{5}|[A-Z]\d{4}|\d{4}[FTU])-([0-9A-Z]{2})\b`)
	reModBare   = regexp.MustCompile(`\b(XE|XS|XP|XU|RT|LT|GA|GZ|GY|GX|KX|TC|JW|JZ|FY|CR|GT|95|25|59|50|51|76|77|91|24|57|58|78|79|26)\b`)
	reModBareOK = regexp.MustCompile(`(?i)\b(?:modifiers?|mods?)\b`)
	reUnits     = []*regexp.Regexp{
		regexp.MustCompile(`(?i)\b(\d{1,3})\s*units?\b`),
		regexp.MustCompile(`(?i)\bunits?\s*(?:of|:|=)?\s*(\d{1,3})\b`),
		regexp.MustCompile(`(?i)\b(?:x|×)\s?(\d{1,2})\b`),
		regexp.MustCompile(`(?i)\b(\d{1,2})\s*(?:injections|visits|sessions|draws)\b`),
	}
	reDOS = regexp.MustCompile(`(?i)\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b|\b(\d{4})-(\d{2})-(\d{2})\b|\b(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+(\d{1,2}),?\s+(\d{4})\b`)
)

var months = map[string]time.Month{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}

// dateOfService finds the first plausible date in the text (between 2015
// and a year after the message was received).
func dateOfService(text string, received time.Time) (time.Time, bool) {
	for _, m := range reDOS.FindAllStringSubmatch(text, -1) {
		var y, mo, d int
		switch {
		case m[1] != "":
			mo, _ = strconv.Atoi(m[1])
			d, _ = strconv.Atoi(m[2])
			y, _ = strconv.Atoi(m[3])
			if y < 100 {
				y += 2000
			}
		case m[4] != "":
			y, _ = strconv.Atoi(m[4])
			mo, _ = strconv.Atoi(m[5])
			d, _ = strconv.Atoi(m[6])
		default:
			mo = int(months[strings.ToLower(m[7])[:3]])
			d, _ = strconv.Atoi(m[8])
			y, _ = strconv.Atoi(m[9])
		}
		if mo < 1 || mo > 12 || d < 1 || d > 31 || y < 2015 {
			continue
		}
		t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
		if t.Month() != time.Month(mo) || !received.IsZero() && t.After(received.AddDate(1, 0, 0)) {
			continue
		}
		return t, true
	}
	return time.Time{}, false
}

func has(lower string, words ...string) bool {
	for _, w := range words {
		if containsWord(lower, w) {
			return true
		}
	}
	return false
}

// containsWord reports whether w occurs in s at word boundaries.
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isWordByte(s[j-1])
		after := j+len(w) >= len(s) || !isWordByte(s[j+len(w)])
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// extractFacts reads the facts of a question from its text.
func extractFacts(text string, received time.Time) (Facts, time.Time) {
	var f Facts
	lower := strings.ToLower(text)
	dos, ok := dateOfService(text, received)
	if ok {
		f.DateOfService = dos.Format(time.DateOnly)
	}
	switch {
	case has(lower, "facility", "hospital outpatient", "opps", "asc", "ambulatory surgery center", "ub-04", "ub04", "inpatient", "outpatient hospital"):
		f.Setting = "facility"
	case has(lower, "professional", "pro fee", "profee", "physician", "office", "clinic", "cms-1500", "1500"):
		f.Setting = "professional"
	}
	switch {
	case has(lower, "medicare", "cms", "mac", "abn"):
		f.Payer = "medicare"
	case has(lower, "medicaid", "medi-cal"):
		f.Payer = "medicaid"
	case has(lower, "commercial", "bcbs", "blue cross", "aetna", "cigna", "united healthcare", "uhc", "humana"):
		f.Payer = "commercial"
	}
	masked := mask(text)
	for _, re := range reUnits {
		if m := re.FindStringSubmatch(masked); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
				f.Units = n
				break
			}
		}
	}
	f.Modifiers = modifiers(text)
	switch {
	case has(lower, "sequela", "sequelae", "late effect", "late effects"):
		f.Encounter = "sequela"
	case has(lower, "follow-up", "follow up", "followup", "f/u", "cast check", "cast change", "routine healing", "recheck", "subsequent", "snf", "rehab", "aftercare", "suture removal", "healing", "delayed healing", "nonunion", "non-union", "malunion"):
		f.Encounter = "subsequent"
	case has(lower, "initial", "ed", "er", "emergency", "first visit", "active treatment", "new injury", "today", "first seen"):
		f.Encounter = "initial"
	}
	switch {
	case has(lower, "nonunion", "non-union"):
		f.Healing = "nonunion"
	case has(lower, "malunion", "malunited"):
		f.Healing = "malunion"
	case has(lower, "delayed healing"):
		f.Healing = "delayed"
	case has(lower, "routine healing", "healing"):
		f.Healing = "routine"
	}
	f.Open = has(lower, "open fracture", "compound fracture")
	r, l := has(lower, "right", "rt"), has(lower, "left", "lt")
	switch {
	case has(lower, "bilateral", "both knees", "both sides", "both"):
		f.Laterality = "bilateral"
	case r && !l:
		f.Laterality = "right"
	case l && !r:
		f.Laterality = "left"
	}
	return f, dos
}

// modifiers finds the modifiers a question names: "modifier 25", "mod 59",
// "-25" after a code, "XS", "RT/LT".
func modifiers(text string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(m string) {
		m = strings.ToUpper(m)
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	for _, m := range reModWord.FindAllStringSubmatch(text, -1) {
		for _, p := range regexp.MustCompile(`[0-9A-Za-z]{2}`).FindAllString(m[1], -1) {
			// Capitals or digits only: "modifier on the E/M" names none.
			if p != strings.ToUpper(p) {
				continue
			}
			add(p)
		}
	}
	for _, m := range reModSuffix.FindAllStringSubmatch(text, -1) {
		add(m[1])
	}
	// Letters-only modifiers written in capitals are unambiguous; a bare
	// two-digit number is a modifier only when the text talks about
	// modifiers.
	talks := reModBareOK.MatchString(text)
	for _, m := range reModBare.FindAllString(mask(text), -1) {
		if isDigit(m[0]) && !talks {
			continue
		}
		add(m)
	}
	return out
}
