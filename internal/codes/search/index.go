package search

import (
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Doc is one searchable text of one code, as the code knowledge base feeds
// it to [Build]. A code usually has several: its long descriptor, its short
// descriptor, inclusion terms and the Alphabetic Index paths that lead to it.
type Doc struct {
	// System is the code system: "icd10cm", "pcs", "hcpcs" or "cpt".
	System string
	// Code is the display form of the code, e.g. "E11.22" or "K0001".
	Code string
	// Text is what a query is matched against. Words in parentheses or
	// brackets are nonessential modifiers (ICD-10-CM convention): keep the
	// Alphabetic Index's <nemod> text in parentheses.
	Text string
	// Field says what Text is: "long" (the long descriptor, also shown as
	// the result's description), "short", "inclusion" (an inclusion term)
	// or "index" (an Alphabetic Index path). Other values are accepted and
	// rank like "short".
	Field string
	// Evidence is shown to the user when this text is the best match, e.g.
	// "Index: Diabetes, diabetic (mellitus) > type 2 > with > chronic
	// kidney disease". When empty, Search derives it from Field and Text.
	Evidence string
	// Billable is true when the code is valid for claims (ICD-10-CM order
	// file flag 1; active HCPCS codes). Headers rank below billable codes.
	Billable bool
}

// Field values with a special meaning.
const (
	FieldLong      = "long"
	FieldShort     = "short"
	FieldInclusion = "inclusion"
	FieldIndex     = "index"
)

// Index is an immutable search index over documents of one or more code
// systems. It is safe for concurrent use.
type Index struct {
	segs []*segment // one per system, in system-name order
	docs int
}

// segment holds the documents of one code system.
type segment struct {
	system string
	docs   []Doc

	info []docInfo // per document, packed for locality in the scoring loop
	seq  []uint64  // doc → hash of its terms in order

	codes []codeInfo // code id → code; ids follow code order

	terms map[string]uint32 // term → id
	idf   []float32         // term id → inverse document frequency
	off   []uint32          // term id → start of its postings; len(terms)+1
	post  []uint32          // doc<<1 | 1 when the term is nonessential there

	mu      sync.Mutex
	scratch []*scratch // free working memory for searches
}

// getScratch takes working memory for one search. Unlike a sync.Pool, the
// free list survives garbage collections, so a search never pays for
// allocating and clearing megabytes of arrays.
func (s *segment) getScratch() *scratch {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.scratch); n > 0 {
		sc := s.scratch[n-1]
		s.scratch = s.scratch[:n-1]
		return sc
	}
	return newScratch(len(s.docs), len(s.codes))
}

// putScratch returns working memory; a few are kept for reuse.
func (s *segment) putScratch(sc *scratch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.scratch) < 2*runtime.GOMAXPROCS(0) {
		s.scratch = append(s.scratch, sc)
	}
}

// docInfo is what scoring needs to know about a document.
type docInfo struct {
	dsum     float32 // sum of the idf of its essential terms
	code     int32   // code id
	field    uint8   // field rank (0 best)
	flags    uint8   // contrast-group flags (flag*)
	billable bool    // its code is billable
}

type codeInfo struct {
	code     string
	desc     string
	descLong bool  // desc is the long descriptor
	descDoc  int32 // the document desc comes from
	billable bool
}

// Contrast-group flags of a document: words whose absence from a query
// means "the default" (ICD-10-CM guidelines I.B.13 laterality, I.C.19.a
// encounter, I.C.19.c.1 fractures not indicated as open or displaced).
const (
	flagSide    uint8 = 1 << iota // right, left or bilateral
	flagLater                     // subsequent encounter or sequela
	flagOpenFx                    // open fracture
	flagNondisp                   // nondisplaced fracture
	flagTrimest                   // first, second or third trimester
)

var hashSeed = maphash.MakeSeed()

// Build indexes docs. Documents with an empty Code or Text are skipped, and
// so is a short descriptor when its code has a long one: it abbreviates the
// same words and would double the postings of the commonest terms. Build
// keeps references to the strings in docs, not copies.
func Build(docs []Doc) *Index {
	hasLong := map[[2]string]bool{}
	for _, d := range docs {
		if d.Field == FieldLong {
			hasLong[[2]string{d.System, d.Code}] = true
		}
	}
	bySys := map[string][]Doc{}
	var order []string
	for _, d := range docs {
		if d.Code == "" || strings.TrimSpace(d.Text) == "" {
			continue
		}
		if d.Field == FieldShort && hasLong[[2]string{d.System, d.Code}] {
			continue
		}
		if _, ok := bySys[d.System]; !ok {
			order = append(order, d.System)
		}
		bySys[d.System] = append(bySys[d.System], d)
	}
	slices.Sort(order)
	ix := &Index{}
	segs := make([]*segment, len(order))
	var wg sync.WaitGroup
	for i, sys := range order {
		wg.Go(func() { segs[i] = buildSegment(sys, bySys[sys]) })
	}
	wg.Wait()
	for _, s := range segs {
		ix.segs = append(ix.segs, s)
		ix.docs += len(s.docs)
	}
	return ix
}

// Len returns the number of indexed documents.
func (ix *Index) Len() int { return ix.docs }

// Systems returns the code systems in the index, in name order.
func (ix *Index) Systems() []string {
	out := make([]string, len(ix.segs))
	for i, s := range ix.segs {
		out[i] = s.system
	}
	return out
}

func fieldRank(f string) uint8 {
	switch f {
	case FieldLong:
		return 0
	case FieldInclusion:
		return 1
	case FieldIndex:
		return 2
	default:
		return 3
	}
}

func buildSegment(system string, docs []Doc) *segment {
	s := &segment{system: system, docs: docs, terms: map[string]uint32{}}
	n := len(docs)

	// Code ids in code order, so comparing ids compares codes.
	codeIDs := map[string]int32{}
	var names []string
	for _, d := range docs {
		if _, ok := codeIDs[d.Code]; !ok {
			codeIDs[d.Code] = 0
			names = append(names, d.Code)
		}
	}
	slices.Sort(names)
	s.codes = make([]codeInfo, len(names))
	for i, c := range names {
		codeIDs[c] = int32(i)
		s.codes[i].code = c
	}

	s.info = make([]docInfo, n)
	s.seq = make([]uint64, n)
	docOff := make([]uint32, n+1)
	var docTerms []uint32 // term<<1 | opt, per doc, deduplicated
	var df []uint32
	a := analyzer{stems: map[string]string{}, folded: map[string]string{}}
	for i, d := range docs {
		id := codeIDs[d.Code]
		s.info[i].code = id
		s.info[i].field = fieldRank(d.Field)
		c := &s.codes[id]
		c.billable = c.billable || d.Billable
		if d.Field == FieldLong && !c.descLong {
			c.desc, c.descLong, c.descDoc = d.Text, true, int32(i)
		} else if c.desc == "" {
			c.desc, c.descDoc = d.Text, int32(i)
		}
		toks := a.analyze(d.Text, analyzeOptions{icd: system == "icd10cm"})
		s.info[i].flags = docFlags(toks)
		s.seq[i] = a.hash
		start := len(docTerms)
		for _, t := range toks {
			tid, ok := s.terms[t.term]
			if !ok {
				tid = uint32(len(df))
				s.terms[t.term] = tid
				df = append(df, 0)
			}
			v := tid << 1
			if t.opt {
				v |= 1
			}
			dup := false
			for k := start; k < len(docTerms); k++ {
				if docTerms[k]>>1 == tid {
					docTerms[k] &= v | ^uint32(1) // essential wins over nonessential
					dup = true
					break
				}
			}
			if !dup {
				docTerms = append(docTerms, v)
				df[tid]++
			}
		}
		docOff[i+1] = uint32(len(docTerms))
	}

	// Postings in CSR form, doc ids ascending.
	s.off = make([]uint32, len(df)+1)
	for t, c := range df {
		s.off[t+1] = s.off[t] + c
	}
	s.post = make([]uint32, len(docTerms))
	fill := slices.Clone(s.off[:len(df)])
	s.idf = make([]float32, len(df))
	for t, c := range df {
		s.idf[t] = float32(math.Log(1 + float64(n)/float64(c)))
	}
	for d := 0; d < n; d++ {
		var sum float32
		for _, v := range docTerms[docOff[d]:docOff[d+1]] {
			t := v >> 1
			s.post[fill[t]] = uint32(d)<<1 | v&1
			fill[t]++
			if v&1 == 0 {
				sum += s.idf[t]
			}
		}
		s.info[d].dsum = sum
		s.info[d].billable = s.codes[s.info[d].code].billable
	}
	return s
}

// Stems of the contrast-group words.
var (
	stemRight, stemLeft, stemBilateral = stemWord("right"), stemWord("left"), stemWord("bilateral")
	stemSubsequent, stemSequela        = stemWord("subsequent"), stemWord("sequela")
	stemInitial                        = stemWord("initial")
	stemOpen, stemClosed, stemFracture = stemWord("open"), stemWord("closed"), stemWord("fracture")
	stemDisplaced, stemNondisplaced    = stemWord("displaced"), stemWord("nondisplaced")
	stemTrimester                      = stemWord("trimester")
	stemUnspecified                    = stemWord("unspecified")
)

// docFlags finds the contrast-group words of a document.
func docFlags(toks []token) uint8 {
	var f uint8
	fracture, open := false, false
	for _, t := range toks {
		switch t.term {
		case stemRight, stemLeft, stemBilateral:
			f |= flagSide
		case stemSubsequent, stemSequela:
			f |= flagLater
		case stemOpen:
			open = true
		case stemFracture:
			fracture = true
		case stemNondisplaced:
			f |= flagNondisp
		case stemTrimester:
			f |= flagTrimest
		}
	}
	if open && fracture {
		f |= flagOpenFx
	}
	return f
}

// queryGroups says which contrast groups a query speaks about; a document
// flagged in a group the query is silent on ranks slightly lower.
func queryGroups(toks []token) uint8 {
	var f uint8
	for _, t := range toks {
		switch strings.TrimPrefix(t.term, "!") {
		case stemRight, stemLeft, stemBilateral, stemUnspecified:
			f |= flagSide
		case stemSubsequent, stemSequela, stemInitial:
			f |= flagLater
		case stemOpen, stemClosed:
			f |= flagOpenFx
		case stemDisplaced, stemNondisplaced:
			f |= flagNondisp
		case stemTrimester:
			f |= flagTrimest
		}
	}
	return f
}

// accum is what one search has matched of one document.
type accum struct {
	last    int32   // the last concept counted
	q, qopt float32 // matched query weight (essential, nonessential)
	dm      float32 // matched document weight
}

// scratch is per-search working memory for one segment.
type scratch struct {
	gen     uint32
	acc     []accum  // doc → what this search matched; valid where seen
	seen    []uint64 // bitmap of the documents this search touched
	touched []int32

	cgen   []uint32 // code → gen when seen
	cbest  []int32  // code → best doc
	cvia   []int32  // code → the header it was found through, or -1
	cscore []float32
	codes  []int32
	heads  []int32 // header codes among codes
}

func newScratch(docs, codes int) *scratch {
	return &scratch{
		acc: make([]accum, docs), seen: make([]uint64, (docs+63)/64),
		cgen: make([]uint32, codes), cbest: make([]int32, codes), cvia: make([]int32, codes),
		cscore: make([]float32, codes),
	}
}

func (s *scratch) next() uint32 {
	s.gen++
	if s.gen == 0 { // wrapped: forget every stamp
		clear(s.cgen)
		s.gen = 1
	}
	for _, d := range s.touched {
		s.seen[d>>6] = 0
	}
	s.touched = s.touched[:0]
	s.codes = s.codes[:0]
	s.heads = s.heads[:0]
	return s.gen
}
