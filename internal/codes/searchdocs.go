package codes

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/codedesk/codedesk/internal/codes/codefile"
	"github.com/codedesk/codedesk/internal/codes/search"
)

// SearchDocs returns every searchable text of the code sets in force at the
// date of service (zero: today), for the narrative search engine: long and
// short descriptors of ICD-10-CM, ICD-10-PCS, HCPCS and licensed CPT codes,
// the Tabular List's inclusion terms, and every Alphabetic Index path that
// leads to a code ("Diabetes, diabetic (mellitus) (sugar) > with > chronic
// kidney disease"). Index and inclusion texts are kept only for codes that
// exist in the code list in force.
func (kb *KB) SearchDocs(dos time.Time) []search.Doc {
	if dos.IsZero() {
		dos = kb.now()
	}
	dos = day(dos)
	var docs []search.Doc
	cm, _, _ := inForce(kb.lists[ICD10CM], dos)
	for _, sys := range []System{ICD10CM, PCS, HCPCS, CPT} {
		l, _, _ := inForce(kb.lists[sys], dos)
		if l == nil {
			continue
		}
		for _, r := range l.recs {
			if r.kind == "modifier" {
				continue
			}
			billable := r.billable
			if h := r.hcpcs; h != nil {
				// In force on the release's first day (the index is shared
				// by every date the release covers).
				start := ymd(l.rel.From)
				billable = (h.Terminated == 0 || start <= h.Terminated) && (h.Added == 0 || start >= h.Added)
			}
			code := Display(sys, r.code)
			docs = append(docs, search.Doc{System: string(sys), Code: code, Text: r.long, Field: search.FieldLong, Billable: billable})
			if r.short != "" && r.short != r.long {
				docs = append(docs, search.Doc{System: string(sys), Code: code, Text: r.short, Field: search.FieldShort, Billable: billable})
			}
		}
	}
	if cm == nil {
		return docs
	}
	if t := kb.tabularFor(dos); t != nil {
		for code, n := range t.diags {
			r := cm.byCode[code]
			if r == nil {
				continue
			}
			for _, x := range n.notes {
				if x.typ == codefile.NoteInclusionTerm {
					docs = append(docs, search.Doc{System: string(ICD10CM), Code: Display(ICD10CM, code), Text: x.text,
						Field: search.FieldInclusion, Evidence: "Inclusion term of " + Display(ICD10CM, code) + ": " + x.text,
						Billable: r.billable})
				}
			}
		}
	}
	if ix := kb.indexFor(dos); ix != nil {
		path := make([]string, 0, 8)
		for i := range ix.terms {
			t := &ix.terms[i]
			code := t.code
			if code == "" {
				code = t.subcat
			}
			code = strings.TrimRight(code, "-.")
			if code == "" {
				continue
			}
			r := cm.byCode[code]
			if r == nil {
				continue
			}
			path = ix.path(path[:0], i)
			docs = append(docs, search.Doc{System: string(ICD10CM), Code: Display(ICD10CM, code), Text: strings.Join(path, " "),
				Field: search.FieldIndex, Evidence: "Index: " + strings.Join(path, " > "), Billable: r.billable})
		}
	}
	return docs
}

// path returns the titles from the main term down to term i.
func (s *indexSet) path(buf []string, i int) []string {
	for j := int32(i); j >= 0; j = s.terms[j].parent {
		buf = append(buf, s.terms[j].title)
	}
	for a, b := 0, len(buf)-1; a < b; a, b = a+1, b-1 {
		buf[a], buf[b] = buf[b], buf[a]
	}
	return buf
}

// indexFor picks the Alphabetic Index release for a date of service.
func (kb *KB) indexFor(dos time.Time) *indexSet {
	var best *indexSet
	for _, s := range kb.indexes {
		if !s.rel.From.After(dos) {
			best = s
		}
	}
	if best == nil && len(kb.indexes) > 0 {
		best = kb.indexes[0]
	}
	return best
}

// searchCache holds built search indexes by the releases they were built
// from, so that a KB builds each at most once.
type searchCache struct {
	mu sync.Mutex
	m  map[string]*searchEntry
}

type searchEntry struct {
	once sync.Once
	ix   *search.Index
}

// SearchIndex returns the narrative search index over the code sets in
// force at the date of service (zero: today). It is built on first use
// (a few seconds for the full code sets) and cached in the KB.
func (kb *KB) SearchIndex(dos time.Time) *search.Index {
	if dos.IsZero() {
		dos = kb.now()
	}
	dos = day(dos)
	key := kb.searchKey(dos)
	kb.search.mu.Lock()
	if kb.search.m == nil {
		kb.search.m = map[string]*searchEntry{}
	}
	e := kb.search.m[key]
	if e == nil {
		e = &searchEntry{}
		kb.search.m[key] = e
	}
	kb.search.mu.Unlock()
	e.once.Do(func() { e.ix = search.Build(kb.SearchDocs(dos)) })
	return e.ix
}

// searchKey names the releases SearchDocs would use at dos.
func (kb *KB) searchKey(dos time.Time) string {
	var b strings.Builder
	for _, sys := range []System{ICD10CM, PCS, HCPCS, CPT} {
		if l, _, _ := inForce(kb.lists[sys], dos); l != nil {
			fmt.Fprintf(&b, "%d,", l.rel.ID)
		}
	}
	if t := kb.tabularFor(dos); t != nil {
		fmt.Fprintf(&b, "t%d,", t.rel.ID)
	}
	if s := kb.indexFor(dos); s != nil {
		fmt.Fprintf(&b, "i%d,", s.rel.ID)
	}
	return b.String()
}

// Search ranks codes for a narrative ("T2DM w/ CKD stage 3") over the code
// sets in force today; see package search for the ranking.
func (kb *KB) Search(query string, opts search.Options) []search.Result {
	return kb.SearchIndex(time.Time{}).Search(query, opts)
}
