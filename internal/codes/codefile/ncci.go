package codefile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// PTPRecord is one NCCI procedure-to-procedure edit: column 2 is not paid
// with column 1 on the same day for the same patient by the same provider,
// unless the modifier indicator allows a modifier that shows the services
// were distinct.
type PTPRecord struct {
	Line      int
	Column1   string
	Column2   string
	Pre1996   bool // "*": in existence before 1996
	Effective int  // YYYYMMDD
	Deleted   int  // YYYYMMDD, 0 when in force ("*")
	Modifier  int  // 0 not allowed, 1 allowed, 9 not applicable
	Rationale string
}

// maxHeader bounds the header block of an NCCI PTP file.
const maxHeader = 20

// ReadPTP reads an NCCI PTP edit file (practitioner ccipra-… or outpatient
// hospital ccioph-…): tab-delimited, Latin-1, a header block of a few
// lines (copyright, "Column1/Column2 Edits", column headings over several
// lines), then one edit per line: column 1, column 2, "*" or empty,
// effective date YYYYMMDD, deletion date YYYYMMDD or "*", modifier
// indicator 0/1/9, rationale.
func ReadPTP(r io.Reader, file string, fn func(PTPRecord) error) error {
	lr := newLineReader(charmap.ISO8859_1.NewDecoder().Reader(r))
	data := false
	var fields [][]byte
	for {
		line, ok := lr.next()
		if !ok {
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		n := lr.line
		fields = splitTabs(fields[:0], line)
		if !data {
			if len(fields) >= 6 && isPTPCode(fields[0]) && isPTPCode(fields[1]) {
				data = true
			} else {
				if n > maxHeader {
					return perr(file, n, "record", "no edit found in the first %d lines; is this an NCCI PTP file?", maxHeader)
				}
				continue
			}
		}
		if len(fields) < 6 {
			return perr(file, n, "record", "%d tab-separated fields, want 7 (column 1, column 2, *, effective, deletion, modifier, rationale)", len(fields))
		}
		rec := PTPRecord{Line: n, Column1: string(bytes.TrimSpace(fields[0])), Column2: string(bytes.TrimSpace(fields[1]))}
		if !isPTPCode(fields[0]) {
			return perr(file, n, "column 1", "%q is not a CPT/HCPCS code", fields[0])
		}
		if !isPTPCode(fields[1]) {
			return perr(file, n, "column 2", "%q is not a CPT/HCPCS code", fields[1])
		}
		switch s := string(bytes.TrimSpace(fields[2])); s {
		case "*":
			rec.Pre1996 = true
		case "":
		default:
			return perr(file, n, "in existence prior to 1996 (field 3)", "%q is neither * nor empty", s)
		}
		var err error
		if rec.Effective, err = parseYMD(string(bytes.TrimSpace(fields[3]))); err != nil || rec.Effective == 0 {
			return perr(file, n, "effective date (field 4)", "%q is not a YYYYMMDD date", fields[3])
		}
		if s := string(bytes.TrimSpace(fields[4])); s != "*" {
			if rec.Deleted, err = parseYMD(s); err != nil || rec.Deleted == 0 {
				return perr(file, n, "deletion date (field 5)", "%q is neither * nor a YYYYMMDD date", s)
			}
		}
		switch s := string(bytes.TrimSpace(fields[5])); s {
		case "0", "1", "9":
			rec.Modifier = int(s[0] - '0')
		default:
			return perr(file, n, "modifier indicator (field 6)", "%q is not 0, 1 or 9", s)
		}
		if len(fields) > 6 {
			rec.Rationale = string(bytes.TrimSpace(fields[6]))
		}
		if err := fn(rec); err != nil {
			if isStop(err) {
				return nil
			}
			return err
		}
	}
	if err := lr.err(file); err != nil {
		return err
	}
	if !data {
		return perr(file, lr.line, "record", "no edits found")
	}
	return nil
}

func splitTabs(dst [][]byte, line []byte) [][]byte {
	for {
		i := bytes.IndexByte(line, '\t')
		if i < 0 {
			return append(dst, line)
		}
		dst = append(dst, line[:i])
		line = line[i+1:]
	}
}

// isPTPCode accepts a 5-character CPT or HCPCS code.
func isPTPCode(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) != 5 {
		return false
	}
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// MUERecord is one NCCI medically unlikely edit: the most units of service
// of a code per line (MAI 1) or per day (MAI 2, 3) for one beneficiary.
type MUERecord struct {
	Line      int
	Code      string
	Value     int
	MAI       int    // MUE adjudication indicator: 1, 2 or 3
	MAIText   string // as published, e.g. "3 Date of Service Edit: Clinical"
	Rationale string
}

// ReadMUE reads an NCCI MUE table CSV (practitioner, outpatient hospital or
// DME supplier): Windows-1252; a first record holding the AMA copyright
// notice in one quoted field over several lines; a header record whose
// first field also spans lines; then code, MUE value, adjudication
// indicator (its first character is the MAI) and rationale.
func ReadMUE(r io.Reader, file string, fn func(MUERecord) error) error {
	cr := csv.NewReader(charmap.Windows1252.NewDecoder().Reader(r))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header := false
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return perr(file, pe.Line, "CSV", "%v", pe.Err)
			}
			return perr(file, 0, "CSV", "%v", err)
		}
		line, _ := cr.FieldPos(0)
		if !header {
			if len(rec) >= 3 && strings.Contains(strings.ToLower(rec[1]), "mue") {
				header = true
			} else if line > 50 {
				return perr(file, line, "header", "no MUE header record (\"…MUE Values\") found")
			}
			continue
		}
		if len(rec) == 0 || len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) < 3 {
			return perr(file, line, "record", "%d fields, want code, MUE value, MAI and rationale", len(rec))
		}
		m := MUERecord{Line: line, Code: strings.TrimSpace(rec[0])}
		if !isPTPCode([]byte(m.Code)) {
			return perr(file, line, "HCPCS/CPT code (field 1)", "%q is not a CPT/HCPCS code", m.Code)
		}
		v, err := strconv.Atoi(strings.TrimSpace(rec[1]))
		if err != nil || v < 0 {
			return perr(file, line, "MUE value (field 2)", "%q is not a whole number of units", rec[1])
		}
		m.Value = v
		m.MAIText = strings.TrimSpace(rec[2])
		if m.MAIText == "" || m.MAIText[0] < '1' || m.MAIText[0] > '3' {
			return perr(file, line, "MUE adjudication indicator (field 3)", "%q does not start with 1, 2 or 3", m.MAIText)
		}
		m.MAI = int(m.MAIText[0] - '0')
		if len(rec) > 3 {
			m.Rationale = strings.TrimSpace(rec[3])
		}
		if err := fn(m); err != nil {
			if isStop(err) {
				return nil
			}
			return err
		}
	}
	if !header {
		return perr(file, 0, "header", "no MUE header record found")
	}
	return nil
}

// CPTRecord is one line of a licensed user's CPT descriptor file.
type CPTRecord struct {
	Line  int
	Code  string
	Long  string
	Short string
}

// ReadCPT reads a CPT descriptor file that a licensed user supplies: CSV or
// TSV (the delimiter is seen from the first line), one code per record with
// its long descriptor and optionally its short descriptor. A first record
// whose code field is not a CPT code is taken as a header.
func ReadCPT(r io.Reader, file string, fn func(CPTRecord) error) error {
	br := bufioReader(r)
	first, _ := br.Peek(4096)
	cr := csv.NewReader(br)
	if i := bytes.IndexByte(first, '\n'); bytes.Count(first[:max(i, 0)], []byte{'\t'}) > 0 || i < 0 && bytes.Contains(first, []byte{'\t'}) {
		cr.Comma = '\t'
		cr.LazyQuotes = true
	}
	cr.FieldsPerRecord = -1
	n := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return perr(file, pe.Line, "CSV", "%v", pe.Err)
			}
			return perr(file, 0, "CSV", "%v", err)
		}
		line, _ := cr.FieldPos(0)
		n++
		code := strings.ToUpper(strings.TrimSpace(rec[0]))
		if !isCPTCode(code) {
			if n == 1 {
				continue // header
			}
			return perr(file, line, "code (field 1)", "%q is not a CPT code (5 digits, or 4 digits and F, T, U or M)", rec[0])
		}
		if len(rec) < 2 || strings.TrimSpace(rec[1]) == "" {
			return perr(file, line, "long descriptor (field 2)", "missing")
		}
		c := CPTRecord{Line: line, Code: code, Long: clean(rec[1])}
		if len(rec) > 2 {
			c.Short = clean(rec[2])
		}
		if err := fn(c); err != nil {
			if isStop(err) {
				return nil
			}
			return err
		}
	}
	return nil
}

func isCPTCode(c string) bool {
	if len(c) != 5 {
		return false
	}
	for i := 0; i < 4; i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return c[4] >= '0' && c[4] <= '9' || strings.IndexByte("FTUM", c[4]) >= 0
}
