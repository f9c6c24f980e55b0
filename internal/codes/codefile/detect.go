package codefile

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// Format names a published file format. The strings are stored with each
// imported release.
type Format string

// The formats codedesk reads.
const (
	ICD10CMOrder        Format = "icd10cm_order"
	ICD10CMCodes        Format = "icd10cm_codes"
	ICD10CMOrderAddenda Format = "icd10cm_order_addenda"
	ICD10CMCodesAddenda Format = "icd10cm_codes_addenda"
	ICD10CMTabular      Format = "icd10cm_tabular"
	ICD10CMIndex        Format = "icd10cm_index"
	PCSOrder            Format = "pcs_order"
	PCSCodes            Format = "pcs_codes"
	PCSOrderAddenda     Format = "pcs_order_addenda"
	PCSCodesAddenda     Format = "pcs_codes_addenda"
	HCPCS               Format = "hcpcs"
	PTPPractitioner     Format = "ptp_practitioner"
	PTPHospital         Format = "ptp_hospital"
	MUEPractitioner     Format = "mue_practitioner"
	MUEHospital         Format = "mue_hospital"
	MUEDME              Format = "mue_dme"
	CPTDescriptors      Format = "cpt_descriptors"
)

// Formats lists every format, for help texts and validation.
var Formats = []Format{ICD10CMOrder, ICD10CMCodes, ICD10CMOrderAddenda, ICD10CMCodesAddenda,
	ICD10CMTabular, ICD10CMIndex, PCSOrder, PCSCodes, PCSOrderAddenda, PCSCodesAddenda, HCPCS,
	PTPPractitioner, PTPHospital, MUEPractitioner, MUEHospital, MUEDME, CPTDescriptors}

// Valid reports whether f is one of Formats.
func (f Format) Valid() bool {
	for _, g := range Formats {
		if f == g {
			return true
		}
	}
	return false
}

// HeadSize is how many leading bytes (after decompression) Detect wants.
const HeadSize = 64 << 10

var (
	reOrderLine   = regexp.MustCompile(`^\d{5} [A-Z0-9]{3,7} *[01] `)
	reCodesLine   = regexp.MustCompile(`^[A-Z0-9]{3,7} +\S`)
	reAddendaLine = regexp.MustCompile(`^(Add|Delete|Revise from|Revise to): +([01] )?[A-Z0-9]{3,7} `)
	reHCPCSLine   = regexp.MustCompile(`^([A-Z0-9]{5}|   [A-Z0-9]{2})\d{5}[3478]`)
	rePTPLine     = regexp.MustCompile(`^[A-Z0-9]{5}\t[A-Z0-9]{5}\t\*?\t\d{8}\t(\d{8}|\*)\t[019]\t`)
	reCPTLine     = regexp.MustCompile(`^"?\d{4}[0-9FTUM]"?[,\t]`)
)

// Detect tells the format of a file from its name and its first bytes (at
// most HeadSize, already decompressed). The content decides; the name only
// separates formats that share a layout (NCCI practitioner and hospital
// PTP files) and breaks ties.
func Detect(name string, head []byte) (Format, error) {
	base := strings.ToLower(filepath.Base(name))
	lines := headLines(head, 200)
	if len(lines) == 0 {
		return "", fmt.Errorf("%s: empty file", name)
	}
	text := string(head)
	switch {
	case strings.Contains(text, "<ICD10CM.tabular"):
		return ICD10CMTabular, nil
	case strings.Contains(text, "<ICD10CM.index"):
		return ICD10CMIndex, nil
	case strings.Contains(text, "<ICD10CM.") || strings.HasPrefix(strings.TrimSpace(text), "<?xml"):
		return "", fmt.Errorf("%s: XML file that is neither the ICD-10-CM Tabular List nor the Alphabetic Index (the Neoplasm and Drug tables are not supported)", name)
	}
	// MUE CSV: a quoted copyright notice, then a header naming the MUE
	// values column.
	if lower := strings.ToLower(text); strings.Contains(lower, "mue values") || strings.Contains(lower, "mue adjudication") {
		switch {
		case strings.Contains(lower, "outpatient hospital") || strings.Contains(lower, "facility"):
			return MUEHospital, nil
		case strings.Contains(lower, "dme supplier"):
			return MUEDME, nil
		default:
			return MUEPractitioner, nil
		}
	}
	count := func(re *regexp.Regexp) int {
		n := 0
		for _, l := range lines {
			if re.Match(l) {
				n++
			}
		}
		return n
	}
	pcs := looksPCS(lines)
	if strings.Contains(base, "pcs") {
		pcs = true
	} else if strings.Contains(base, "icd10cm") {
		pcs = false
	}
	half := (len(lines) + 1) / 2
	switch {
	case count(rePTPLine) >= 1 && (strings.Contains(text, "Column1/Column2") || count(rePTPLine) >= half):
		if strings.Contains(base, "ccioph") || strings.Contains(base, "hosp") || strings.Contains(base, "outpatient") {
			return PTPHospital, nil
		}
		return PTPPractitioner, nil
	case count(reHCPCSLine) >= half && len(lines[0]) >= 200:
		return HCPCS, nil
	case count(reOrderLine) >= half:
		if pcs {
			return PCSOrder, nil
		}
		return ICD10CMOrder, nil
	case count(reAddendaLine) >= 1:
		order := strings.Contains(base, "order")
		if !strings.Contains(base, "codes") {
			padded, total := 0, 0
			for _, l := range lines {
				if m := reAddendaLine.FindSubmatch(l); m != nil {
					if len(m[2]) > 0 {
						order = true
					}
					// The order layout pads the short description to 60
					// columns, so a run of blanks precedes the long one.
					total++
					if len(l) > 82 && bytes.Contains(l[21:min(len(l), 82)], []byte("  ")) {
						padded++
					}
				}
			}
			if total > 0 && padded*2 > total {
				order = true
			}
		}
		switch {
		case pcs && order:
			return PCSOrderAddenda, nil
		case pcs:
			return PCSCodesAddenda, nil
		case order:
			return ICD10CMOrderAddenda, nil
		default:
			return ICD10CMCodesAddenda, nil
		}
	case count(reCPTLine) >= half-1 && count(reCPTLine) >= 1:
		return CPTDescriptors, nil
	case count(reCodesLine) >= half:
		if pcs {
			return PCSCodes, nil
		}
		return ICD10CMCodes, nil
	}
	return "", fmt.Errorf("%s: format not recognised (expected an ICD-10-CM/PCS order, codes or addenda file, ICD-10-CM Tabular or Index XML, the HCPCS Level II fixed-width file, an NCCI PTP or MUE file, or a CPT descriptor CSV/TSV)", name)
}

// headLines returns up to n complete non-blank lines of head (the last,
// possibly cut, line is dropped when head was cut).
func headLines(head []byte, n int) [][]byte {
	var out [][]byte
	cut := len(head) >= HeadSize
	for len(head) > 0 && len(out) < n {
		i := bytes.IndexByte(head, '\n')
		var l []byte
		if i < 0 {
			if cut {
				break
			}
			l, head = head, nil
		} else {
			l, head = head[:i], head[i+1:]
		}
		l = bytes.TrimRight(l, "\r")
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// looksPCS reports whether the codes in a code-list sample are ICD-10-PCS:
// ICD-10-CM codes never start with a digit, and PCS files (sorted by
// section, section 0 first) nearly always contain one that does.
func looksPCS(lines [][]byte) bool {
	for _, l := range lines {
		s := string(l)
		if m := reAddendaLine.FindStringSubmatch(s); m != nil {
			rest := strings.TrimSpace(s[len(m[1])+1:])
			if m[2] != "" {
				rest = strings.TrimSpace(rest[2:])
			}
			s = rest
		} else if reOrderLine.MatchString(s) {
			s = s[6:]
		}
		if len(s) >= 7 && s[0] >= '0' && s[0] <= '9' {
			return true
		}
	}
	return false
}
