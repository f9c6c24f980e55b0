package codes

import (
	"regexp"
	"strings"
)

// codeRef is a code or range of codes named in a Tabular note, such as
// "(E08.-)", "(M48.5)" or "(P35-P39)". A code with or without the trailing
// "-" covers itself and every code below it (ICD-10-CM Guidelines I.A.8: a
// dash means the code is incomplete; a header named in an Excludes note
// covers its children).
type codeRef struct {
	from, to string // normalized; to is set for ranges
}

func (r codeRef) covers(c string) bool {
	if r.to == "" {
		return strings.HasPrefix(c, r.from)
	}
	if len(c) < len(r.from) || len(c) < len(r.to) {
		return false
	}
	return c[:len(r.from)] >= r.from && c[:len(r.to)] <= r.to
}

// String returns the reference in display form.
func (r codeRef) String() string {
	s := Display(ICD10CM, r.from)
	if r.to != "" {
		s += "-" + Display(ICD10CM, r.to)
	}
	return s
}

var (
	reParen   = regexp.MustCompile(`\(([^()]*)\)`)
	reCodeRef = regexp.MustCompile(`\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?)(?:-([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?)|\.?-)?`)
)

// parseCodeRefs returns the codes and ranges named in parentheses in a
// note's text.
func parseCodeRefs(text string) []codeRef {
	var out []codeRef
	for _, p := range reParen.FindAllStringSubmatch(text, -1) {
		for _, m := range reCodeRef.FindAllStringSubmatch(p[1], -1) {
			r := codeRef{from: Normalize(m[1])}
			if m[2] != "" {
				r.to = Normalize(m[2])
			}
			out = append(out, r)
		}
	}
	return out
}
