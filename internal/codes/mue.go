package codes

import (
	"time"

	"github.com/codedesk/codedesk/internal/codes/codefile"
)

// MUE is a medically unlikely edit: the most units of service of a code
// that a provider type reports for one beneficiary, per claim line (MAI 1)
// or per date of service (MAI 2 and 3).
type MUE struct {
	Code  string `json:"code"`
	Table string `json:"table"` // practitioner, outpatient hospital, DME supplier
	Value int    `json:"value"`
	// MAI is the MUE adjudication indicator (1, 2 or 3) and MAIText its
	// published label; Explained says what it means for a claim.
	MAI       int    `json:"mai"`
	MAIText   string `json:"mai_text"`
	Explained string `json:"explained"`
	Rationale string `json:"rationale,omitempty"`
	Release   string `json:"release"`
	// Warning is set when the MUE release does not cover the date of
	// service.
	Warning string `json:"warning,omitempty"`
}

// maiExplained explains an MUE adjudication indicator (CMS, "Medicare
// NCCI Medically Unlikely Edits", MUE adjudication indicators).
func maiExplained(mai, value int) string {
	var s string
	switch mai {
	case 1:
		s = "claim line edit: units above the MUE on one line are denied; more units may be reported on separate lines with modifiers that show a distinct service (e.g. 59, XE/XS/XP/XU, anatomic modifiers, 76, 77, 91) when documented"
	case 2:
		s = "date of service edit, policy: an absolute per-day limit set by policy; units above it are denied and appeals do not overturn it"
	case 3:
		s = "date of service edit, clinical: a per-day limit from clinical data; units above it are denied but may be paid on appeal with documentation of medical necessity"
	}
	if value == 0 {
		s = "no units are payable for this provider type; " + s
	}
	return s
}

var mueTables = []struct {
	f    codefile.Format
	name string
}{
	{codefile.MUEPractitioner, "practitioner"},
	{codefile.MUEHospital, "outpatient hospital"},
	{codefile.MUEDME, "DME supplier"},
}

// muesFor returns the MUEs of a normalized code in every MUE table, from
// the release in force at the date of service (else the nearest).
func (kb *KB) muesFor(c string, dos time.Time) []MUE {
	var out []MUE
	for _, tb := range mueTables {
		ts := kb.mues[tb.f]
		if len(ts) == 0 {
			continue
		}
		t := ts[0]
		for _, x := range ts {
			if !x.rel.From.After(dos) {
				t = x
			}
		}
		m := t.byCode[c]
		if m == nil {
			continue
		}
		mue := MUE{Code: c, Table: tb.name, Value: m.value, MAI: m.mai, MAIText: m.maiText,
			Explained: maiExplained(m.mai, m.value), Rationale: m.rationale, Release: t.rel.Name}
		if !t.rel.Covers(dos) {
			mue.Warning = "the MUE release " + t.rel.Name + " (" + t.rel.From.Format(time.DateOnly) + " to " +
				t.rel.To.Format(time.DateOnly) + ") does not cover the date of service " + dos.Format(time.DateOnly)
		}
		out = append(out, mue)
	}
	return out
}
