// Package ptpgen writes synthetic NCCI procedure-to-procedure edit files in
// the published layout (tab-delimited, Latin-1, CRLF, the copyright and
// column-heading block first), at any size: the real practitioner file
// (about 2.5 million edits over four files) cannot be shipped with the
// project, and the scale benchmark needs one of that size.
//
// The content is realistic in shape, not in meaning: column 1 codes are
// spread over the CPT sections and HCPCS Level II, each with a run of
// column 2 codes; effective dates run from 1996 on; about one edit in six
// is deleted; some pairs appear twice (a deleted row and the row in force);
// modifier indicators are mostly 1, some 0, and 9 only on deleted rows.
// The same seed writes the same file.
package ptpgen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
)

// Header is the header block of a PTP file, as published: a copyright
// line, the title line and the column headings spread over four lines.
var Header = []string{
	"CPT codes and descriptions only are copyright 2025 American Medical Association. All Rights Reserved. CPT\xae is a registered trademark of the American Medical Association.",
	"Column1/Column2 Edits",
	"Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date\tModifier\tPTP Edit Rationale",
	"\t\t\t\t*=no data\t0=not allowed\t",
	"\t\t\t\t\t1=allowed\t",
	"\t\t\t\t\t9=not applicable\t",
}

// Rationales are the published PTP edit rationales.
var Rationales = []string{
	"Misuse of Column Two code with Column One code",
	"Standards of medical/surgical practice",
	"CPT Manual or CMS manual coding instruction",
	"Mutually exclusive procedures",
	"HCPCS/CPT procedure code definition",
	"Anesthesia service included in surgical procedure",
	"More extensive procedure",
	"Gender-specific procedures",
	"Laboratory panel",
	"Medical Unlikely Edit",
	"NCCI Policy",
	"Add-on code with primary code",
}

// code returns a code from a realistic code space: CPT Category I numbers
// across their sections, Category III (…T) and HCPCS Level II.
func code(r *rand.Rand) string {
	switch x := r.IntN(100); {
	case x < 55: // surgery 10004-69990
		return fmt.Sprintf("%05d", 10004+r.IntN(59987))
	case x < 65: // radiology
		return fmt.Sprintf("%05d", 70010+r.IntN(9990))
	case x < 72: // pathology and laboratory
		return fmt.Sprintf("%05d", 80047+r.IntN(9352))
	case x < 88: // medicine, E/M
		return fmt.Sprintf("%05d", 90281+r.IntN(9327))
	case x < 91: // anesthesia
		return fmt.Sprintf("%05d", 100+r.IntN(1900))
	case x < 94: // Category III
		return fmt.Sprintf("%04dT", 42+r.IntN(900))
	default: // HCPCS Level II
		return fmt.Sprintf("%c%04d", "AGJCQ"[r.IntN(5)], r.IntN(10000))
	}
}

func date(r *rand.Rand, fromYear, toYear int) int {
	y := fromYear + r.IntN(toYear-fromYear+1)
	q := r.IntN(4)
	return y*10000 + (q*3+1)*100 + 1
}

func endOfQuarter(d int) int {
	y, m := d/10000, d/100%100
	switch {
	case m <= 3:
		return y*10000 + 331
	case m <= 6:
		return y*10000 + 630
	case m <= 9:
		return y*10000 + 930
	}
	return y*10000 + 1231
}

// Write writes a PTP file of rows edits (plus the header block) to w.
func Write(w io.Writer, rows int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	bw := bufio.NewWriterSize(w, 1<<20)
	for _, h := range Header {
		if _, err := bw.WriteString(h + "\r\n"); err != nil {
			return fmt.Errorf("writing PTP header: %w", err)
		}
	}
	n := 0
	line := func(c1, c2 string, pre bool, eff, del, mod int, rat string) error {
		star := ""
		if pre {
			star = "*"
		}
		ds := "*"
		if del != 0 {
			ds = fmt.Sprint(del)
		}
		n++
		_, err := fmt.Fprintf(bw, "%s\t%s\t%s\t%d\t%s\t%d\t%s\r\n", c1, c2, star, eff, ds, mod, rat)
		return err
	}
	for n < rows {
		c1 := code(r)
		run := 1 + r.IntN(200) // column 2 codes of this column 1 code
		for i := 0; i < run && n < rows; i++ {
			c2 := code(r)
			if c2 == c1 {
				continue
			}
			pre := r.IntN(20) == 0
			eff := 19960101
			if !pre {
				eff = date(r, 1996, 2026)
			}
			mod := 1
			if r.IntN(5) == 0 {
				mod = 0
			}
			rat := Rationales[r.IntN(len(Rationales))]
			del := 0
			switch x := r.IntN(100); {
			case x < 3 && n+1 < rows && eff < 20240101:
				// Listed twice: a deleted row, then the row in force.
				end := endOfQuarter(date(r, eff/10000, 2025))
				if end < eff {
					end = endOfQuarter(eff)
				}
				if err := line(c1, c2, pre, eff, end, 1-mod, rat); err != nil {
					return fmt.Errorf("writing PTP edit: %w", err)
				}
				eff = nextQuarterStart(end)
			case x < 17:
				del = endOfQuarter(date(r, eff/10000, 2026))
				if del < eff {
					del = endOfQuarter(eff)
				}
				if r.IntN(10) == 0 {
					mod = 9
				}
			}
			if err := line(c1, c2, pre, eff, del, mod, rat); err != nil {
				return fmt.Errorf("writing PTP edit: %w", err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing PTP file: %w", err)
	}
	return nil
}

// nextQuarterStart returns the first day after the quarter that ends on d.
func nextQuarterStart(d int) int {
	y, m := d/10000, d/100%100
	if m == 12 {
		return (y+1)*10000 + 101
	}
	return y*10000 + (m+1)*100 + 1
}
