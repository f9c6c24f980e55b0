package search

import "strings"

// minSpellLen is the shortest query stem corrected: shorter words have too
// many neighbours one edit away to guess from.
const minSpellLen = 5

// correct replaces each query stem that no document of the searched
// systems contains by the indexed stem one edit away (a substitution,
// insertion, deletion or swap of adjacent letters: "pnuemonia" →
// "pneumonia", "diabetis" → "diabet") that most documents contain. A stem
// with no such neighbour is left as it is.
func (ix *Index) correct(toks []token, system string) {
	var segs []*segment
	for _, s := range ix.segs {
		if system == "" || s.system == system {
			segs = append(segs, s)
		}
	}
	for i := range toks {
		base, neg := strings.CutPrefix(toks[i].term, "!")
		if len(base) < minSpellLen || synonymStems[base] != nil || hasDigit(base) {
			continue
		}
		known := false
		for _, s := range segs {
			if _, ok := s.terms[base]; ok {
				known = true
				break
			}
		}
		if known {
			continue
		}
		best, bestDF := "", uint32(0)
		for _, s := range segs {
			for t, id := range s.terms {
				if len(t) < len(base)-1 || len(t) > len(base)+1 || !oneEdit(base, t) {
					continue
				}
				df := s.off[id+1] - s.off[id]
				if df > bestDF || df == bestDF && t < best {
					best, bestDF = t, df
				}
			}
		}
		if best != "" {
			if neg {
				best = "!" + best
			}
			toks[i].term = best
		}
	}
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

// oneEdit reports whether a and b differ by exactly one substitution,
// insertion, deletion or transposition of adjacent bytes.
func oneEdit(a, b string) bool {
	if a == b {
		return false
	}
	la, lb := len(a), len(b)
	switch {
	case la == lb:
		i := 0
		for i < la && a[i] == b[i] {
			i++
		}
		if a[i+1:] == b[i+1:] {
			return true // substitution
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:] // transposition
	case la == lb+1:
		a, b = b, a
		la, lb = lb, la
		fallthrough
	case la+1 == lb:
		i := 0
		for i < la && a[i] == b[i] {
			i++
		}
		return a[i:] == b[i+1:]
	}
	return false
}
