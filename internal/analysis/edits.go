package analysis

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/codes/codefile"
)

// distinctDocs is what the record must show for a modifier that bypasses
// an NCCI PTP edit (CMS, NCCI Policy Manual, chapter I, section E).
const distinctDocs = "Documentation that the column 2 service was distinct from the column 1 service: a different anatomic site or organ system, a separate incision or excision, a separate lesion or injury, or a separate encounter or session. Without it the column 2 code is not reported."

// check runs the NCCI PTP, MUE and Excludes1 checks on the mentioned codes
// and writes the answer for a pair, units, modifier or excludes question.
func (r *run) check(kind string) []string {
	var list []string
	for _, h := range r.hits {
		if !h.isMod {
			list = append(list, h.entry.Code)
		}
	}
	if len(list) == 0 {
		if kind == KindModifierQuestion {
			return nil
		}
		r.res.Missing = append(r.res.Missing, "The codes you want to report together, with their units.")
		return []string{"Please send the codes you want checked (for example 11042 and 97597, or E11.9 and E10.9) and I will check the NCCI edits, MUEs and Excludes1 notes between them."}
	}
	cr, err := r.kb.Check(r.ctx, list, r.dos)
	if err != nil {
		r.warn("The NCCI edits could not be read: " + err.Error())
		return []string{"I could not check the edits just now; a member of staff will look at it."}
	}
	for _, w := range cr.Warnings {
		if w.Kind == "no_release" {
			r.res.Gaps = append(r.res.Gaps, "This desk has "+w.Message+"; an administrator can import the CMS file (codedesk codes import).")
			continue
		}
		if w.Kind == "not_found" {
			continue // reported with the code
		}
		r.warn(w.Message + ".")
	}
	var out []string
	var procs []string
	for _, h := range r.hits {
		if h.isProc {
			procs = append(procs, h.entry.Code)
		}
	}
	// NCCI PTP.
	for _, f := range cr.NCCI {
		e := NCCIEdit{Column1: f.Column1, Column2: f.Column2, ModifierIndicator: f.ModifierIndicator, Effective: f.Effective,
			Deleted: f.Deleted, Rationale: f.Rationale, Setting: f.Table, Release: f.Release}
		r.res.NCCI = append(r.res.NCCI, e)
		r.use(f.Release)
		r.res.Findings = append(r.res.Findings, Finding{Kind: "ncci", Summary: fmt.Sprintf("NCCI PTP edit (%s): column 1 %s, column 2 %s, effective %s, rationale \"%s\"; modifier indicator %s.",
			f.Table, f.Column1, f.Column2, f.Effective, f.Rationale, f.Explained), Source: f.Release})
	}
	if len(procs) >= 2 && cr.PTPChecked {
		r.ptpCoverage()
	}
	if len(procs) >= 2 && (kind == KindNCCIPairCheck || kind == KindModifierQuestion) {
		switch {
		case !cr.PTPChecked:
			out = append(out, fmt.Sprintf("I cannot say whether %s bundle: no NCCI PTP edits are loaded on this desk.", strings.Join(procs, " and ")))
		case len(cr.NCCI) == 0:
			out = append(out, fmt.Sprintf("There is no NCCI PTP edit between %s in the loaded NCCI release for %s, so NCCI does not bundle them; payer policy and the documentation of each service still apply.", strings.Join(procs, " and "), r.res.DateOfService))
		}
		for _, f := range cr.NCCI {
			var s string
			switch f.ModifierIndicator {
			case "0":
				s = fmt.Sprintf("Yes, they bundle: %s is column 2 to %s under NCCI, with modifier indicator 0, so %s is not paid with %s on the same date of service and no modifier (59, XS or any other) bypasses the edit.", f.Column2, f.Column1, f.Column2, f.Column1)
			case "1":
				s = fmt.Sprintf("They bundle by default: %s is column 2 to %s under NCCI, with modifier indicator 1, so %s is paid with %s only when a modifier shows a distinct service and the documentation supports it.", f.Column2, f.Column1, f.Column2, f.Column1)
				r.res.Verify = append(r.res.Verify, distinctDocs)
			case "9":
				s = fmt.Sprintf("The NCCI edit between %s and %s is not in force (modifier indicator 9).", f.Column1, f.Column2)
			}
			if f.Deleted != nil {
				s += fmt.Sprintf(" The edit was deleted effective %s.", *f.Deleted)
			}
			out = append(out, s)
		}
		if len(cr.NCCI) > 0 || cr.PTPChecked {
			r.res.Kinds = append(r.res.Kinds, KindNCCIPairCheck)
		}
	}
	// MUE.
	if kind == KindMUECheck || kind == KindNCCIPairCheck || kind == KindModifierQuestion || r.facts.Units > 0 {
		out = append(out, r.mueFindings(kind == KindMUECheck)...)
	}
	// Excludes1.
	var dx []string
	for _, h := range r.hits {
		if h.isDx {
			dx = append(dx, h.entry.Code)
		}
	}
	for _, x := range cr.Excludes {
		r.use(x.Release)
		r.res.Findings = append(r.res.Findings, Finding{Kind: "excludes1", Summary: fmt.Sprintf("Excludes1 at %s: \"%s\" — %s and %s are not coded together (Guidelines I.A.12.a), unless the conditions are unrelated.", x.Source, x.Note, x.Code, x.Excluded), Source: x.Release})
	}
	if kind == KindExcludesConflict {
		switch {
		case len(dx) < 2:
			r.res.Missing = append(r.res.Missing, "Both diagnosis codes you want to report together.")
			out = append(out, "Please send both diagnosis codes; I check Excludes1 notes between pairs of codes.")
		case len(cr.Excludes) > 0:
			x := cr.Excludes[0]
			out = append(out, fmt.Sprintf("No, not together: the Excludes1 note at %s lists \"%s\", so %s and %s are mutually exclusive and only the one the documentation supports is reported (an exception applies only when the two conditions are unrelated, Guidelines I.A.12.a).", x.Source, x.Note, x.Code, x.Excluded))
			r.res.Verify = append(r.res.Verify, "Which of the two conditions the provider documents; if both are documented, ask the provider to clarify.")
		default:
			out = append(out, fmt.Sprintf("Yes: there is no Excludes1 note between %s in the loaded Tabular List, so they may be reported together when both are documented.", strings.Join(dx, " and ")))
			for _, h := range r.hits {
				if h.isDx && len(h.entry.Notes.Excludes2) > 0 {
					out = append(out, fmt.Sprintf("(%s carries Excludes2 notes, which allow both codes when both conditions are present.)", h.entry.Code))
					break
				}
			}
		}
	}
	if kind == KindNCCIPairCheck && len(procs) < 2 {
		if len(r.unknownProcs) > 0 {
			unknown := strings.Join(r.unknownProcs, " and ")
			out = append([]string{fmt.Sprintf("I cannot check this pair: %s is not in the loaded NCCI tables for %s. A CPT code that has been deleted leaves the MUE and PTP files, so it may be a deleted code or a typo; please confirm the code you are billing.",
				unknown, r.res.DateOfService)}, out...)
			r.res.Missing = append(r.res.Missing, fmt.Sprintf("The correct code for %s (deleted or mistyped?), so the pair can be checked.", unknown))
		} else {
			r.res.Missing = append(r.res.Missing, "The second procedure code: an NCCI PTP edit is between two codes billed on the same date of service.")
		}
	}
	return out
}

// ptpCoverage warns when no loaded NCCI PTP release covers the date of
// service: the edits were read from the nearest one and may have changed.
func (r *run) ptpCoverage() {
	var nearest codes.Release
	for _, rel := range r.kb.Releases() {
		if rel.Format != codefile.PTPPractitioner && rel.Format != codefile.PTPHospital {
			continue
		}
		if rel.Covers(r.dos) {
			return
		}
		nearest = rel
	}
	if nearest.Name != "" {
		r.warn(fmt.Sprintf("No loaded NCCI PTP release covers %s; the edits were read from %s (valid %s to %s) and may have changed since. Import the release in force for that date to be sure.",
			r.res.DateOfService, nearest.Name, nearest.From.Format(time.DateOnly), nearest.To.Format(time.DateOnly)))
	}
}

// mueFindings reports the MUEs of the procedure codes, against the units
// the question asks about.
func (r *run) mueFindings(answer bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, h := range r.hits {
		if !h.isProc {
			continue
		}
		// "We gave 60 mg" of a drug reported per 15 mg is 4 units.
		if r.facts.Units == 0 && answer {
			if u, s := doseUnits(h.entry, r.text); u > 0 {
				r.facts.Units, r.res.Facts.Units = u, u
				out = append(out, s)
			}
		}
		if len(h.entry.MUE) == 0 && answer {
			out = append(out, fmt.Sprintf("%s has no MUE in the loaded MUE tables, so units are not limited by an MUE (payer policy and documentation still apply).", h.entry.Code))
		}
		for _, m := range h.entry.MUE {
			key := m.Code + m.Table
			if seen[key] {
				continue
			}
			seen[key] = true
			r.res.MUE = append(r.res.MUE, MUE{Code: m.Code, Value: m.Value, MAI: m.MAI, Rationale: m.Rationale, Release: m.Release})
			r.use(m.Release)
			r.res.Findings = append(r.res.Findings, Finding{Kind: "mue", Summary: fmt.Sprintf("MUE for %s (%s): %d unit(s); MAI %d (%s): %s.", m.Code, m.Table, m.Value, m.MAI, m.MAIText, m.Explained), Source: m.Release})
			if m.Warning != "" {
				r.warn(m.Code + ": " + m.Warning)
			}
			if !answer {
				continue
			}
			per := "per day"
			if m.MAI == 1 {
				per = "per claim line"
			}
			s := fmt.Sprintf("The %s MUE for %s is %d unit(s) %s (MAI %d).", m.Table, m.Code, m.Value, per, m.MAI)
			if m.Warning != "" {
				s += fmt.Sprintf(" It comes from %s, the MUE release loaded here, which does not cover %s: confirm the value in the release in force on the date of service.", m.Release, r.res.DateOfService)
			}
			if u := r.facts.Units; u > 0 {
				switch {
				case u <= m.Value:
					s += fmt.Sprintf(" %d unit(s) is within it.", u)
					if has(strings.ToLower(r.text), "denied", "denial", "rejected", "exceeded", "exceeding") {
						s += fmt.Sprintf(" A denial for exceeding the MUE at %d units points to a different MUE in force on that date, or to units of the same day counted across lines or claims.", u)
					}
				case m.MAI == 1:
					s += fmt.Sprintf(" %d units exceed it on one line; report the extra units on separate lines with a modifier for a distinct service only when the documentation shows one.", u)
				case m.MAI == 2:
					s += fmt.Sprintf(" %d units exceed it, and with MAI 2 the limit is absolute: units above it are denied and not paid on appeal.", u)
				default:
					s += fmt.Sprintf(" %d units exceed it; the excess is denied, and with MAI 3 it can be paid on appeal with documentation of medical necessity.", u)
				}
			} else if m.MAI == 3 {
				s += " With MAI 3, units above it are denied but can be paid on appeal with documentation of medical necessity."
			} else if m.MAI == 2 {
				s += " With MAI 2 the limit is absolute: units above it are not paid, even on appeal."
			}
			out = append(out, s)
		}
	}
	if answer {
		if r.facts.Units == 0 {
			r.res.Verify = append(r.res.Verify, "The number of units documented for the date of service.")
		}
		r.res.Kinds = append(r.res.Kinds, KindMUECheck)
	}
	return out
}

// modifierGuide is plain-language guidance for the modifiers people ask
// about most (CMS NCCI Policy Manual and Claims Processing Manual); the
// Level II modifiers' official descriptors come from the HCPCS file.
var modifierGuide = map[string]string{
	"25": "25 goes on the E/M code (never on the procedure) when the E/M is significant and separately identifiable beyond the usual pre- and post-procedure work of the procedure done the same day; the decision to perform a minor procedure is included in it and does not justify 25 by itself.",
	"59": "59 marks a distinct procedural service (different site, session, lesion or incision) to bypass an NCCI edit with modifier indicator 1; CMS prefers the more specific X modifiers (XE, XS, XP, XU), and 59 is never used on an E/M code.",
	"XE": "XE: separate encounter — a distinct service because it was performed during a separate encounter the same day.",
	"XS": "XS: separate structure — a distinct service because it was performed on a separate organ or structure.",
	"XP": "XP: separate practitioner — a distinct service because it was performed by a different practitioner.",
	"XU": "XU: unusual non-overlapping service — a distinct service that does not overlap the usual components of the main service.",
	"RT": "RT and LT identify the right and left side; they also bypass NCCI edits with indicator 1 when the two services were on different sides.",
	"LT": "RT and LT identify the right and left side; they also bypass NCCI edits with indicator 1 when the two services were on different sides.",
	"50": "50 reports a bilateral procedure on one line with 1 unit when the code's bilateral surgery indicator (MPFS) is 1; for indicator 2 or 3 codes, or codes already bilateral, 50 is not used and RT/LT or units apply per payer policy.",
	"76": "76 is a repeat procedure by the same physician the same day; 77 is a repeat by a different physician. The record must show the service was repeated and why.",
	"77": "77 is a repeat procedure by a different physician the same day; 76 is a repeat by the same physician.",
	"26": "26 reports the professional component (interpretation and report) of a service that has professional and technical components; it is not used on codes that are already interpretation-only.",
	"TC": "TC reports the technical component only (equipment, staff, supplies) of a service with professional and technical components.",
	"GA": "GA: a valid ABN (waiver of liability) is on file for a service the provider expects Medicare to deny as not reasonable and necessary; the patient can be billed if Medicare denies.",
	"GZ": "GZ: the provider expects Medicare to deny the service as not reasonable and necessary and no valid ABN is on file; the provider is liable.",
	"GY": "GY: the item or service is statutorily excluded or is not a Medicare benefit; the claim is billed to get a denial.",
	"KX": "KX attests that the requirements of the medical policy are met — for outpatient therapy, that services above the annual threshold are medically necessary and documented as such.",
	"91": "91 is a repeat clinical diagnostic laboratory test the same day to obtain subsequent results; not for retesting because of a problem with the specimen or equipment.",
	"24": "24 is an unrelated E/M by the same physician during a postoperative period.",
	"57": "57 marks the E/M that resulted in the decision for major surgery (90-day global) the day of or the day before surgery.",
	"58": "58 is a staged or related procedure by the same physician during the postoperative period.",
	"79": "79 is an unrelated procedure by the same physician during the postoperative period.",
	"78": "78 is an unplanned return to the operating room for a related procedure during the postoperative period.",
	"51": "51 reports multiple procedures by the same physician at the same session (payers apply the multiple procedure reduction).",
}

// modifierAnswer explains the modifiers a question names, with the
// official Level II descriptors where there are any.
func (r *run) modifierAnswer() []string {
	var out []string
	mods := r.facts.Modifiers
	ptp := map[string]string{} // column2 → indicator
	for _, e := range r.res.NCCI {
		ptp[e.Column2] = e.ModifierIndicator
	}
	em := ""
	for _, h := range r.hits {
		if h.isProc && strings.HasPrefix(h.entry.Code, "992") {
			em = h.entry.Code
		}
	}
	if len(mods) == 0 {
		mods = []string{"59"}
		if em != "" {
			mods = []string{"25"}
		}
	}
	said := map[string]bool{}
	for _, m := range mods {
		g := modifierGuide[m]
		if en, ok := r.lookupFound(m, codes.HCPCS); ok && en.Modifier {
			row := codeRow(en, RoleAsked)
			dup := false
			for _, c := range r.res.Codes {
				if c.Code == row.Code {
					dup = true
				}
			}
			if !dup {
				r.res.Codes = append(r.res.Codes, row)
			}
			r.use(en.Release)
			r.res.Findings = append(r.res.Findings, Finding{Kind: "modifier", Summary: fmt.Sprintf("Modifier %s (HCPCS Level II): %s.", m, en.Description), Source: en.Release})
		}
		if g != "" && !said[g] {
			said[g] = true
			r.res.Findings = append(r.res.Findings, Finding{Kind: "modifier", Summary: "Modifier " + g, Source: "CMS NCCI Policy Manual / Medicare Claims Processing Manual"})
		}
	}
	var advice string
	switch {
	case em != "" && len(r.res.NCCI) > 0:
		advice = fmt.Sprintf("On the E/M (%s) the modifier is 25, not 59: 25 applies when the visit was significant and separately identifiable from the procedure, documented apart from the procedure note; 59 and the X modifiers are never appended to E/M codes.", em)
		r.res.Verify = append(r.res.Verify, "The E/M note stands on its own: a separate history, exam or medical decision making for a problem beyond the procedure's usual pre-service work.")
	case em != "" && has(strings.ToLower(r.text), "injection", "procedure", "20610", "joint"):
		advice = fmt.Sprintf("Modifier 25 goes on %s when the visit is significant and separately identifiable from the same-day procedure.", em)
	}
	for _, e := range r.res.NCCI {
		if e.ModifierIndicator == "0" {
			advice += fmt.Sprintf(" For %s with %s no modifier helps: the modifier indicator is 0, and a modifier appended to bypass it would misreport the service.", e.Column2, e.Column1)
		} else if e.ModifierIndicator == "1" && !strings.HasPrefix(e.Column2, "992") && !strings.HasPrefix(e.Column1, "992") {
			advice += fmt.Sprintf(" For %s with %s (indicator 1) use the most specific distinct-service modifier on %s: XS for a separate structure or site, XE for a separate encounter, XP for a different practitioner, XU otherwise; 59 only when none of them fits. Anatomic modifiers (RT/LT, F/T digits) come first when they describe the difference.", e.Column2, e.Column1, e.Column2)
		}
	}
	if advice == "" {
		for _, m := range mods {
			if g := modifierGuide[m]; g != "" {
				advice += " Modifier " + g
			}
		}
	}
	if a := strings.TrimSpace(advice); a != "" {
		out = append(out, a)
	}
	if len(r.res.NCCI) > 0 {
		r.res.Verify = append(r.res.Verify, "The payer's own modifier policy: commercial payers may follow NCCI or their own edits.")
	}
	if len(out) == 0 {
		out = append(out, "The modifier depends on the codes and what the documentation shows; please send the codes billed together.")
		r.res.Missing = append(r.res.Missing, "The codes billed on the same date of service.")
	}
	return out
}

// confidence is how sure the answer is (0–1): by kind, lowered for each
// code not found, each fact missing and each code set not loaded.
func (r *run) confidence(notFound int) float64 {
	res := r.res
	c := 0.9
	switch res.Kind {
	case KindNotAQuestion:
		c = 0.9
	case KindOther:
		c = 0.3
	case KindCodeLookup, KindExcludesConflict:
		c = 0.95
	case KindNCCIPairCheck, KindMUECheck:
		c = 0.9
	case KindModifierQuestion:
		c = 0.75
	case KindDiagnosisCoding, KindHCPCSCoding, KindSeventhCharacter:
		c = 0.85
		if r.clinical > 0 && r.clinical < 0.6 {
			c -= 0.15
		}
		for _, code := range res.Codes {
			if strings.Contains(code.Notes, "alternative") {
				c -= 0.1
				break
			}
		}
	}
	if len(res.Codes) == 0 && res.Kind != KindNotAQuestion && res.Kind != KindOther {
		c -= 0.3
	}
	c -= 0.15 * float64(notFound)
	if len(res.Missing) > 0 {
		c -= 0.15
	}
	if len(res.Gaps) > 0 {
		c -= 0.15
	}
	for _, code := range res.Codes {
		if code.Description == "" {
			c -= 0.05
		}
	}
	return max(0.05, min(0.99, c))
}

// doseUnits converts the dose a question states into units of a drug code
// reported "per N mg".
func doseUnits(en codes.Entry, text string) (int, string) {
	m := rePerDose.FindStringSubmatch(en.Description)
	d := reDose.FindStringSubmatch(text)
	if m == nil || d == nil || !strings.EqualFold(strings.TrimSuffix(m[2], "s"), d[2]) {
		return 0, ""
	}
	per, _ := strconv.ParseFloat(m[1], 64)
	given, _ := strconv.ParseFloat(d[1], 64)
	if per <= 0 || given <= 0 {
		return 0, ""
	}
	u := int(math.Ceil(given / per))
	return u, fmt.Sprintf("%s is reported per %s %s, so %s %s is %d unit(s).", en.Code, m[1], m[2], d[1], d[2], u)
}
