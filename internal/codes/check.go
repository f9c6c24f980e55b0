package codes

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/codes/codefile"
)

// CheckResult is what codedesk check reports for codes billed together.
// The JSON shape is the one in docs/design.md.
type CheckResult struct {
	// DOS is the date of service the checks were made for.
	DOS      string            `json:"dos"`
	NCCI     []PTPFinding      `json:"ncci"`
	MUE      []MUE             `json:"mue"`
	Excludes []ExcludesFinding `json:"excludes"`
	Warnings []CheckWarning    `json:"warnings"`
	// PTPChecked is false when two or more procedure codes were given but
	// no NCCI PTP edits are imported, so "no edit" would mean "not known".
	PTPChecked bool `json:"ptp_checked"`
}

// PTPFinding is an NCCI procedure-to-procedure edit between two of the
// codes: column 2 is not paid with column 1 unless the modifier indicator
// allows a modifier and the documentation supports it.
type PTPFinding struct {
	Column1           string  `json:"column1"`
	Column2           string  `json:"column2"`
	ModifierIndicator string  `json:"modifier_indicator"` // "0", "1" or "9"
	Explained         string  `json:"explained"`
	Effective         string  `json:"effective"` // YYYY-MM-DD
	Deleted           *string `json:"deleted"`   // YYYY-MM-DD, null while in force
	Pre1996           bool    `json:"pre1996,omitempty"`
	Rationale         string  `json:"rationale"`
	Table             string  `json:"table"` // practitioner, outpatient hospital
	Release           string  `json:"release"`
}

// ExcludesFinding is an ICD-10-CM Excludes1 note between two of the
// diagnosis codes: they are not coded together (Guidelines I.A.12.a).
type ExcludesFinding struct {
	Code     string `json:"code"`     // the code whose hierarchy carries the note
	Excluded string `json:"excluded"` // the other code, named by the note
	Note     string `json:"note"`
	Source   string `json:"source"` // the level the note is written at
	Release  string `json:"release"`
}

// CheckWarning is a problem with one code on its own.
type CheckWarning struct {
	Code    string `json:"code"`
	Kind    string `json:"kind"` // not_found, header, seventh_character, placeholder_x, invalid_seventh_character, deleted, terminated, not_in_force, no_release
	Message string `json:"message"`
}

// modifierExplained explains an NCCI PTP modifier indicator (CMS, "NCCI
// Policy Manual", chapter I, section E).
func modifierExplained(mi int) string {
	switch mi {
	case 0:
		return "0 = not allowed: no modifier bypasses this edit; the column 2 code is not paid with the column 1 code on the same date of service"
	case 1:
		return "1 = allowed: a modifier showing a distinct service (59 or the more specific XE, XP, XS, XU; anatomic modifiers such as LT/RT, E1-E4, FA-F9, TA-T9, LC/LD/LM/RC/RI; 24, 25, 57, 58, 78, 79, 91 where they apply) lets both be paid when the documentation supports it"
	case 9:
		return "9 = not applicable: the edit was deleted and the modifier indicator does not apply"
	}
	return ""
}

func ymdText(v int) string {
	if v == 0 {
		return ""
	}
	return fromYMD(v).Format(time.DateOnly)
}

// Check reports the edits that apply when the codes are billed together on
// one date of service (zero: today): NCCI PTP edits among the procedure
// codes in both orders with the modifier indicator explained, MUEs with
// the adjudication indicator explained, ICD-10-CM Excludes1 conflicts
// between the diagnosis codes, and per-code problems (unknown, header used
// as billable, missing 7th character or placeholder X, deleted or
// terminated). PTP edits are read from the database (the tables are large),
// everything else from memory.
func (kb *KB) Check(ctx context.Context, codes []string, dos time.Time) (CheckResult, error) {
	if dos.IsZero() {
		dos = kb.now()
	}
	dos = day(dos)
	res := CheckResult{DOS: dos.Format(time.DateOnly), NCCI: []PTPFinding{}, MUE: []MUE{}, Excludes: []ExcludesFinding{}, Warnings: []CheckWarning{}}
	var procs, dx []string
	seen := map[string]bool{}
	for _, code := range codes {
		c := Normalize(code)
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		entries := kb.Lookup(c, dos)
		isProc, isDx := false, false
		for _, e := range entries {
			if !e.Found {
				kind := "not_found"
				if len(e.NearMatches) > 0 && strings.HasPrefix(e.NearMatches[0].Reason, "placeholder X") {
					kind = "placeholder_x"
				}
				res.Warnings = append(res.Warnings, CheckWarning{Code: e.Code, Kind: kind, Message: kb.notFoundMessage(c, e)})
				continue
			}
			switch e.System {
			case ICD10CM:
				isDx = true
				kb.dxWarnings(&res, c, e, dos)
			case HCPCS, CPT:
				if !e.Modifier {
					isProc = true
				}
				kb.statusWarnings(&res, e)
				res.MUE = append(res.MUE, e.MUE...)
			case PCS:
				kb.statusWarnings(&res, e)
			}
		}
		if isProc {
			procs = append(procs, c)
		}
		if isDx {
			dx = append(dx, c)
		}
	}
	res.PTPChecked = len(procs) < 2 || kb.hasPTP()
	if len(procs) >= 2 {
		f, err := kb.ptpFindings(ctx, procs, dos)
		if err != nil {
			return res, err
		}
		res.NCCI = f
	}
	if len(procs) > 0 && !kb.hasPTP() {
		res.Warnings = append(res.Warnings, CheckWarning{Kind: "no_release", Message: "no NCCI PTP edits imported: procedure-to-procedure pairs were not checked"})
	}
	if len(procs) > 0 && len(kb.mues) == 0 {
		res.Warnings = append(res.Warnings, CheckWarning{Kind: "no_release", Message: "no NCCI MUE table imported: units were not checked"})
	}
	res.Excludes = kb.excludesFindings(dx, dos)
	return res, nil
}

func (kb *KB) notFoundMessage(c string, e Entry) string {
	msg := fmt.Sprintf("%s was not found in the imported code sets", e.Code)
	if len(e.NearMatches) > 0 {
		n := e.NearMatches[0]
		msg += fmt.Sprintf("; did you mean %s (%s: %s)?", n.Code, n.Reason, n.Description)
	}
	return msg
}

func (kb *KB) statusWarnings(res *CheckResult, e Entry) {
	switch e.Status {
	case "deleted", "terminated", "not_in_force":
		msg := fmt.Sprintf("%s %s is %s at the date of service", e.System, e.Code, strings.ReplaceAll(e.Status, "_", " "))
		if len(e.Warnings) > 0 {
			msg += ": " + e.Warnings[0]
		}
		if len(e.ReplacedBy) > 0 {
			var rs []string
			for _, r := range e.ReplacedBy {
				rs = append(rs, r.Code)
			}
			msg += "; replaced by " + strings.Join(rs, ", ")
		}
		res.Warnings = append(res.Warnings, CheckWarning{Code: e.Code, Kind: e.Status, Message: msg})
	}
}

// dxWarnings checks one ICD-10-CM code on its own: a header used as a
// billable code (Guidelines I.B.3, "level of detail in coding"), a missing
// 7th character or placeholder X (I.A.5, I.A.6), a 7th character the
// category does not define.
func (kb *KB) dxWarnings(res *CheckResult, c string, e Entry, dos time.Time) {
	kb.statusWarnings(res, e)
	ti := kb.tabularInfo(c, dos)
	var seventh []string
	if ti != nil {
		seventh = ti.seventh
	}
	if e.Status == "header" {
		needs7 := len(seventh) > 0 && len(c) < 7
		switch {
		case needs7:
			ex := c
			for len(ex) < 6 {
				ex += "X"
			}
			res.Warnings = append(res.Warnings, CheckWarning{Code: e.Code, Kind: "seventh_character",
				Message: fmt.Sprintf("%s needs a 7th character (%s)%s, e.g. %s", e.Code, seventhCharHint(ti.notes),
					placeholderHint(c), Display(ICD10CM, ex+seventh[0]))})
		default:
			msg := fmt.Sprintf("%s is a header (%s), not valid on a claim; report one of the %d billable codes below it", e.Code, e.Description, e.BillableCount)
			if len(e.BillableChildren) > 0 {
				var cs []string
				for i, ch := range e.BillableChildren {
					if i == 5 {
						cs = append(cs, "…")
						break
					}
					cs = append(cs, ch.Code)
				}
				msg += " (" + strings.Join(cs, ", ") + ")"
			}
			res.Warnings = append(res.Warnings, CheckWarning{Code: e.Code, Kind: "header", Message: msg})
		}
		return
	}
	if len(c) == 7 && len(seventh) > 0 && !slices.Contains(seventh, c[6:]) {
		res.Warnings = append(res.Warnings, CheckWarning{Code: e.Code, Kind: "invalid_seventh_character",
			Message: fmt.Sprintf("%s: 7th character %s is not defined for this category; valid: %s", e.Code, c[6:], seventhCharHint(ti.notes))})
	}
}

func placeholderHint(c string) string {
	if len(c) < 6 {
		return "; fill the empty positions before it with the placeholder X"
	}
	return ""
}

// hasPTP reports whether any NCCI PTP release is loaded.
func (kb *KB) hasPTP() bool {
	for _, r := range kb.releases {
		if r.Format == codefile.PTPPractitioner || r.Format == codefile.PTPHospital {
			return true
		}
	}
	return false
}

// ptpReleases returns, for each PTP table, the parts of the version in
// force at dos (else the nearest older, else the oldest).
func (kb *KB) ptpReleases(dos time.Time) map[int64]Release {
	out := map[int64]Release{}
	for _, f := range []codefile.Format{codefile.PTPPractitioner, codefile.PTPHospital} {
		var best string
		var bestFrom time.Time
		for _, r := range kb.releases {
			if r.Format != f {
				continue
			}
			switch {
			case best == "":
				best, bestFrom = r.Version, r.From
			case !r.From.After(dos) && (r.From.After(bestFrom) || bestFrom.After(dos)):
				best, bestFrom = r.Version, r.From
			case bestFrom.After(dos) && r.From.Before(bestFrom):
				best, bestFrom = r.Version, r.From
			}
		}
		for _, r := range kb.releases {
			if r.Format == f && r.Version == best {
				out[r.ID] = r
			}
		}
	}
	return out
}

// ptpFindings reads the PTP edits among the codes from the database and
// keeps, for each pair and table, the row in force at the date of service.
func (kb *KB) ptpFindings(ctx context.Context, procs []string, dos time.Time) ([]PTPFinding, error) {
	rels := kb.ptpReleases(dos)
	if len(rels) == 0 {
		return []PTPFinding{}, nil
	}
	var args []any
	for id := range rels {
		args = append(args, id)
	}
	relIn := strings.TrimSuffix(strings.Repeat("?,", len(rels)), ",")
	codeIn := strings.TrimSuffix(strings.Repeat("?,", len(procs)), ",")
	for _, c := range procs {
		args = append(args, c)
	}
	for _, c := range procs {
		args = append(args, c)
	}
	rows, err := kb.db.Query(ctx, `SELECT release_id, column1, column2, pre1996, effective, deleted, modifier, rationale
		FROM ncci_ptp WHERE release_id IN (`+relIn+`) AND column1 IN (`+codeIn+`) AND column2 IN (`+codeIn+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading NCCI PTP edits: %w", err)
	}
	defer rows.Close()
	type key struct {
		table  codefile.Format
		c1, c2 string
	}
	best := map[key]PTPFinding{}
	bestEff := map[key]int{}
	d := ymd(dos)
	for rows.Next() {
		var (
			id                int64
			c1, c2, rationale string
			pre               bool
			eff, del, mi      int
		)
		if err := rows.Scan(&id, &c1, &c2, &pre, &eff, &del, &mi, &rationale); err != nil {
			return nil, fmt.Errorf("reading NCCI PTP edits: %w", err)
		}
		// An edit applies from its effective date through its deletion
		// date; of two rows for one pair, the one in force wins.
		if c1 == c2 || eff > d || del != 0 && del < d {
			continue
		}
		r := rels[id]
		k := key{r.Format, c1, c2}
		if prev, ok := bestEff[k]; ok && prev >= eff {
			continue
		}
		bestEff[k] = eff
		f := PTPFinding{Column1: c1, Column2: c2, ModifierIndicator: fmt.Sprint(mi), Explained: modifierExplained(mi),
			Effective: ymdText(eff), Pre1996: pre, Rationale: rationale, Release: r.Name, Table: "practitioner"}
		if r.Format == codefile.PTPHospital {
			f.Table = "outpatient hospital"
		}
		if del != 0 {
			s := ymdText(del)
			f.Deleted = &s
		}
		best[k] = f
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading NCCI PTP edits: %w", err)
	}
	out := make([]PTPFinding, 0, len(best))
	for _, f := range best {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Table != b.Table {
			return a.Table > b.Table // practitioner first
		}
		if a.Column1 != b.Column1 {
			return a.Column1 < b.Column1
		}
		return a.Column2 < b.Column2
	})
	return out, nil
}

// excludesFindings returns every Excludes1 conflict among diagnosis codes.
func (kb *KB) excludesFindings(dx []string, dos time.Time) []ExcludesFinding {
	out := []ExcludesFinding{}
	for _, a := range dx {
		ti := kb.tabularInfo(a, dos)
		if ti == nil {
			continue
		}
		for _, b := range dx {
			if a == b {
				continue
			}
			if note, _, ok := ti.excludes1Conflict(b); ok {
				out = append(out, ExcludesFinding{Code: Display(ICD10CM, a), Excluded: Display(ICD10CM, b),
					Note: note.Text, Source: note.Source, Release: ti.t.rel.Name})
			}
		}
	}
	return out
}
