package mailparse

import (
	"regexp"
	"strings"
)

// maxNewTextInput bounds the text NewText examines; anything beyond is
// returned as quoted context.
const maxNewTextInput = 1 << 20

var (
	// attribution matches a reply header such as "On Mon, 5 Jan 2026 at
	// 10:00, Jane Doe <jane@example.org> wrote:" (possibly wrapped over up
	// to three lines) and its common translations.
	attribution = regexp.MustCompile(`(?is)^\s*(?:on|am|le|el|il|op|em|den|w dniu)\s.{0,400}(?:wrote|writes|schrieb|a écrit|escribió|ha scritto|schreef|escreveu|skrev|napisał)\s*:\s*$|(?is)^\s*(?:am|le|el|il|op|em|den)\s.{0,200}\s(?:schrieb|a écrit|escribió|ha scritto|schreef|escreveu|skrev)\s.{0,200}:\s*$`)
	// attributionShort matches "Jane Doe <jane@example.org> wrote:" and
	// "2026-01-05 10:00 GMT+01:00 Jane <jane@example.org>:" forms.
	attributionShort = regexp.MustCompile(`(?i)^\s*\S.{0,200}(?:\swrote|\sschrieb|\sa écrit)\s*:\s*$|^\s*\d{4}-\d{2}-\d{2} .{0,200}<[^>\s]+@[^>\s]+>:\s*$`)
	// separator matches "-----Original Message-----" and its relatives.
	separator = regexp.MustCompile(`(?i)^\s*[-_=*]{2,}\s*(?:original message|forwarded message|ursprüngliche nachricht|weitergeleitete nachricht|message d'origine|message transféré|mensaje original|mensaje reenviado|messaggio originale|oorspronkelijk bericht)\s*[-_=*]{2,}\s*$|^\s*begin forwarded message\s*:\s*$`)
	// underscores is the rule Outlook puts above its quoted header block.
	underscores = regexp.MustCompile(`^\s*_{20,}\s*$`)
	// quoteFrom and quoteField match an Outlook-style quoted header block
	// ("From: …" then "Sent:", "To:", "Subject:" lines), in several languages.
	quoteFrom  = regexp.MustCompile(`(?i)^\s*\*?(?:from|von|de|van|da|od|från)\s*\*?\s*:\s*\*?\s*\S`)
	quoteField = regexp.MustCompile(`(?i)^\s*\*?(?:sent|date|to|cc|subject|gesendet|datum|an|betreff|envoyé|date|à|objet|enviado|fecha|para|asunto|inviato|oggetto|verzonden|aan|onderwerp)\s*\*?\s*:`)
	// signOff matches a closing line on its own.
	signOff = regexp.MustCompile(`(?i)^\s*(?:thanks|thank you|thanks again|thanks in advance|thank you in advance|many thanks|much appreciated|best|best regards|kind regards|warm regards|warmest regards|regards|sincerely|sincerely yours|yours truly|cheers|respectfully|cordially|all the best|best wishes|with thanks|thx|ty|mit freundlichen grüßen|viele grüße|beste grüße|cordialement|saludos|un saluto)\s*[,.!-]*\s*$`)
	// loneName matches a closing line that is just a name, optionally after
	// a sign-off: "Jane", "Jane Doe", "Thanks, Jane", "-- J.".
	loneName = regexp.MustCompile(`^\s*(?:(?:thanks|thank you|regards|best|cheers|best regards|kind regards)[,!.]?\s+)?-?\s*\p{Lu}(?:[\p{L}'-]{1,20}|\.)(?:\s\p{Lu}(?:[\p{L}'-]{1,20}|\.)){0,2}\s*$`)
	// mobileFooter matches the footers phone mail apps add.
	mobileFooter = regexp.MustCompile(`(?i)^\s*(?:sent from my \w+|sent from (?:outlook|mail|yahoo mail|gmail)\b.*|get outlook for \w+.*|sent via \w+.*|von meinem \w+ gesendet|envoyé de mon \w+)\s*$`)
	// contactLine matches lines typical of a contact block.
	contactLine = regexp.MustCompile(`(?i)(?:\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b|\+\d[\d\s().-]{7,}\d|[\w.+-]+@[\w-]+\.[\w.-]+|\bwww\.|https?://|\s\|\s|^(?:tel|phone|fax|mobile|cell|direct|office)\b|\bext\.?\s*\d|,\s*(?:CPC|CCS|CCS-P|RHIT|RHIA|CRC|COC|CPMA|CPB|CIC|CDIP|CCDS|CEMC|CPCO|RN|MD|MBA|LPN)\b)`)
)

// notNames are one-word answers that loneName would take for a name.
var notNames = map[string]bool{
	"yes": true, "no": true, "ok": true, "okay": true, "correct": true, "right": true, "both": true,
	"neither": true, "none": true, "sure": true, "medicare": true, "medicaid": true, "established": true,
	"new": true, "confirmed": true, "agreed": true, "done": true, "inpatient": true, "outpatient": true,
}

// NewText separates the new text of a reply from what it quotes and from
// its signature. Quoted history starts at the first attribution line ("On …
// wrote:"), "-----Original Message-----" or forwarded-message separator, or
// Outlook "From:/Sent:/To:/Subject:" block; before that, lines starting
// with ">" are quoted too (so inline answers between quotes stay new text).
// The signature starts at a "-- " line, a sign-off ("Thanks,", "Best
// regards,") followed by a short block, a phone-app footer, or a trailing
// contact block. question is empty when a message only quotes or forwards;
// callers may then fall back to quoted.
func NewText(body string) (question, quoted, signature string) {
	body = clean(body)
	rest := ""
	if len(body) > maxNewTextInput {
		cut := cutUTF8(body, maxNewTextInput)
		body, rest = cut, body[len(cut):]
	}
	lines := strings.Split(body, "\n")
	cut := quoteStart(lines)

	var fresh, quotedLines []string
	inQuote := false
	for i := 0; i < cut; i++ {
		l := lines[i]
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, ">") {
			if n := attributionAt(lines, i); n > 0 && i+n <= cut && followedByQuote(lines, i+n) {
				quotedLines = append(quotedLines, lines[i:i+n]...)
				i += n - 1
				inQuote = true
				continue
			}
		}
		if strings.HasPrefix(t, ">") {
			quotedLines = append(quotedLines, l)
			inQuote = true
			continue
		}
		if t == "" && inQuote {
			// A blank line inside a quoted run belongs to it unless new text
			// follows.
			if next := nextNonBlank(lines, i+1, cut); next >= 0 && strings.HasPrefix(strings.TrimSpace(lines[next]), ">") {
				quotedLines = append(quotedLines, l)
				continue
			}
		}
		inQuote = false
		fresh = append(fresh, l)
	}
	quotedLines = append(quotedLines, lines[cut:]...)
	fresh, sig := splitSignature(fresh)
	question = tidyText(strings.Join(fresh, "\n"))
	quoted = strings.TrimSpace(strings.Join(quotedLines, "\n") + rest)
	signature = strings.TrimSpace(strings.Join(sig, "\n"))
	return question, quoted, signature
}

// quoteStart returns the index of the first line of quoted history, or
// len(lines).
func quoteStart(lines []string) int {
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, ">") {
			continue
		}
		if separator.MatchString(l) {
			return i
		}
		if underscores.MatchString(l) {
			if j := nextNonBlank(lines, i+1, len(lines)); j >= 0 && quoteFrom.MatchString(lines[j]) && outlookBlock(lines, j) {
				return i
			}
		}
		if quoteFrom.MatchString(l) && outlookBlock(lines, i) {
			return i
		}
		// An attribution ends the new text when only quoted lines follow it;
		// when new text follows (inline answers), it is not a cut.
		if n := attributionAt(lines, i); n > 0 && !unquotedAfter(lines, i+n) {
			return i
		}
	}
	return len(lines)
}

// attributionAt returns how many lines (1 to 3) the attribution starting at
// line i spans, or 0 when there is none.
func attributionAt(lines []string, i int) int {
	joined := strings.TrimSpace(lines[i])
	for k := 0; k < 3 && i+k < len(lines); k++ {
		if k > 0 {
			joined += " " + strings.TrimSpace(lines[i+k])
		}
		if len(joined) > 500 {
			return 0
		}
		if !strings.HasSuffix(joined, ":") {
			continue
		}
		if attribution.MatchString(joined) || (k == 0 && attributionShort.MatchString(joined) && followedByQuote(lines, i+1)) {
			return k + 1
		}
	}
	return 0
}

// unquotedAfter reports whether a non-blank line not starting with ">"
// follows line i.
func unquotedAfter(lines []string, i int) bool {
	for k := i; k < len(lines); k++ {
		t := strings.TrimSpace(lines[k])
		if t != "" && !strings.HasPrefix(t, ">") {
			return true
		}
	}
	return false
}

// outlookBlock reports whether the "From:" line at i is followed, within six
// lines, by at least two more quoted-header fields.
func outlookBlock(lines []string, i int) bool {
	n := 0
	for k := i + 1; k < len(lines) && k <= i+6; k++ {
		if quoteField.MatchString(lines[k]) {
			n++
		}
	}
	return n >= 2
}

// followedByQuote reports whether the next non-blank line from i is quoted.
func followedByQuote(lines []string, i int) bool {
	j := nextNonBlank(lines, i, len(lines))
	return j >= 0 && strings.HasPrefix(strings.TrimSpace(lines[j]), ">")
}

func nextNonBlank(lines []string, from, to int) int {
	for k := from; k < to && k < len(lines); k++ {
		if strings.TrimSpace(lines[k]) != "" {
			return k
		}
	}
	return -1
}

// splitSignature splits the new text into body and signature.
func splitSignature(lines []string) (body, sig []string) {
	// RFC 3676 section 4.3 signature delimiter "-- ".
	for i, l := range lines {
		if l == "-- " || (l == "--" && len(lines)-i <= 15) {
			return lines[:i], lines[i:]
		}
	}
	end := len(lines)
	for end > 0 && strings.TrimSpace(lines[end-1]) == "" {
		end--
	}
	start := end
	// Phone-app footers at the end.
	for k := end - 1; k >= 0 && k >= end-3; k-- {
		if mobileFooter.MatchString(lines[k]) {
			start = k
		}
	}
	// A sign-off followed by a short block (name, title, contact details).
	for k := max(0, start-12); k < start; k++ {
		if !signOff.MatchString(lines[k]) {
			continue
		}
		if shortBlock(lines[k+1 : start]) {
			start = k
			break
		}
	}
	if start == end {
		// A trailing contact block without a sign-off.
		if b := lastParagraph(lines[:end]); b >= 0 && contactBlock(lines[b:end]) {
			start = b
		}
	}
	if start == end {
		// A lone name (or "Thanks, Name") closing the message.
		if b := lastParagraph(lines[:end]); b >= 0 && b == end-1 && loneName.MatchString(lines[b]) && !notNames[strings.ToLower(strings.TrimSpace(lines[b]))] {
			start = b
		}
	}
	if start == end {
		return lines, nil
	}
	return lines[:start], lines[start:]
}

// shortBlock reports whether lines look like the tail of a signature: at
// most eight non-blank lines of at most 80 characters, with no question.
func shortBlock(lines []string) bool {
	n := 0
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		n++
		if len(t) > 80 || strings.HasSuffix(t, "?") {
			return false
		}
	}
	return n <= 8
}

// lastParagraph returns the index of the first line of the last paragraph,
// or -1 when there is only one paragraph.
func lastParagraph(lines []string) int {
	for k := len(lines) - 1; k >= 0; k-- {
		if strings.TrimSpace(lines[k]) == "" {
			if k+1 < len(lines) {
				return k + 1
			}
			return -1
		}
	}
	return -1
}

// contactBlock reports whether a paragraph is a contact block: two to
// eight short lines, at least two and at least half of them phone numbers,
// addresses, web sites or credentials, and no question.
func contactBlock(lines []string) bool {
	if len(lines) < 2 || len(lines) > 8 {
		return false
	}
	hits := 0
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if len(t) > 70 || strings.Contains(t, "?") {
			return false
		}
		if contactLine.MatchString(t) {
			hits++
		}
	}
	return hits >= 2 && hits*2 >= len(lines)
}
