package codes

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/codedesk/codedesk/internal/codes/codefile"
)

// addendaSet is one release's addenda (order and codes addenda together):
// the codes it added, deleted and revised.
type addendaSet struct {
	rel     Release
	added   map[string]*addRec
	deleted map[string]*addRec
	revised map[string]*addRec // the "Revise from:" text (the old one)
}

type addRec struct {
	code     string
	billable *bool
	short    string
	long     string
}

// tabular is one release of the ICD-10-CM Tabular List.
type tabular struct {
	rel      Release
	diags    map[string]*tabNode // by normalized code
	sections []*tabNode          // in file order
}

type tabNode struct {
	kind   string // chapter, section, diag
	code   string
	desc   string
	parent *tabNode
	notes  []tabNote
	// first and last category of a section ("E08", "E13").
	first, last string
}

type tabNote struct {
	typ, ch, text string
	refs          []codeRef // codes an Excludes note names
}

// indexSet is one release of the ICD-10-CM Alphabetic Index.
type indexSet struct {
	rel   Release
	terms []indexTerm // by seq-1
}

type indexTerm struct {
	parent               int32 // index into terms, -1 for main terms
	level                int8
	title, nemod         string
	code, manif, subcat  string
	see, seeAlso, seeCat string
}

// mueTable is one MUE release (practitioner, outpatient hospital or DME).
type mueTable struct {
	rel    Release
	byCode map[string]*mueRec
}

type mueRec struct {
	value     int
	mai       int
	maiText   string
	rationale string
}

func (kb *KB) loadAddenda(ctx context.Context) error {
	sets := map[int64]*addendaSet{}
	bySys := map[string]*addendaSet{} // system|version: order and codes addenda merge
	for _, r := range kb.releases {
		switch r.Format {
		case codefile.ICD10CMOrderAddenda, codefile.ICD10CMCodesAddenda, codefile.PCSOrderAddenda, codefile.PCSCodesAddenda:
		default:
			continue
		}
		k := string(r.System) + "|" + r.Version
		s := bySys[k]
		if s == nil {
			s = &addendaSet{rel: r, added: map[string]*addRec{}, deleted: map[string]*addRec{}, revised: map[string]*addRec{}}
			bySys[k] = s
			kb.addenda[r.System] = append(kb.addenda[r.System], s)
		}
		sets[r.ID] = s
	}
	if len(sets) == 0 {
		return nil
	}
	rows, err := kb.db.Query(ctx, `SELECT release_id, action, code, billable, short_desc, long_desc FROM code_addenda ORDER BY release_id, seq`)
	if err != nil {
		return fmt.Errorf("loading addenda: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id     int64
			action string
			a      addRec
			b      *bool
		)
		if err := rows.Scan(&id, &action, &a.code, &b, &a.short, &a.long); err != nil {
			return fmt.Errorf("loading addenda: %w", err)
		}
		s := sets[id]
		if s == nil {
			continue
		}
		a.billable = b
		m := map[string]map[string]*addRec{"add": s.added, "delete": s.deleted, "revise_from": s.revised}[action]
		if m == nil {
			continue
		}
		// Order addenda carry the flag and short text; prefer them.
		if prev := m[a.code]; prev == nil || prev.billable == nil && a.billable != nil {
			rec := a
			m[a.code] = &rec
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("loading addenda: %w", err)
	}
	for _, ss := range kb.addenda {
		sort.Slice(ss, func(i, j int) bool { return ss[i].rel.From.Before(ss[j].rel.From) })
	}
	return nil
}

func (kb *KB) loadTabular(ctx context.Context) error {
	byID := map[int64]*tabular{}
	for _, r := range kb.releases {
		if r.Format == codefile.ICD10CMTabular {
			t := &tabular{rel: r, diags: map[string]*tabNode{}}
			byID[r.ID] = t
			kb.tabulars = append(kb.tabulars, t)
		}
	}
	if len(byID) == 0 {
		return nil
	}
	sort.Slice(kb.tabulars, func(i, j int) bool { return kb.tabulars[i].rel.From.Before(kb.tabulars[j].rel.From) })
	nodes := map[int64]map[int]*tabNode{}
	rows, err := kb.db.Query(ctx, `SELECT release_id, seq, kind, code, parent, description FROM icd10cm_tabular ORDER BY release_id, seq`)
	if err != nil {
		return fmt.Errorf("loading tabular list: %w", err)
	}
	defer rows.Close()
	type key struct{ kind, code string }
	byKey := map[int64]map[key]*tabNode{}
	for rows.Next() {
		var (
			id     int64
			seq    int
			n      tabNode
			parent string
		)
		if err := rows.Scan(&id, &seq, &n.kind, &n.code, &parent, &n.desc); err != nil {
			return fmt.Errorf("loading tabular list: %w", err)
		}
		t := byID[id]
		if t == nil {
			continue
		}
		if nodes[id] == nil {
			nodes[id], byKey[id] = map[int]*tabNode{}, map[key]*tabNode{}
		}
		p := &n
		nodes[id][seq] = p
		byKey[id][key{n.kind, n.code}] = p
		switch n.kind {
		case "chapter":
		case "section":
			p.parent = byKey[id][key{"chapter", parent}]
			p.first, p.last, _ = strings.Cut(n.code, "-")
			if p.last == "" {
				p.last = p.first
			}
			t.sections = append(t.sections, p)
		case "diag":
			// A block of one category ("Z68") has the category's own
			// code as its id, so a diag whose parent is its own code hangs
			// from the block; linking it to itself would loop forever.
			if strings.Contains(parent, "-") || parent == n.code {
				p.parent = byKey[id][key{"section", parent}]
			} else {
				p.parent = byKey[id][key{"diag", parent}]
			}
			t.diags[n.code] = p
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("loading tabular list: %w", err)
	}
	rows.Close()
	nrows, err := kb.db.Query(ctx, `SELECT release_id, owner, type, ch, text FROM icd10cm_notes ORDER BY release_id, seq`)
	if err != nil {
		return fmt.Errorf("loading tabular notes: %w", err)
	}
	defer nrows.Close()
	for nrows.Next() {
		var (
			id    int64
			owner int
			n     tabNote
		)
		if err := nrows.Scan(&id, &owner, &n.typ, &n.ch, &n.text); err != nil {
			return fmt.Errorf("loading tabular notes: %w", err)
		}
		node := nodes[id][owner]
		if node == nil {
			continue
		}
		if n.typ == codefile.NoteExcludes1 || n.typ == codefile.NoteExcludes2 {
			n.refs = parseCodeRefs(n.text)
		}
		node.notes = append(node.notes, n)
	}
	return nrows.Err()
}

func (kb *KB) loadIndex(ctx context.Context) error {
	byID := map[int64]*indexSet{}
	for _, r := range kb.releases {
		if r.Format == codefile.ICD10CMIndex {
			s := &indexSet{rel: r, terms: make([]indexTerm, 0, r.Rows)}
			byID[r.ID] = s
			kb.indexes = append(kb.indexes, s)
		}
	}
	if len(byID) == 0 {
		return nil
	}
	sort.Slice(kb.indexes, func(i, j int) bool { return kb.indexes[i].rel.From.Before(kb.indexes[j].rel.From) })
	rows, err := kb.db.Query(ctx, `SELECT release_id, seq, parent, level, title, nemod, code, manif, subcat, see, see_also, seecat
		FROM icd10cm_index_terms ORDER BY release_id, seq`)
	if err != nil {
		return fmt.Errorf("loading alphabetic index: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id          int64
			seq, parent int
			level       int
			t           indexTerm
		)
		if err := rows.Scan(&id, &seq, &parent, &level, &t.title, &t.nemod, &t.code, &t.manif, &t.subcat, &t.see, &t.seeAlso, &t.seeCat); err != nil {
			return fmt.Errorf("loading alphabetic index: %w", err)
		}
		s := byID[id]
		if s == nil {
			continue
		}
		if seq != len(s.terms)+1 || parent >= seq {
			return fmt.Errorf("loading alphabetic index %s: term %d out of order", s.rel.Name, seq)
		}
		t.parent, t.level = int32(parent-1), int8(level)
		s.terms = append(s.terms, t)
	}
	return rows.Err()
}

func (kb *KB) loadMUE(ctx context.Context) error {
	byID := map[int64]*mueTable{}
	for _, r := range kb.releases {
		switch r.Format {
		case codefile.MUEPractitioner, codefile.MUEHospital, codefile.MUEDME:
			t := &mueTable{rel: r, byCode: make(map[string]*mueRec, r.Rows)}
			byID[r.ID] = t
			kb.mues[r.Format] = append(kb.mues[r.Format], t)
		}
	}
	if len(byID) == 0 {
		return nil
	}
	for _, ts := range kb.mues {
		sort.Slice(ts, func(i, j int) bool { return ts[i].rel.From.Before(ts[j].rel.From) })
	}
	rows, err := kb.db.Query(ctx, `SELECT release_id, code, value, mai, mai_text, rationale FROM ncci_mue`)
	if err != nil {
		return fmt.Errorf("loading MUEs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id   int64
			code string
			m    mueRec
		)
		if err := rows.Scan(&id, &code, &m.value, &m.mai, &m.maiText, &m.rationale); err != nil {
			return fmt.Errorf("loading MUEs: %w", err)
		}
		if t := byID[id]; t != nil {
			t.byCode[code] = &m
		}
	}
	return rows.Err()
}

// loadPTPCodes records which codes appear in the NCCI PTP tables, so that
// a CPT code without a licensed descriptor is still known by number.
func (kb *KB) loadPTPCodes(ctx context.Context) error {
	var ids []any
	for _, r := range kb.releases {
		if r.Format == codefile.PTPPractitioner || r.Format == codefile.PTPHospital {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	rows, err := kb.db.Query(ctx, `SELECT DISTINCT code FROM ncci_ptp_codes WHERE release_id IN (`+in+`)`, ids...)
	if err != nil {
		return fmt.Errorf("loading NCCI PTP codes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return fmt.Errorf("loading NCCI PTP codes: %w", err)
		}
		kb.ptpCodes[c] = true
	}
	return rows.Err()
}
