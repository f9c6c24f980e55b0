package codes

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/codes/codefile"
)

// Release is one imported file: a release (or a part of a multi-file
// release) of a code set, with the range of dates of service it applies to.
type Release struct {
	ID         int64           `json:"id"`
	System     System          `json:"system"`
	Format     codefile.Format `json:"format"`
	Version    string          `json:"version"`
	Part       string          `json:"part,omitempty"`
	Name       string          `json:"name"`
	From       time.Time       `json:"effective_from"`
	To         time.Time       `json:"effective_to,omitzero"` // zero: open-ended
	SourceFile string          `json:"source_file"`
	SHA256     string          `json:"sha256"`
	Rows       int64           `json:"rows"`
	ImportedAt time.Time       `json:"imported_at"`
}

// Covers reports whether the release's nominal range contains the day d.
func (r Release) Covers(d time.Time) bool {
	return !d.Before(r.From) && (r.To.IsZero() || !d.After(r.To))
}

// ymd turns a date into its YYYYMMDD number (0 for the zero time).
func ymd(t time.Time) int {
	if t.IsZero() {
		return 0
	}
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

// fromYMD turns YYYYMMDD into a UTC date (the zero time for 0).
func fromYMD(v int) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Date(v/10000, time.Month(v/100%100), v%100, 0, 0, 0, 0, time.UTC)
}

// day truncates t to its calendar date in UTC terms of its own zone.
func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func systemOf(f codefile.Format) System {
	switch {
	case strings.HasPrefix(string(f), "icd10cm"):
		return ICD10CM
	case strings.HasPrefix(string(f), "pcs"):
		return PCS
	case f == codefile.HCPCS:
		return HCPCS
	case f == codefile.CPTDescriptors:
		return CPT
	}
	return "ncci"
}

var (
	reYear    = regexp.MustCompile(`(?:^|[^0-9])(20[0-9]{2})(?:[^0-9]|$)`)
	reHCPCS   = regexp.MustCompile(`(?i)hcpc(20[0-9]{2})[_-]?(jan|apr|jul|oct)`)
	rePTPVer  = regexp.MustCompile(`(?i)v([0-9]{2})([0-3])r([0-9]+)(?:[-_](f[0-9]+))?`)
	reMUEDate = regexp.MustCompile(`(?i)eff[_-]?([0-9]{2})[-_]([0-9]{2})[-_]([0-9]{4})`)
)

// releaseMeta works out version, part, name and effective range of a file
// from its format and name (and the XML version element for Tabular and
// Index files). opts.Version and opts.EffectiveFrom override.
func releaseMeta(f codefile.Format, path, xmlVersion string, opts ImportOptions) (Release, error) {
	base := filepath.Base(path)
	r := Release{System: systemOf(f), Format: f, SourceFile: base}
	year := func() int {
		if opts.Version != "" {
			if y, err := strconv.Atoi(opts.Version[:min(4, len(opts.Version))]); err == nil {
				return y
			}
		}
		if xmlVersion != "" {
			if y, err := strconv.Atoi(strings.TrimSpace(xmlVersion)); err == nil {
				return y
			}
		}
		ms := reYear.FindAllStringSubmatch(base, -1)
		if len(ms) == 0 {
			return 0
		}
		y, _ := strconv.Atoi(ms[0][1])
		return y
	}
	quarterName := func(y, q int) string { return fmt.Sprintf("%d-Q%d", y, q) }
	quarterRange := func(y, q int) (time.Time, time.Time) {
		from := time.Date(y, time.Month(3*(q-1)+1), 1, 0, 0, 0, 0, time.UTC)
		return from, from.AddDate(0, 3, -1)
	}
	switch f {
	case codefile.ICD10CMOrder, codefile.ICD10CMCodes, codefile.ICD10CMOrderAddenda, codefile.ICD10CMCodesAddenda,
		codefile.ICD10CMTabular, codefile.ICD10CMIndex, codefile.PCSOrder, codefile.PCSCodes,
		codefile.PCSOrderAddenda, codefile.PCSCodesAddenda:
		// Federal fiscal year: FY N runs from October 1 of N-1 to September 30 of N.
		y := year()
		if y == 0 {
			return r, fmt.Errorf("%s: cannot tell the fiscal year from the file name; give --release YYYY", base)
		}
		r.Version = strconv.Itoa(y)
		r.From = time.Date(y-1, 10, 1, 0, 0, 0, 0, time.UTC)
		r.To = time.Date(y, 9, 30, 0, 0, 0, 0, time.UTC)
		label := map[System]string{ICD10CM: "ICD-10-CM", PCS: "ICD-10-PCS"}[r.System]
		r.Name = fmt.Sprintf("%s FY%d", label, y)
		switch f {
		case codefile.ICD10CMTabular:
			r.Name += " Tabular List"
		case codefile.ICD10CMIndex:
			r.Name += " Alphabetic Index"
		case codefile.ICD10CMOrderAddenda, codefile.ICD10CMCodesAddenda, codefile.PCSOrderAddenda, codefile.PCSCodesAddenda:
			r.Name += " addenda"
		}
	case codefile.HCPCS:
		m := reHCPCS.FindStringSubmatch(base)
		var y, q int
		if m != nil {
			y, _ = strconv.Atoi(m[1])
			q = map[string]int{"jan": 1, "apr": 2, "jul": 3, "oct": 4}[strings.ToLower(m[2])]
		} else if y = year(); y != 0 {
			q = 1
		}
		if opts.Version != "" {
			if _, err := fmt.Sscanf(opts.Version, "%d-Q%d", &y, &q); err != nil || q < 1 || q > 4 {
				return r, fmt.Errorf("--release %q: HCPCS versions are YYYY-Qn", opts.Version)
			}
		}
		if y == 0 {
			return r, fmt.Errorf("%s: cannot tell the HCPCS quarter from the file name (HCPCyyyy_MON_…); give --release YYYY-Qn", base)
		}
		r.Version = quarterName(y, q)
		r.From, r.To = quarterRange(y, q)
		r.Name = "HCPCS " + r.Version
	case codefile.PTPPractitioner, codefile.PTPHospital:
		// NCCI versions: vXY.Z, XY = year - 1994, Z = quarter - 1 (v32.1 = April 2026).
		m := rePTPVer.FindStringSubmatch(base)
		var y, q int
		if m != nil {
			major, _ := strconv.Atoi(m[1])
			minor, _ := strconv.Atoi(m[2])
			y, q = 1994+major, minor+1
			r.Part = strings.ToLower(m[4])
		}
		if opts.Version != "" {
			if _, err := fmt.Sscanf(opts.Version, "%d-Q%d", &y, &q); err != nil || q < 1 || q > 4 {
				return r, fmt.Errorf("--release %q: NCCI versions are YYYY-Qn", opts.Version)
			}
		}
		if y == 0 {
			return r, fmt.Errorf("%s: cannot tell the NCCI version from the file name (ccipra-vNNNrN-fN); give --release YYYY-Qn", base)
		}
		if r.Part == "" {
			r.Part = base
		}
		r.Version = quarterName(y, q)
		r.From, r.To = quarterRange(y, q)
		kind := "practitioner"
		if f == codefile.PTPHospital {
			kind = "outpatient hospital"
		}
		r.Name = fmt.Sprintf("NCCI PTP %s %s", kind, r.Version)
	case codefile.MUEPractitioner, codefile.MUEHospital, codefile.MUEDME:
		var y, q int
		if m := reMUEDate.FindStringSubmatch(base); m != nil {
			mo, _ := strconv.Atoi(m[1])
			y, _ = strconv.Atoi(m[3])
			q = (mo-1)/3 + 1
		}
		if opts.Version != "" {
			if _, err := fmt.Sscanf(opts.Version, "%d-Q%d", &y, &q); err != nil || q < 1 || q > 4 {
				return r, fmt.Errorf("--release %q: MUE versions are YYYY-Qn", opts.Version)
			}
		}
		if y == 0 || q < 1 || q > 4 {
			return r, fmt.Errorf("%s: cannot tell the MUE quarter from the file name (…_Eff_MM-DD-YYYY); give --release YYYY-Qn", base)
		}
		r.Version = quarterName(y, q)
		r.From, r.To = quarterRange(y, q)
		kind := map[codefile.Format]string{codefile.MUEPractitioner: "practitioner", codefile.MUEHospital: "outpatient hospital", codefile.MUEDME: "DME supplier"}[f]
		r.Name = fmt.Sprintf("NCCI MUE %s %s", kind, r.Version)
	case codefile.CPTDescriptors:
		y := year()
		if y == 0 {
			return r, fmt.Errorf("%s: cannot tell the CPT year from the file name; give --release YYYY", base)
		}
		r.Version = strconv.Itoa(y)
		r.From = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		r.To = time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC)
		r.Name = fmt.Sprintf("CPT %d (licensed descriptors)", y)
	default:
		return r, fmt.Errorf("%s: unsupported format %q", base, f)
	}
	if !opts.EffectiveFrom.IsZero() {
		r.From = day(opts.EffectiveFrom)
		if !r.To.IsZero() && r.To.Before(r.From) {
			r.To = time.Time{}
		}
	}
	return r, nil
}
