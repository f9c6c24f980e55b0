package codes

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/codedesk/codedesk/internal/codes/codefile"
	"github.com/codedesk/codedesk/internal/store"
)

// KB is an immutable in-memory snapshot of the imported code sets; safe for
// concurrent use. Build it with Load; load a new one after imports.
type KB struct {
	db       *store.DB
	releases []Release
	// lists are the code lists of each system, oldest release first.
	lists    map[System][]*codeList
	addenda  map[System][]*addendaSet
	tabulars []*tabular
	indexes  []*indexSet
	mues     map[codefile.Format][]*mueTable
	// ptpCodes are the codes named by any NCCI PTP edit.
	ptpCodes map[string]bool
	loadedAt time.Time
	search   searchCache
	// now returns today's date; tests replace it.
	now func() time.Time
}

// codeList is one release's list of codes (an order, codes, HCPCS or CPT
// descriptor file).
type codeList struct {
	rel    Release
	byCode map[string]*codeRec
	recs   []*codeRec // file order
	// order reports whether the list came from an order file (with headers
	// and short descriptions) rather than a codes file.
	order bool
}

// codeRec is one code of a list.
type codeRec struct {
	code     string
	kind     string // code, header, modifier
	billable bool
	short    string
	long     string
	parent   *codeRec
	children []*codeRec
	// billableBelow counts the billable codes anywhere below.
	billableBelow int
	hcpcs         *HCPCSInfo
}

// Load reads every imported release from db into a new KB.
func Load(ctx context.Context, db *store.DB) (*KB, error) {
	kb := &KB{db: db, lists: map[System][]*codeList{}, addenda: map[System][]*addendaSet{},
		mues: map[codefile.Format][]*mueTable{}, ptpCodes: map[string]bool{}, loadedAt: time.Now(), now: time.Now}
	rels, err := ListReleases(ctx, db)
	if err != nil {
		return nil, err
	}
	kb.releases = rels
	for _, load := range []func(context.Context) error{kb.loadLists, kb.loadAddenda, kb.loadTabular, kb.loadIndex, kb.loadMUE, kb.loadPTPCodes} {
		if err := load(ctx); err != nil {
			return nil, err
		}
	}
	return kb, nil
}

// Releases returns what is loaded: every imported release with its
// effective range and row count.
func (kb *KB) Releases() []Release {
	return append([]Release(nil), kb.releases...)
}

// loadLists reads the code lists. Where an order file and a codes file of
// the same system and version are both imported, the order file is used
// (it has the headers and short descriptions).
func (kb *KB) loadLists(ctx context.Context) error {
	type key struct {
		sys System
		ver string
	}
	chosen := map[key]Release{}
	rank := map[codefile.Format]int{codefile.ICD10CMOrder: 2, codefile.PCSOrder: 2, codefile.ICD10CMCodes: 1,
		codefile.PCSCodes: 1, codefile.HCPCS: 2, codefile.CPTDescriptors: 2}
	for _, r := range kb.releases {
		if rank[r.Format] == 0 {
			continue
		}
		k := key{r.System, r.Version}
		if prev, ok := chosen[k]; !ok || rank[r.Format] > rank[prev.Format] || rank[r.Format] == rank[prev.Format] && r.ID > prev.ID {
			chosen[k] = r
		}
	}
	byID := map[int64]*codeList{}
	for _, r := range chosen {
		l := &codeList{rel: r, byCode: make(map[string]*codeRec, r.Rows), recs: make([]*codeRec, 0, r.Rows),
			order: r.Format == codefile.ICD10CMOrder || r.Format == codefile.PCSOrder}
		byID[r.ID] = l
		kb.lists[r.System] = append(kb.lists[r.System], l)
	}
	for _, ls := range kb.lists {
		sort.Slice(ls, func(i, j int) bool { return ls[i].rel.From.Before(ls[j].rel.From) })
	}
	if len(byID) == 0 {
		return nil
	}
	rows, err := kb.db.Query(ctx, `SELECT release_id, code, kind, billable, short_desc, long_desc, attrs
		FROM code_entries ORDER BY release_id, seq`)
	if err != nil {
		return fmt.Errorf("loading codes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id    int64
			rec   codeRec
			attrs string
		)
		if err := rows.Scan(&id, &rec.code, &rec.kind, &rec.billable, &rec.short, &rec.long, &attrs); err != nil {
			return fmt.Errorf("loading codes: %w", err)
		}
		l := byID[id]
		if l == nil {
			continue
		}
		if attrs != "" {
			rec.hcpcs = new(HCPCSInfo)
			if err := json.Unmarshal([]byte(attrs), rec.hcpcs); err != nil {
				return fmt.Errorf("loading %s: fields of %s: %w", l.rel.Name, rec.code, err)
			}
		}
		p := &rec
		l.byCode[rec.code] = p
		l.recs = append(l.recs, p)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("loading codes: %w", err)
	}
	for _, l := range byID {
		if l.order {
			l.link()
		}
	}
	return nil
}

// link sets each code's parent (its longest proper prefix in the list),
// children in file order, and the count of billable codes below each.
func (l *codeList) link() {
	for _, r := range l.recs {
		for n := len(r.code) - 1; n >= 3; n-- {
			if p := l.byCode[r.code[:n]]; p != nil {
				r.parent = p
				p.children = append(p.children, r)
				break
			}
		}
	}
	for _, r := range l.recs {
		if r.billable {
			for p := r.parent; p != nil; p = p.parent {
				p.billableBelow++
			}
		}
	}
}

// inForce picks the list in force at dos: the latest release that started
// on or before it. stale reports that dos is past that release's nominal
// end (no newer release is imported); early that dos precedes every
// release, in which case the oldest is returned.
func inForce(ls []*codeList, dos time.Time) (l *codeList, stale, early bool) {
	if len(ls) == 0 {
		return nil, false, false
	}
	for i := len(ls) - 1; i >= 0; i-- {
		if !ls[i].rel.From.After(dos) {
			l = ls[i]
			return l, !l.rel.To.IsZero() && dos.After(l.rel.To), false
		}
	}
	return ls[0], false, true
}
