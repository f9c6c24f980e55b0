package codes

import (
	"sort"
	"time"
)

// maxNear caps the near matches returned for an unknown code.
const maxNear = 10

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// near suggests existing codes for an unknown normalized code c: the code
// with a missing placeholder X filled in, codes one edit away (a changed,
// swapped, missing or extra character), and the billable codes below its
// longest existing prefix.
func (kb *KB) near(c string, dos time.Time) []Near {
	if c == "" || len(c) > 8 {
		return nil
	}
	var out []Near
	seen := map[string]bool{}
	add := func(sys System, r *codeRec, reason string) {
		k := string(sys) + "|" + r.code
		if seen[k] || len(out) >= maxNear {
			return
		}
		seen[k] = true
		out = append(out, Near{System: sys, Code: Display(sys, r.code), Description: r.long, Reason: reason})
	}
	for _, sys := range []System{ICD10CM, HCPCS, CPT, PCS} {
		l, _, _ := inForce(kb.lists[sys], dos)
		if l == nil {
			continue
		}
		// ICD-10-CM placeholder X: a 7th character after fewer than six
		// characters needs X fillers (M80.08A → M80.08XA).
		if sys == ICD10CM && len(c) >= 4 && len(c) < 7 && isUpper(c[len(c)-1]) {
			base, ch := c[:len(c)-1], c[len(c)-1:]
			for len(base) < 6 {
				base += "X"
			}
			if r := l.byCode[base+ch]; r != nil {
				add(sys, r, "placeholder X added before the 7th character")
			}
		}
		var hits []*codeRec
		seenHit := map[*codeRec]bool{}
		try := func(b []byte) {
			// m[string(b)] does not allocate.
			if r := l.byCode[string(b)]; r != nil && !seenHit[r] {
				seenHit[r] = true
				hits = append(hits, r)
			}
		}
		buf := make([]byte, 0, len(c)+1)
		for i := 0; i <= len(c); i++ {
			for j := 0; j < len(alnum); j++ {
				if i < len(c) && alnum[j] != c[i] { // changed
					buf = append(append(append(buf[:0], c[:i]...), alnum[j]), c[i+1:]...)
					try(buf)
				}
				buf = append(append(append(buf[:0], c[:i]...), alnum[j]), c[i:]...) // extra
				try(buf)
			}
			if i < len(c) { // missing
				buf = append(append(buf[:0], c[:i]...), c[i+1:]...)
				try(buf)
			}
			if i+1 < len(c) { // swapped
				buf = append(append(append(buf[:0], c[:i]...), c[i+1], c[i]), c[i+2:]...)
				try(buf)
			}
		}
		sort.Slice(hits, func(i, j int) bool {
			if hits[i].billable != hits[j].billable {
				return hits[i].billable
			}
			return hits[i].code < hits[j].code
		})
		for _, r := range hits {
			add(sys, r, "one character different")
		}
		// Longest existing prefix: the codes below it.
		for n := len(c) - 1; n >= 3; n-- {
			p := l.byCode[c[:n]]
			if p == nil {
				continue
			}
			var walk func(*codeRec)
			walk = func(r *codeRec) {
				for _, ch := range r.children {
					if len(out) >= maxNear {
						return
					}
					if ch.billable {
						add(sys, ch, "billable code under "+Display(sys, p.code))
					}
					walk(ch)
				}
			}
			if p.billable {
				add(sys, p, "existing code "+Display(sys, p.code)+" is a prefix")
			}
			walk(p)
			break
		}
	}
	return out
}
