package search

import (
	"hash/maphash"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
)

// rawWord is one word of a text before stemming.
type rawWord struct {
	w     string
	cls   uint16 // wordClass bits
	paren bool   // inside (…) or […]: a nonessential modifier
	orig  bool   // a query's own word kept beside a lay-term rewrite
	brk   bool   // punctuation stands between this word and the one before
}

// token is one analysed word: its index term and how it counts.
type token struct {
	term string // stem; negated terms start with "!"
	opt  bool   // nonessential: counts when matched, costs nothing when not
	orig bool   // a query's own word beside its lay-term rewrite
}

// analyzer turns text into tokens. It caches stems and folded words and
// reuses its buffers, so one analyzer must not be shared between
// goroutines, and the tokens it returns are valid until its next call; the
// zero value is ready to use.
type analyzer struct {
	stems  map[string]string // word → stem; nil: no cache
	folded map[string]string // raw word → folded word; nil: no cache
	buf    []rawWord
	rw     []rawWord
	toks   []token
	sb     strings.Builder
	h      maphash.Hash
	// hash identifies the words of the last text analysed, stop words
	// included, in order (without the words a query keeps beside a lay
	// rewrite): equal hashes mean the same wording, so "fall from" and
	// "fall in", or "conduct" and "conduction", stay apart.
	hash uint64
}

// stem returns the index stem of a lower-case word: Snowball English, then
// Latin endings folded (see foldLatin).
func (a *analyzer) stem(w string) string {
	if a.stems != nil {
		if s, ok := a.stems[w]; ok {
			return s
		}
	}
	s := stemWord(w)
	if a.stems != nil {
		a.stems[w] = s
	}
	return s
}

// stemWord stems one lower-case word without a cache.
func stemWord(w string) string {
	if len(w) <= 2 || !isAlpha(w) {
		return w
	}
	return foldLatin(english.Stem(w, true))
}

func isAlpha(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}

// foldLatin removes the Latin/Greek noun and adjective endings the Snowball
// stemmer leaves, so anatomical nouns meet their adjectives: myocardium and
// myocardial, vertebra and vertebral, duodenum and duodenal, humerus and
// humeral, trachea and tracheal, ovary and ovarian. At least four letters
// must remain, which keeps short words intact.
func foldLatin(s string) string {
	for _, suf := range [...]string{"um", "us", "al", "an", "a"} {
		if strings.HasSuffix(s, suf) && len(s)-len(suf) >= 4 {
			return s[:len(s)-len(suf)]
		}
	}
	return s
}

// words splits text into lower-case words, folding accents and British
// spellings, splitting hyphenated words, expanding the slash abbreviations
// (w/, w/o, s/p, h/o, …) and recording parentheses and punctuation.
func (a *analyzer) words(text string) []rawWord {
	out := a.buf[:0]
	depth := 0
	brk := false
	i := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			// Comparisons are words in measure descriptors: "systolic
			// blood pressure >= 140" is not "< 140". A ">" between words
			// is a path separator (a break), not a comparison.
			if cmp, n := comparison(text[i:]); cmp != "" {
				out = append(out, rawWord{w: cmp, cls: wordClass[cmp], paren: depth > 0, brk: brk})
				brk = false
				i += n
				continue
			}
			switch r {
			case '(', '[':
				depth++
			case ')', ']':
				if depth > 0 {
					depth--
				}
			case '.':
				// A dot after a single letter abbreviates ("E. coli",
				// "C. diff"); any other dot ends a phrase.
				if !(i > 0 && isASCIILetter(text[i-1]) && (i < 2 || !isASCIILetter(text[i-2]))) {
					brk = true
				}
			case ',', ';', ':', '!', '?', '>', '|', '\n', '\r':
				brk = true
			}
			i += size
			continue
		}
		// A word: letters, digits, apostrophes, slashes, and dots between digits.
		start := i
		for i < len(text) {
			r, size = utf8.DecodeRuneInString(text[i:])
			if isWordRune(r) {
				i += size
				continue
			}
			if r == '.' && i > start && i+1 < len(text) && isDigit(text[i-1]) && isDigit(text[i+1]) {
				i += size
				continue
			}
			break
		}
		n := len(out)
		out = a.appendWords(out, text[start:i], depth > 0, brk)
		if len(out) > n {
			brk = false
		}
	}
	a.buf = out
	return out
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func isASCIILetter(b byte) bool { return b|0x20 >= 'a' && b|0x20 <= 'z' }

// comparison reads a comparison operator followed by a number ("<=40",
// ">= 90", "≥ 2") or a "+" that ends a word ("pro+") at the start of s and
// returns the word it stands for and its length in bytes.
func comparison(s string) (string, int) {
	var word string
	n := 0
	switch {
	case strings.HasPrefix(s, ">="), strings.HasPrefix(s, "=>"):
		word, n = "atleast", 2
	case strings.HasPrefix(s, "<="), strings.HasPrefix(s, "=<"):
		word, n = "atmost", 2
	case strings.HasPrefix(s, "≥"):
		word, n = "atleast", len("≥")
	case strings.HasPrefix(s, "≤"):
		word, n = "atmost", len("≤")
	case strings.HasPrefix(s, ">"):
		word, n = "over", 1
	case strings.HasPrefix(s, "<"):
		word, n = "under", 1
	case strings.HasPrefix(s, "+"):
		if len(s) == 1 || !isWordRune(rune(s[1])) {
			return "plus", 1
		}
		return "", 0
	default:
		return "", 0
	}
	rest := strings.TrimLeft(s[n:], " ")
	if rest == "" || !isDigit(rest[0]) {
		return "", 0
	}
	return word, n
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '’' || r == '/'
}

// appendWords normalises one run of word characters into zero or more
// words and appends them to out.
func (a *analyzer) appendWords(out []rawWord, s string, paren, brk bool) []rawWord {
	add := func(w string) {
		if w != "" {
			out = append(out, rawWord{w: w, cls: wordClass[w], paren: paren, brk: brk})
			brk = false
		}
	}
	s = a.fold(s)
	if strings.IndexByte(s, '/') < 0 {
		add(s)
		return out
	}
	if exp, ok := slashAbbrev[s]; ok {
		for _, w := range strings.Fields(exp) {
			add(w)
		}
		return out
	}
	switch {
	case strings.HasPrefix(s, "w/o"):
		add("without")
		s = s[3:]
	case strings.HasPrefix(s, "w/"):
		add("with")
		s = s[2:]
	}
	for _, p := range strings.Split(s, "/") {
		add(p)
	}
	return out
}

// fold lower-cases s, removes apostrophes and accents, and maps the British
// digraphs ae and oe to e (anaemia, oedema, haemorrhage).
func (a *analyzer) fold(s string) string {
	plain := true // lower-case ASCII letters and digits only: s is its own fold
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			plain = false
			break
		}
	}
	if plain && !strings.Contains(s, "ae") && !strings.Contains(s, "oe") {
		return s
	}
	if w, ok := a.folded[s]; ok {
		return w
	}
	w := a.foldSlow(s)
	if a.folded != nil {
		a.folded[s] = w
	}
	return w
}

func (a *analyzer) foldSlow(s string) string {
	a.sb.Reset()
	for _, r := range s {
		switch {
		case r == '\'' || r == '’':
			continue
		case r < utf8.RuneSelf:
			a.sb.WriteByte(byte(unicode.ToLower(r)))
		default:
			a.sb.WriteString(foldRune(unicode.ToLower(r)))
		}
	}
	w := a.sb.String()
	if (strings.HasSuffix(s, "'s") || strings.HasSuffix(s, "’s")) && strings.HasSuffix(w, "s") {
		w = w[:len(w)-1] // possessive: Alzheimer's → alzheimer
	}
	if strings.Contains(w, "ae") || strings.Contains(w, "oe") {
		w = foldDigraphs(w)
	}
	return w
}

// foldDigraphs maps ae/oe to e (anaemia → anemia, oedema → edema), except
// in words ending in oe or oes, where the o is its own vowel (toe, shoes).
// Documents and queries are folded alike, so a word folded needlessly
// (aerobic → erobic) still matches itself.
func foldDigraphs(w string) string {
	if strings.HasSuffix(w, "oe") || strings.HasSuffix(w, "oes") {
		return w
	}
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		if i+1 < len(w) && w[i+1] == 'e' && (w[i] == 'a' || w[i] == 'o') {
			continue
		}
		b.WriteByte(w[i])
	}
	return b.String()
}

// foldRune maps accented Latin letters to ASCII.
func foldRune(r rune) string {
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å':
		return "a"
	case 'æ':
		return "e"
	case 'ç':
		return "c"
	case 'è', 'é', 'ê', 'ë':
		return "e"
	case 'ì', 'í', 'î', 'ï':
		return "i"
	case 'ñ':
		return "n"
	case 'ò', 'ó', 'ô', 'õ', 'ö', 'ø':
		return "o"
	case 'œ':
		return "e"
	case 'ù', 'ú', 'û', 'ü':
		return "u"
	case 'ý', 'ÿ':
		return "y"
	case 'ß':
		return "ss"
	}
	if unicode.IsLetter(r) || unicode.IsDigit(r) {
		return string(r)
	}
	return ""
}

// analyzeOptions says how to read a text.
type analyzeOptions struct {
	query bool // a query: drop narrative filler, apply lay terms
	// icd reads ICD-10-CM conventions: parenthesised words are
	// nonessential modifiers, and so are the 7th-character suffix
	// (", initial encounter for closed fracture") and "unspecified".
	icd bool
}

// analyze turns text into tokens: words, lexicon rewrites, stop words,
// negation scopes, nonessential modifiers and stems.
func (a *analyzer) analyze(text string, o analyzeOptions) []token {
	ws := a.rewrite(a.words(text), o.query)
	out := a.toks[:0]
	defer func() { a.toks = out[:0] }()
	a.h.SetSeed(hashSeed)
	for _, w := range ws {
		if !w.orig {
			a.h.WriteString(w.w)
			a.h.WriteByte(0)
		}
	}
	a.hash = a.h.Sum64()
	neg, opt := false, false // current scope
	negated := 0             // content words negated in the current scope
	suffix := false          // inside an ICD-10-CM 7th-character suffix
	optNext := false         // the word after "unspecified" is a default
	for i, w := range ws {
		designator := false
		if w.brk {
			neg, opt = false, false
		}
		if o.icd && !o.query && w.brk && w.cls&wcSuffixStart != 0 {
			suffix = true
		}
		switch {
		case w.cls&wcNegator != 0:
			// "with or without X": X is neither required nor excluded.
			if w.w == "without" && i >= 2 && ws[i-1].w == "or" && ws[i-2].w == "with" {
				neg, opt = false, true
			} else {
				neg, opt = true, false
			}
			negated = 0
			continue
		case w.cls&wcScopeEnd != 0:
			if negated > 0 || !neg {
				neg, opt = false, false
			}
			continue
		case (w.w == "a" || w.w == "i") && i > 0 && ws[i-1].cls&wcDesignatorHead != 0:
			// "vitamin A", "grade I": a designator, not an article or pronoun.
			designator = true
		case w.cls&wcStop != 0:
			continue
		}
		t := a.stem(w.w)
		if neg {
			t = "!" + t
			negated++
		}
		tok := token{term: t, opt: opt || w.orig || suffix || (o.icd && w.paren), orig: w.orig}
		if o.query && w.cls&wcFiller != 0 && !designator {
			tok.opt = true // narrative filler: counts only where a text has it
		}
		if o.icd && neg {
			// "without X" is the ICD-10-CM default when X is not mentioned:
			// it costs nothing when the query is silent on X.
			tok.opt = true
		}
		if o.icd && !o.query {
			if optNext {
				tok.opt = true
				optNext = false
			}
			if w.w == "unspecified" {
				// "unspecified site", "of unspecified femur," name the
				// default; "with unspecified complications" does not.
				tok.opt = true
				if i+1 < len(ws) && (ws[i+1].cls&wcDefaultHead != 0 ||
					i > 0 && ws[i-1].w == "of" && (i+2 == len(ws) || ws[i+2].brk)) {
					optNext = true
				}
			}
		}
		out = append(out, tok)
	}
	return out
}

// suffixStarts open the 7th-character part of an ICD-10-CM descriptor
// after a comma: ", initial encounter …", ", subsequent encounter …",
// ", sequela".
var suffixStarts = map[string]bool{"initial": true, "subsequent": true, "sequela": true}

// designatorHeads are words followed by a letter or roman numeral that
// names a kind: vitamin A, hepatitis A, grade I, zone II, class I.
var designatorHeads = map[string]bool{
	"vitamin": true, "hepatitis": true, "type": true, "group": true, "factor": true,
	"influenza": true, "class": true, "grade": true, "zone": true, "stage": true,
	"phase": true, "hemophilia": true, "schedule": true, "part": true, "level": true,
	"tier": true, "category": true, "degree": true, "protein": true, "streptococcus": true,
}

// defaultHeads follow "unspecified" in phrases that name the ICD-10-CM
// default rather than a thing ("unspecified site", "unspecified part").
var defaultHeads = map[string]bool{
	"site": true, "sites": true, "part": true, "parts": true, "side": true, "type": true,
	"kind": true, "cause": true, "severity": true, "class": true, "stage": true,
	"trimester": true, "episode": true, "organism": true, "laterality": true,
}

// Word classes, looked up once per word (wordClass).
const (
	wcNegator        uint16 = 1 << iota // starts a negation scope
	wcScopeEnd                          // ends a negation scope; a stop word too
	wcStop                              // carries no meaning for matching
	wcFiller                            // narrative filler in a query
	wcDesignatorHead                    // "vitamin" in "vitamin A"
	wcSuffixStart                       // opens an ICD-10-CM 7th-character suffix
	wcDefaultHead                       // "site" in "unspecified site"
	wcAbbrevFirst                       // first word of an abbreviation rewrite
	wcLayFirst                          // first word of a lay-term rewrite
)

// wordClass maps a word to its class bits.
var wordClass = func() map[string]uint16 {
	m := map[string]uint16{}
	for _, c := range []struct {
		words map[string]bool
		bit   uint16
	}{
		{negators, wcNegator}, {scopeEnders, wcScopeEnd}, {stopWords, wcStop}, {queryFiller, wcFiller},
		{designatorHeads, wcDesignatorHead}, {suffixStarts, wcSuffixStart}, {defaultHeads, wcDefaultHead},
	} {
		for w, ok := range c.words {
			if ok {
				m[w] |= c.bit
			}
		}
	}
	for w := range abbrevByFirst {
		m[w] |= wcAbbrevFirst
	}
	for w := range layByFirst {
		m[w] |= wcLayFirst
	}
	return m
}()

// negators start a negation scope.
var negators = map[string]bool{"without": true, "no": true, "not": true}

// scopeEnders end a negation scope; they are stop words too.
var scopeEnders = map[string]bool{
	"with": true, "of": true, "in": true, "on": true, "at": true, "due": true, "to": true,
	"for": true, "by": true, "from": true, "involving": true,
	"following": true, "but": true, "except": true, "as": true, "into": true, "after": true,
	"during": true, "than": true, "while": true,
}

// stopWords carry no meaning for matching. "other", "unspecified" and the
// like are kept: their low weight already makes them cheap.
var stopWords = map[string]bool{
	"a": true, "an": true, "the": true, "is": true, "are": true, "was": true, "were": true,
	"be": true, "been": true, "being": true, "has": true, "have": true, "had": true,
	"having": true, "this": true, "that": true, "these": true, "those": true, "it": true,
	"its": true, "then": true, "there": true, "which": true, "who": true, "whom": true,
	"whose": true, "per": true, "each": true, "any": true, "also": true, "only": true,
	"such": true, "so": true, "very": true, "s": true,
	// "and"/"or" do not end a negation: "without perforation or abscess"
	// excludes both.
	"and": true, "or": true,
}

// queryFiller are words of a narrative or a question that never name a
// condition or service ("What is the ICD-10 code for a patient with …").
var queryFiller = map[string]bool{
	"patient": true, "patients": true, "pt": true, "pts": true, "presents": true,
	"presenting": true, "presented": true, "complains": true, "complaining": true,
	"diagnosed": true, "diagnosis": true, "dx": true, "noted": true, "known": true,
	"yo": true, "year": true, "years": true, "old": true, "i": true, "my": true, "me": true,
	"we": true, "our": true, "you": true, "your": true, "he": true, "she": true, "his": true,
	"her": true, "they": true, "their": true, "code": true, "codes": true, "coding": true,
	"coded": true, "icd": true, "icd10": true, "icd10cm": true, "cm": true, "hcpcs": true,
	"pcs": true, "cpt": true, "what": true, "whats": true, "which": true, "how": true,
	"should": true, "would": true, "could": true, "can": true, "do": true, "does": true,
	"did": true, "use": true, "correct": true, "please": true,
	"help": true, "need": true, "thanks": true, "thank": true, "hi": true, "hello": true,
	"about": true, "regarding": true, "question": true, "get": true, "got": true,
	"am": true, "im": true, "if": true, "when": true, "where": true, "why": true,
	"some": true, "like": true, "seems": true, "probably": true, "maybe": true,
}
