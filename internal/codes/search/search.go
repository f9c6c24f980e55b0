package search

import (
	"math"
	"slices"
	"strings"
)

// Limits on the number of results.
const (
	DefaultLimit = 10
	MaxLimit     = 100
)

// Options narrows a search.
type Options struct {
	// System restricts results to one code system ("icd10cm", "pcs",
	// "hcpcs", "cpt"); empty means all systems in the index.
	System string
	// Limit is the maximum number of results; 0 or less means
	// DefaultLimit, and it is capped at MaxLimit.
	Limit int
}

// Result is one ranked code.
type Result struct {
	// System and Code identify the code ("icd10cm", "E11.22").
	System string `json:"system"`
	Code   string `json:"code"`
	// Description is the code's long descriptor (or, for a code fed
	// without one, the text of its first document).
	Description string `json:"description"`
	// Evidence says why the code matched: the Alphabetic Index path, the
	// inclusion term or the descriptor whose words matched best.
	Evidence string `json:"evidence"`
	// Score is the match quality: 1 means every word of the query and of
	// the matched text agree; an exact descriptor match scores a little
	// above 1. Scores are comparable across systems and queries.
	Score float64 `json:"score"`
	// Billable is true for codes valid on a claim.
	Billable bool `json:"billable"`
	// Field is the kind of text that matched ("long", "index", …).
	Field string `json:"field"`
}

// Ranking constants; docs/search.md explains them.
const (
	recallWeight = 4.0  // β² of the F-measure: recall counts twice as much as precision
	exactBonus   = 0.05 // the query is the document's text, word for word
	headerFactor = 0.85 // a header ranks below a billable code that matches nearly as well
	childFactor  = 0.97 // a billable code found through its header (see propagate)
	ownWeight    = 0.01 // how much a child's own match orders the children of one header
	groupFactor  = 0.97 // per contrast group the query is silent on (side, encounter, …)
	minScore     = 0.05
	minRecall    = 0.2 // a text that explains less of the query is not a result
)

// fieldFactor ranks equally good matches: descriptor, inclusion term,
// index path, then short descriptor and anything else.
var fieldFactor = [...]float32{1, 0.995, 0.99, 0.98}

// concept is one query word with its synonyms; it counts once.
type concept struct {
	stems []string
	opt   bool
}

// Search ranks codes for a narrative query, best first, at most one result
// per code. An empty or meaningless query returns no results.
func (ix *Index) Search(query string, opts Options) []Result {
	limit := opts.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	var a analyzer
	toks := a.analyze(query, analyzeOptions{query: true})
	if len(toks) == 0 {
		return nil
	}
	ix.correct(toks, opts.System)
	q := preparedQuery{
		concepts: concepts(toks),
		groups:   queryGroups(toks),
		hash:     a.hash,
	}
	var cands []cand
	for _, s := range ix.segs {
		if opts.System != "" && s.system != opts.System {
			continue
		}
		cands = s.search(&q, limit, cands)
	}
	slices.SortFunc(cands, compareCands)
	if len(cands) > limit {
		cands = cands[:limit]
	}
	out := make([]Result, len(cands))
	for i, c := range cands {
		d := &c.seg.docs[c.doc]
		ci := &c.seg.codes[c.code]
		ev := evidence(d)
		if c.via >= 0 {
			// Found through its header: say so, so the coder sees which
			// index entry or category led here.
			ev += " → " + c.seg.codes[c.via].code + " → " + ci.code
		}
		out[i] = Result{
			System:      c.seg.system,
			Code:        ci.code,
			Description: ci.desc,
			Evidence:    ev,
			Score:       math.Round(float64(c.score)*1e4) / 1e4,
			Billable:    ci.billable,
			Field:       d.Field,
		}
	}
	return out
}

// evidence is what a result shows as the reason it matched.
func evidence(d *Doc) string {
	if d.Evidence != "" {
		return d.Evidence
	}
	switch d.Field {
	case FieldLong:
		return "Descriptor: " + d.Text
	case FieldShort:
		return "Short descriptor: " + d.Text
	case FieldInclusion:
		return "Inclusion term: " + d.Text
	case FieldIndex:
		return "Index: " + d.Text
	case "":
		return d.Text
	}
	return d.Field + ": " + d.Text
}

type preparedQuery struct {
	concepts []concept
	groups   uint8
	hash     uint64
}

// concepts groups query tokens into concepts: one per distinct word, with
// its synonyms; a word both essential and nonessential is essential.
func concepts(toks []token) []concept {
	var out []concept
	seen := map[string]int{}
	for _, t := range toks {
		base, neg := strings.CutPrefix(t.term, "!")
		alts := synonymStems[base]
		if alts == nil {
			alts = []string{base}
		}
		key := alts[0]
		if neg {
			key = "!" + key
		}
		if i, ok := seen[key]; ok {
			out[i].opt = out[i].opt && t.opt
			continue
		}
		stems := make([]string, len(alts))
		for i, s := range alts {
			if neg {
				s = "!" + s
			}
			stems[i] = s
		}
		seen[key] = len(out)
		out = append(out, concept{stems: stems, opt: t.opt})
	}
	return out
}

// cand is a candidate result: the best document of one code.
type cand struct {
	seg      *segment
	doc      int32
	code     int32
	via      int32 // header the code was reached through, or -1
	score    float32
	field    uint8
	billable bool
}

// compareCands orders candidates best first, with stable tie-breaks:
// score, billable before header, field rank, system, code, document.
func compareCands(a, b cand) int {
	switch {
	case a.score != b.score:
		if a.score > b.score {
			return -1
		}
		return 1
	case a.billable != b.billable:
		if a.billable {
			return -1
		}
		return 1
	case a.field != b.field:
		return int(a.field) - int(b.field)
	case a.seg != b.seg:
		return strings.Compare(a.seg.system, b.seg.system)
	case a.code != b.code:
		return int(a.code - b.code)
	}
	return int(a.doc - b.doc)
}

// resolved is a concept mapped to this segment's term ids.
type resolved struct {
	ids []uint32
	w   float32
	opt bool
}

// search scores the segment's documents for q and appends its best limit
// codes to out.
//
// Postings are read rarest concept first. Only the first grow concepts may
// add documents to the candidates; the others only update documents already
// found (the MaxScore idea), so a query full of common words ("other",
// "initial encounter", "right") does not score half the code set. A
// document that none of the growing concepts matched has a recall of at
// most bound, hence a score of at most fMax; when the limit-th result
// already scores that much the answer is exact, otherwise the search runs
// again with every concept growing.
func (s *segment) search(q *preparedQuery, limit int, out []cand) []cand {
	var rcs []resolved
	var qreq, qopt float32
	for _, c := range q.concepts {
		var r resolved
		for _, st := range c.stems {
			if id, ok := s.terms[st]; ok {
				r.ids = append(r.ids, id)
				r.w = max(r.w, s.idf[id])
			}
		}
		if len(r.ids) == 0 {
			continue // a word no document of this system has
		}
		r.opt = c.opt
		if r.opt {
			qopt += r.w
		} else {
			qreq += r.w
		}
		rcs = append(rcs, r)
	}
	if len(rcs) == 0 {
		return out
	}
	slices.SortStableFunc(rcs, func(a, b resolved) int {
		if a.opt != b.opt {
			if b.opt {
				return -1
			}
			return 1
		}
		switch {
		case a.w > b.w:
			return -1
		case a.w < b.w:
			return 1
		}
		return 0
	})
	sc := s.getScratch()
	defer s.putScratch(sc)

	// First try: grow with the rarest concepts that carry half the
	// essential weight (at least one).
	grow, done := 0, float32(0)
	for grow < len(rcs) && !rcs[grow].opt && (grow == 0 || done < qreq/2) {
		done += rcs[grow].w
		grow++
	}
	for {
		top := s.run(sc, rcs, grow, qreq, q, limit)
		if grow == len(rcs) {
			return append(out, top...)
		}
		rest := qreq - done // essential weight that cannot add documents
		bound := (rest + qopt) / (qreq + qopt)
		fMax := (1 + recallWeight) * bound / (recallWeight + bound)
		if bound < minRecall || len(top) == limit && top[limit-1].score >= fMax {
			return append(out, top...)
		}
		grow = len(rcs) // rare: fall back to an exhaustive pass
	}
}

// run is one pass of search: concepts before grow may add candidates.
func (s *segment) run(sc *scratch, rcs []resolved, grow int, qreq float32, q *preparedQuery, limit int) []cand {
	gen := sc.next()
	for ci, r := range rcs {
		growing := ci < grow
		for _, t := range r.ids {
			idf := s.idf[t]
			for _, p := range s.post[s.off[t]:s.off[t+1]] {
				d := p >> 1
				// The bitmap of touched documents fits in cache, the
				// accumulators do not: test it before touching them.
				if w, bit := d>>6, uint64(1)<<(d&63); sc.seen[w]&bit == 0 {
					if !growing {
						continue
					}
					sc.seen[w] |= bit
					sc.acc[d] = accum{last: -1}
					sc.touched = append(sc.touched, int32(d))
				}
				ac := &sc.acc[d]
				if p&1 == 0 {
					ac.dm += idf
				}
				if ac.last == int32(ci) {
					continue // the concept already counted through a synonym
				}
				ac.last = int32(ci)
				if r.opt {
					ac.qopt += r.w
				} else {
					ac.q += r.w
				}
			}
		}
	}

	// Score documents and keep the best document of each code.
	for _, d := range sc.touched {
		score := s.score(sc, d, qreq, q)
		if score < minScore {
			continue
		}
		code := s.info[d].code
		if sc.cgen[code] != gen {
			sc.cgen[code] = gen
			sc.cbest[code], sc.cscore[code], sc.cvia[code] = d, score, -1
			sc.codes = append(sc.codes, code)
			continue
		}
		if b := sc.cbest[code]; score > sc.cscore[code] ||
			score == sc.cscore[code] && s.info[d].field < s.info[b].field {
			sc.cbest[code], sc.cscore[code] = d, score
		}
	}

	s.propagate(sc, gen, q, limit)

	// Keep the best limit codes, sorted, by insertion.
	top := make([]cand, 0, limit+1)
	for _, code := range sc.codes {
		if len(top) == limit && sc.cscore[code] < top[limit-1].score {
			continue
		}
		c := cand{seg: s, doc: sc.cbest[code], code: code, via: sc.cvia[code], score: sc.cscore[code],
			billable: s.codes[code].billable}
		c.field = s.info[c.doc].field
		if len(top) == limit && compareCands(c, top[limit-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, c, compareCands)
		top = slices.Insert(top, i, c)
		if len(top) > limit {
			top = top[:limit]
		}
	}
	return top
}

// propagate passes the match of a header code on to its billable
// descendants. The Alphabetic Index often leads to a category ("Whiplash
// injury S13.4-", "Fracture, nose S02.2-") whose billable codes never
// repeat the words of the query; the coder then picks the child the
// Tabular List gives for what the query says, or the default one when it
// is silent (section I.A.17 and I.B.1 of the guidelines). A child scores
// childFactor times its header, lowered for each contrast group the query
// is silent on (so the initial-encounter, unspecified-side child comes
// first), plus a little of its own match to order the children.
func (s *segment) propagate(sc *scratch, gen uint32, q *preparedQuery, limit int) {
	// The best limit headers, by insertion.
	better := func(a, b int32) bool {
		return sc.cscore[a] > sc.cscore[b] || sc.cscore[a] == sc.cscore[b] && a < b
	}
	heads := sc.heads[:0]
	for _, c := range sc.codes {
		if s.codes[c].billable || len(heads) == limit && !better(c, heads[limit-1]) {
			continue
		}
		i := len(heads)
		for i > 0 && better(c, heads[i-1]) {
			i--
		}
		heads = slices.Insert(heads, i, c)
		if len(heads) > limit {
			heads = heads[:limit]
		}
	}
	sc.heads = heads
	for _, h := range heads {
		base := sc.cscore[h] / headerFactor * childFactor
		from := sc.cbest[h]
		prefix := s.codes[h].code
		for c := h + 1; int(c) < len(s.codes) && strings.HasPrefix(s.codes[c].code, prefix); c++ {
			ci := &s.codes[c]
			if !ci.billable {
				continue
			}
			score := base
			for silent := s.info[ci.descDoc].flags &^ q.groups; silent != 0; silent &= silent - 1 {
				score *= groupFactor
			}
			if sc.cgen[c] == gen {
				score += ownWeight * sc.cscore[c]
				if score <= sc.cscore[c] {
					continue
				}
			} else {
				sc.cgen[c] = gen
				sc.codes = append(sc.codes, c)
			}
			sc.cbest[c], sc.cscore[c], sc.cvia[c] = from, score, h
		}
	}
}

// score is the match quality of document d for the query.
func (s *segment) score(sc *scratch, d int32, qreq float32, q *preparedQuery) float32 {
	ac := &sc.acc[d]
	matched := ac.q + ac.qopt
	if matched == 0 {
		return 0
	}
	recall := matched / (qreq + ac.qopt)
	if recall < minRecall {
		return 0
	}
	di := &s.info[d]
	precision := float32(1)
	if di.dsum > 0 {
		precision = min(ac.dm/di.dsum, 1)
	}
	f := (1 + recallWeight) * precision * recall / (recallWeight*precision + recall)
	if qreq > 0 && ac.q >= qreq*0.9999 && s.seq[d] == q.hash {
		f += exactBonus
	}
	f *= fieldFactor[di.field]
	if !di.billable {
		f *= headerFactor
	}
	for silent := di.flags &^ q.groups; silent != 0; silent &= silent - 1 {
		f *= groupFactor
	}
	return f
}
