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
		docs = append(docs, ix.crossRefDocs(cm)...)
	}
	return docs
}

// crossRefDocs follows the Index's cross-references: a term that says
// "see X" (or "see also X" without a code of its own) leads to the code at
// X, so the term's words find that code, with the path as evidence
// ("Index: Abandonment → see Maltreatment → T76.9").
func (s *indexSet) crossRefDocs(cm *codeList) []search.Doc {
	mains := map[string][]int{}
	for i := range s.terms {
		if s.terms[i].parent < 0 {
			// "Infarct, infarction" is named "Infarct" in references.
			k := strings.ToLower(s.terms[i].essential())
			mains[k] = append(mains[k], i)
			if first, _, ok := strings.Cut(k, ", "); ok {
				mains[first] = append(mains[first], i)
			}
		}
	}
	var docs []search.Doc
	var path []string
	for i := range s.terms {
		t := &s.terms[i]
		target, kind := t.see, "see"
		if target == "" && t.code == "" && t.subcat == "" {
			target, kind = t.seeAlso, "see also"
		}
		if target == "" {
			continue
		}
		j := s.resolve(mains, target)
		if j < 0 {
			continue
		}
		code := strings.TrimRight(s.terms[j].code, "-.")
		if code == "" {
			code = strings.TrimRight(s.terms[j].subcat, "-.")
		}
		r := cm.byCode[code]
		if r == nil {
			continue
		}
		path = s.path(path[:0], i)
		docs = append(docs, search.Doc{System: string(ICD10CM), Code: Display(ICD10CM, code), Text: strings.Join(path, " "),
			Field: search.FieldIndex, Billable: r.billable,
			Evidence: "Index: " + strings.Join(path, " > ") + " → " + kind + " " + target + " → " + Display(ICD10CM, code)})
	}
	return docs
}

// essential returns the title without its nonessential modifiers.
func (t *indexTerm) essential() string {
	if t.nemod == "" {
		return t.title
	}
	return strings.Join(strings.Fields(strings.Replace(t.title, t.nemod, " ", 1)), " ")
}

// resolve finds the term a cross-reference names: "Pain, abdominal" is
// the main term Pain and its subterm abdominal (main terms may contain a
// comma themselves: "Diabetes, diabetic"). It returns -1 when the target
// is not a term path ("condition", "Table of Drugs and Chemicals") or
// sends the reader on by site ("Contusion, by site").
func (s *indexSet) resolve(mains map[string][]int, target string) int {
	if strings.Contains(target, "by site") {
		return -1
	}
	parts := strings.Split(target, ", ")
	for n := len(parts); n >= 1; n-- {
		for _, m := range mains[strings.ToLower(strings.Join(parts[:n], ", "))] {
			if j := s.descend(m, parts[n:]); j >= 0 {
				return j
			}
		}
	}
	return -1
}

// descend follows subterm titles from term i.
func (s *indexSet) descend(i int, parts []string) int {
	for _, p := range parts {
		p = strings.ToLower(strings.TrimSpace(p))
		next := -1
		for j := i + 1; j < len(s.terms) && int(s.terms[j].level) > int(s.terms[i].level); j++ {
			t := &s.terms[j]
			e := strings.ToLower(t.essential())
			first, _, _ := strings.Cut(e, ", ")
			if int(t.parent) == i && (e == p || first == p || strings.ToLower(t.title) == p) {
				next = j
				break
			}
		}
		if next < 0 {
			return -1
		}
		i = next
	}
	return i
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
