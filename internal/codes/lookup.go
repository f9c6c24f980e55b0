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

	// Parent is the next code up in the order file (ICD-10-CM, PCS).
	Parent *Ref `json:"parent,omitempty"`
	// Children are the codes directly below a header, in tabular order.
	Children []Ref `json:"children,omitempty"`
	// BillableChildren are the billable codes anywhere below a header (at
	// most MaxBillableChildren of them; BillableCount has the total).
	BillableChildren []Ref `json:"billable_children,omitempty"`
	BillableCount    int   `json:"billable_count,omitempty"`

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

// Near is a suggestion for an unknown code, with why it was suggested.
type Near struct {
	System      System `json:"system"`
	Code        string `json:"code"`
	Description string `json:"description"`
	Reason      string `json:"reason"`
}

// Notes holds the ICD-10-CM Tabular List instructions that apply to a
// code, its own and those inherited from its category, section and chapter.
type Notes struct {
	Release string `json:"release,omitempty"` // the Tabular List release the notes came from
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
	e := Entry{System: sys, Code: Display(sys, c), Status: "not_found"}
	if c == "" {
		e.Code = code
	}
	e.NearMatches = kb.near(c, dos)
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

func (kb *KB) lookupIn(sys System, c string, dos time.Time) (Entry, bool) {
	l, stale, early := inForce(kb.lists[sys], dos)
	if l == nil {
		return Entry{}, false
	}
	r := l.byCode[c]
	if r == nil {
		return Entry{}, false
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
		e.Warnings = append(e.Warnings, fmt.Sprintf("the date of service %s is before the oldest imported %s release (%s, from %s)",
			dos.Format(time.DateOnly), sys, l.rel.Name, l.rel.From.Format(time.DateOnly)))
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
		var walk func(*codeRec)
		walk = func(n *codeRec) {
			for _, ch := range n.children {
				if ch.billable {
					e.BillableCount++
					if len(e.BillableChildren) < MaxBillableChildren {
						e.BillableChildren = append(e.BillableChildren, Ref{Code: Display(sys, ch.code), Description: ch.long, Billable: true})
					}
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
