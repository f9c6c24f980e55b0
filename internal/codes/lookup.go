package codes

import (
	"fmt"
	"time"
)

// Entry is what the knowledge base knows about one code in one system at a
// date of service.
type Entry struct {
	System      System `json:"system"`
	Code        string `json:"code"` // display form: ICD-10-CM dotted ("E11.22"), others upper-case
	Found       bool   `json:"found"`
	Billable    bool   `json:"billable"` // ICD-10-CM/PCS: valid for HIPAA transactions (order-file flag 1)
	Description string `json:"description"`
	Short       string `json:"short,omitempty"`
	// Status is "active", "header", "deleted", "terminated",
	// "not_in_force" (not yet valid at the date of service) or "not_found".
	Status  string `json:"status"`
	Release string `json:"release"` // the release the descriptor came from
	// Modifier marks a HCPCS Level II modifier.
	Modifier bool  `json:"modifier,omitempty"`
	Notes    Notes `json:"notes"`

	// Hierarchy places an ICD-10-CM code: chapter, block and category.
	Hierarchy *Hierarchy `json:"hierarchy,omitempty"`
	// Parent is the next code up in the order file (ICD-10-CM, PCS).
	Parent *Ref `json:"parent,omitempty"`
	// Children are the codes directly below a header, in tabular order.
	Children []Ref `json:"children,omitempty"`
	// BillableChildren are the billable codes anywhere below a header (at
	// most MaxBillableChildren of them; BillableCount has the total).
	BillableChildren []Ref `json:"billable_children,omitempty"`
	BillableCount    int   `json:"billable_count,omitempty"`

	// Change says what the release's addenda did to the code ("added",
	// "revised", "deleted"), with the old text for a revision.
	Change *Change `json:"change,omitempty"`
	// ReplacedBy lists the codes that replace a deleted one, when the
	// addenda or the order file show them.
	ReplacedBy []Ref `json:"replaced_by,omitempty"`

	// MUE lists the medically unlikely edits of a procedure code.
	MUE []MUE `json:"mue,omitempty"`

	// HCPCS carries the Level II file's administrative fields.
	HCPCS *HCPCSInfo `json:"hcpcs,omitempty"`

	// LicenceNeeded says a CPT descriptor needs the user's AMA licence
	// file (codedesk codes import a licensed CPT CSV/TSV).
	LicenceNeeded bool `json:"licence_needed,omitempty"`

	// NearMatches are existing codes close to an unknown one.
	NearMatches []Near `json:"near_matches,omitempty"`
	// Warnings explain anything a coder must know about the answer: a
	// release older than the date of service, notes from an older release.
	Warnings []string `json:"warnings,omitempty"`
}

// Ref names another code.
type Ref struct {
	Code        string `json:"code"`
	Description string `json:"description"`
	Billable    bool   `json:"billable"`
}

// Change is what a release's addenda say about a code.
type Change struct {
	Action    string    `json:"action"` // added, revised, deleted, subdivided (deleted as a code, kept as a header)
	Release   string    `json:"release"`
	Effective time.Time `json:"effective"`
	// Was is the description before a revision.
	Was string `json:"was,omitempty"`
}

// Near is a suggestion for an unknown code, with why it was suggested.
type Near struct {
	System      System `json:"system"`
	Code        string `json:"code"`
	Description string `json:"description"`
	Reason      string `json:"reason"`
}

// MaxBillableChildren caps Entry.BillableChildren.
const MaxBillableChildren = 100

// Lookup normalises code (dots and case optional) and returns what is known
// about it at the date of service, in every system whose format it fits and
// where it exists; for an unknown code it returns one entry with
// Found=false and near matches. A zero dos means today.
func (kb *KB) Lookup(code string, dos time.Time) []Entry {
	if dos.IsZero() {
		dos = kb.now()
	}
	dos = day(dos)
	c := Normalize(code)
	var out []Entry
	for _, sys := range systemsFor(c) {
		if e, ok := kb.lookupIn(sys, c, dos); ok {
			out = append(out, e)
		}
	}
	if len(out) > 0 {
		return out
	}
	sys := ICD10CM
	if s := systemsFor(c); len(s) > 0 {
		sys = s[0]
	}
	near := kb.near(c, dos)
	if len(near) > 0 {
		// Show the code the way the system of its nearest match writes it.
		for _, s := range systemsFor(c) {
			if s == near[0].System {
				sys = s
			}
		}
	}
	e := Entry{System: sys, Code: Display(sys, c), Status: "not_found", NearMatches: near}
	if c == "" {
		e.Code = code
	}
	return []Entry{e}
}

// systemsFor lists the systems whose code format c fits, most likely first.
func systemsFor(c string) []System {
	var s []System
	if FitsHCPCS(c) {
		s = append(s, HCPCS)
	}
	if FitsCPT(c) {
		s = append(s, CPT)
	}
	if FitsICD10CM(c) {
		s = append(s, ICD10CM)
	}
	if FitsPCS(c) {
		s = append(s, PCS)
	}
	return s
}

// lookupIn looks c up in one system.
func (kb *KB) lookupIn(sys System, c string, dos time.Time) (Entry, bool) {
	e, ok := kb.lookupList(sys, c, dos)
	if !ok {
		e, ok = kb.lookupAddenda(sys, c, dos)
	}
	if !ok && (sys == CPT || sys == HCPCS) {
		e, ok = kb.lookupByNumber(sys, c, dos)
	}
	if !ok {
		return e, false
	}
	switch sys {
	case ICD10CM:
		kb.withChange(&e, sys, c, dos)
		kb.withNotes(&e, c, dos, kb.releaseOf(sys, e.Release))
	case PCS:
		kb.withChange(&e, sys, c, dos)
	case HCPCS, CPT:
		e.MUE = kb.muesFor(c, dos)
	}
	if sys == CPT && e.Description == "" {
		e.LicenceNeeded = true
	}
	return e, true
}

// releaseOf finds a loaded code list's release by name.
func (kb *KB) releaseOf(sys System, name string) Release {
	for _, l := range kb.lists[sys] {
		if l.rel.Name == name {
			return l.rel
		}
	}
	return Release{}
}

// lookupByNumber knows a CPT or HCPCS code only by number, from the NCCI
// tables, when no code list has it: CPT descriptors need the user's AMA
// licence.
func (kb *KB) lookupByNumber(sys System, c string, dos time.Time) (Entry, bool) {
	if sys == HCPCS && len(kb.lists[HCPCS]) > 0 {
		return Entry{}, false // the HCPCS file is the full list
	}
	mues := kb.muesFor(c, dos)
	if len(mues) == 0 && !kb.ptpCodes[c] {
		return Entry{}, false
	}
	e := Entry{System: sys, Code: c, Found: true, Billable: true, Status: "active"}
	if len(mues) > 0 {
		e.Release = mues[0].Release
	} else {
		e.Release = "NCCI PTP edits"
	}
	if sys == CPT {
		e.Warnings = append(e.Warnings, "CPT descriptors are the AMA's: import your licensed CPT descriptor file to see this code's descriptor; the code is known here from the NCCI tables")
	}
	return e, true
}

// lookupAddenda finds a code that is in no code list but in an addenda
// file: a deleted code (or one added by a release whose code list is not
// imported).
func (kb *KB) lookupAddenda(sys System, c string, dos time.Time) (Entry, bool) {
	for i := len(kb.addenda[sys]) - 1; i >= 0; i-- {
		a := kb.addenda[sys][i]
		d := a.deleted[c]
		if d == nil {
			continue
		}
		e := Entry{System: sys, Code: Display(sys, c), Found: true, Description: d.long, Short: d.short,
			Release: a.rel.Name}
		cur, _, _ := inForce(kb.lists[sys], dos)
		if dos.Before(a.rel.From) {
			// Still valid at the date of service: deleted by a later release.
			e.Status = "active"
			e.Billable = d.billable == nil || *d.billable
			e.Warnings = append(e.Warnings, fmt.Sprintf("valid until %s: deleted by %s; descriptor from that release's addenda",
				a.rel.From.AddDate(0, 0, -1).Format(time.DateOnly), a.rel.Name))
		} else {
			e.Status = "deleted"
			e.Warnings = append(e.Warnings, fmt.Sprintf("deleted effective %s (%s); not valid for dates of service from then on",
				a.rel.From.Format(time.DateOnly), a.rel.Name))
		}
		e.Change = &Change{Action: "deleted", Release: a.rel.Name, Effective: a.rel.From}
		e.ReplacedBy = kb.replacements(sys, c, a, cur)
		return e, true
	}
	return Entry{}, false
}

// withChange adds what the addenda of the code's release say about it. A
// code the release deleted as a billable code but kept as a header was
// subdivided: its new codes replace it.
func (kb *KB) withChange(e *Entry, sys System, c string, dos time.Time) {
	if e.Change != nil {
		return
	}
	rel := kb.releaseOf(sys, e.Release)
	for _, a := range kb.addenda[sys] {
		if a.rel.Version != rel.Version {
			continue
		}
		switch {
		case a.deleted[c] != nil && e.Status == "header":
			e.Change = &Change{Action: "subdivided", Release: a.rel.Name, Effective: a.rel.From, Was: a.deleted[c].long}
			e.ReplacedBy = e.BillableChildren
			if !dos.Before(a.rel.From) {
				e.Warnings = append(e.Warnings, fmt.Sprintf("a billable code until %s; %s made it a header: report one of the codes below it",
					a.rel.From.AddDate(0, 0, -1).Format(time.DateOnly), a.rel.Name))
			}
		case a.added[c] != nil:
			e.Change = &Change{Action: "added", Release: a.rel.Name, Effective: a.rel.From}
		case a.revised[c] != nil:
			e.Change = &Change{Action: "revised", Release: a.rel.Name, Effective: a.rel.From, Was: a.revised[c].long}
		}
	}
}

// lookupOlder finds a code that an older code list has and the one in
// force (cur) does not: it was deleted when cur took effect.
func (kb *KB) lookupOlder(sys System, c string, cur *codeList) (Entry, bool) {
	ls := kb.lists[sys]
	for i := len(ls) - 1; i >= 0; i-- {
		o := ls[i]
		if !o.rel.From.Before(cur.rel.From) {
			continue
		}
		r := o.byCode[c]
		if r == nil {
			continue
		}
		e := Entry{System: sys, Code: Display(sys, c), Found: true, Description: r.long, Short: r.short,
			Release: o.rel.Name, Status: "deleted"}
		e.Warnings = append(e.Warnings, fmt.Sprintf("in %s but not in %s: deleted effective %s",
			o.rel.Name, cur.rel.Name, cur.rel.From.Format(time.DateOnly)))
		e.Change = &Change{Action: "deleted", Release: cur.rel.Name, Effective: cur.rel.From}
		var a *addendaSet
		for _, x := range kb.addenda[sys] {
			if x.rel.Version == cur.rel.Version {
				a = x
			}
		}
		e.ReplacedBy = kb.replacements(sys, c, a, cur)
		return e, true
	}
	return Entry{}, false
}

// lookupList looks c up in the code list in force at dos.
func (kb *KB) lookupList(sys System, c string, dos time.Time) (Entry, bool) {
	l, stale, early := inForce(kb.lists[sys], dos)
	if l == nil {
		return Entry{}, false
	}
	r := l.byCode[c]
	if r == nil {
		// Not in the list in force: a code of a newer release?
		for _, o := range kb.lists[sys] {
			if o.rel.From.After(dos) && o.byCode[c] != nil {
				l, r, early = o, o.byCode[c], true
				break
			}
		}
		if r == nil {
			return kb.lookupOlder(sys, c, l)
		}
	}
	e := Entry{System: sys, Code: Display(sys, c), Found: true, Billable: r.billable,
		Description: r.long, Short: r.short, Release: l.rel.Name, Status: "active"}
	switch {
	case r.kind == "header":
		e.Status = "header"
	case r.kind == "modifier":
		e.Modifier = true
	}
	if early && r.hcpcs != nil {
		// HCPCS records carry their own added and termination dates, which
		// decide below; only the wording may have changed since.
		e.Warnings = append(e.Warnings, fmt.Sprintf("descriptor from %s, later than the date of service %s",
			l.rel.Name, dos.Format(time.DateOnly)))
	} else if early {
		e.Status = "not_in_force"
		e.Billable = false
		e.Warnings = append(e.Warnings, fmt.Sprintf("known from %s, which applies from %s, after the date of service %s; no imported %s release covers that date",
			l.rel.Name, l.rel.From.Format(time.DateOnly), dos.Format(time.DateOnly), sys))
	} else if stale {
		e.Warnings = append(e.Warnings, fmt.Sprintf("no imported %s release covers %s; answered from %s (valid %s to %s): import the current release",
			sys, dos.Format(time.DateOnly), l.rel.Name, l.rel.From.Format(time.DateOnly), l.rel.To.Format(time.DateOnly)))
	}
	if r.parent != nil {
		e.Parent = &Ref{Code: Display(sys, r.parent.code), Description: r.parent.long, Billable: r.parent.billable}
	}
	if len(r.children) > 0 {
		e.Children = make([]Ref, len(r.children))
		for i, ch := range r.children {
			e.Children[i] = Ref{Code: Display(sys, ch.code), Description: ch.long, Billable: ch.billable}
		}
		e.BillableCount = r.billableBelow
		n := min(r.billableBelow, MaxBillableChildren)
		e.BillableChildren = make([]Ref, 0, n)
		var walk func(*codeRec)
		walk = func(p *codeRec) {
			for _, ch := range p.children {
				if len(e.BillableChildren) == n {
					return
				}
				if ch.billable {
					e.BillableChildren = append(e.BillableChildren, Ref{Code: Display(sys, ch.code), Description: ch.long, Billable: true})
				}
				walk(ch)
			}
		}
		walk(r)
	}
	if r.hcpcs != nil {
		e.HCPCS = r.hcpcs
		h := r.hcpcs
		switch {
		case h.Terminated != 0 && ymd(dos) > h.Terminated:
			e.Status = "terminated"
			e.Billable = false
			e.Warnings = append(e.Warnings, fmt.Sprintf("terminated %s", fromYMD(h.Terminated).Format(time.DateOnly)))
		case h.Added != 0 && ymd(dos) < h.Added:
			e.Status = "not_in_force"
			e.Billable = false
			e.Warnings = append(e.Warnings, fmt.Sprintf("added %s, after the date of service", fromYMD(h.Added).Format(time.DateOnly)))
		default:
			e.Billable = !e.Modifier && e.Status == "active"
		}
	}
	return e, true
}
