package codefile

import (
	"bytes"
	"io"
	"strconv"
	"strings"
)

// HCPCSRecord is one HCPCS Level II procedure code or Level II modifier from
// the CMS alpha-numeric file (HCPCyyyy_<MON>_ANWEB*.txt), with its
// continuation records joined. Layout (1-based columns, from the CMS record
// layout HCPCyyyy_recordlayout.txt):
//
//	1–5     procedure code; for a modifier 1–3 are blank and 4–5 hold it
//	6–10    sequence number (00100, 00200, … within a code)
//	11      record id: 3 procedure, 4 procedure continuation,
//	        7 modifier, 8 modifier continuation
//	12–91   long description (continued on the 4/8 records, in sequence)
//	92–119  short description
//	120–127 pricing indicator ×4      128 multiple pricing indicator
//	129–146 coverage issues manual ×3 147–170 carriers manual ×3
//	171–180 statute                   181–204 lab certification ×8
//	205–229 cross reference ×5        230 coverage code
//	231–232 ASC group, 233–240 its effective date
//	241–243 MOG group, 244 MOG policy, 245–252 MOG effective date
//	253–256 processing note           257–259 BETOS
//	261–265 type of service ×5        266–268 anesthesia base units
//	269–276 code added date           277–284 action effective date
//	285–292 termination date          293 action code
type HCPCSRecord struct {
	Line     int // line of the first record
	Code     string
	Modifier bool
	Long     string
	Short    string

	Pricing         []string
	MultiPricing    string
	CoverageManual  []string
	CarriersManual  []string
	Statute         string
	LabCert         []string
	CrossRef        []string
	Coverage        string
	ASCGroup        string
	ASCDate         int
	MOGGroup        string
	MOGPolicy       string
	MOGDate         int
	ProcessingNote  string
	BETOS           string
	TypeOfService   []string
	AnesthesiaUnits int
	Added           int // YYYYMMDD
	ActionEffective int // YYYYMMDD
	Terminated      int // YYYYMMDD, 0 when in force
	Action          string
}

// ReadHCPCS reads the HCPCS Level II fixed-width file and calls fn once per
// code or modifier, after joining its continuation records in sequence order.
func ReadHCPCS(r io.Reader, file string, fn func(HCPCSRecord) error) error {
	lr := newLineReader(r)
	var (
		cur     *HCPCSRecord
		lastSeq int
		parts   []string
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		cur.Long = strings.Join(parts, " ")
		rec := *cur
		cur, parts = nil, parts[:0]
		return fn(rec)
	}
	for {
		line, ok := lr.next()
		if !ok {
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		n := lr.line
		if len(line) < 91 {
			return perr(file, n, "record", "line is %d characters, a HCPCS record has 320", len(line))
		}
		id := line[10]
		seq, err := strconv.Atoi(string(line[5:10]))
		if err != nil {
			return perr(file, n, "sequence number (columns 6-10)", "%q is not a number", line[5:10])
		}
		var code string
		switch id {
		case '3', '4':
			code = field(line, 1, 5)
			if len(code) != 5 {
				return perr(file, n, "HCPCS code (columns 1-5)", "%q is not a 5-character code", code)
			}
		case '7', '8':
			if string(line[0:3]) != "   " {
				return perr(file, n, "modifier (columns 4-5)", "columns 1-3 must be blank on a modifier record")
			}
			code = field(line, 4, 5)
			if len(code) != 2 {
				return perr(file, n, "modifier (columns 4-5)", "%q is not a 2-character modifier", code)
			}
		default:
			return perr(file, n, "record id (column 11)", "%q is not 3, 4, 7 or 8", line[10:11])
		}
		if err := checkCode(code, 2, 5); err != nil {
			return perr(file, n, "code", "%v", err)
		}
		desc := strings.TrimRight(string(line[11:91]), " ")
		if id == '4' || id == '8' {
			if cur == nil || cur.Code != code || cur.Modifier != (id == '8') {
				return perr(file, n, "record id (column 11)", "continuation of %s does not follow its first record", code)
			}
			if seq <= lastSeq {
				return perr(file, n, "sequence number (columns 6-10)", "%d does not follow %d", seq, lastSeq)
			}
			lastSeq = seq
			parts = append(parts, desc)
			continue
		}
		if err := flush(); err != nil {
			if isStop(err) {
				return nil
			}
			return err
		}
		rec, err := parseHCPCSFirst(line, file, n)
		if err != nil {
			return err
		}
		rec.Code, rec.Modifier = code, id == '7'
		cur, lastSeq = &rec, seq
		parts = append(parts, desc)
	}
	if err := lr.err(file); err != nil {
		return err
	}
	if err := flush(); err != nil && !isStop(err) {
		return err
	}
	return nil
}

func parseHCPCSFirst(line []byte, file string, n int) (HCPCSRecord, error) {
	if len(line) < 293 {
		// Trailing blanks are sometimes stripped; pad to the full record.
		line = append(append([]byte(nil), line...), bytes.Repeat([]byte{' '}, 320-len(line))...)
	}
	rec := HCPCSRecord{Line: n, Short: field(line, 92, 119)}
	rec.Pricing = multi(line, 120, 2, 4)
	rec.MultiPricing = field(line, 128, 128)
	rec.CoverageManual = multi(line, 129, 6, 3)
	rec.CarriersManual = multi(line, 147, 8, 3)
	rec.Statute = field(line, 171, 180)
	rec.LabCert = multi(line, 181, 3, 8)
	rec.CrossRef = multi(line, 205, 5, 5)
	rec.Coverage = field(line, 230, 230)
	rec.ASCGroup = field(line, 231, 232)
	rec.MOGGroup = field(line, 241, 243)
	rec.MOGPolicy = field(line, 244, 244)
	rec.ProcessingNote = field(line, 253, 256)
	rec.BETOS = field(line, 257, 259)
	rec.TypeOfService = multi(line, 261, 1, 5)
	rec.Action = field(line, 293, 293)
	var err error
	for _, d := range []struct {
		dst      *int
		from, to int
		name     string
	}{
		{&rec.ASCDate, 233, 240, "ASC payment group effective date (columns 233-240)"},
		{&rec.MOGDate, 245, 252, "MOG effective date (columns 245-252)"},
		{&rec.Added, 269, 276, "code added date (columns 269-276)"},
		{&rec.ActionEffective, 277, 284, "action effective date (columns 277-284)"},
		{&rec.Terminated, 285, 292, "termination date (columns 285-292)"},
	} {
		if *d.dst, err = parseYMD(field(line, d.from, d.to)); err != nil {
			return rec, perr(file, n, d.name, "%v", err)
		}
	}
	if s := field(line, 266, 268); s != "" {
		if rec.AnesthesiaUnits, err = strconv.Atoi(s); err != nil {
			return rec, perr(file, n, "anesthesia base units (columns 266-268)", "%q is not a number", s)
		}
	}
	return rec, nil
}

// multi returns the non-blank values of a field that occurs count times,
// each width columns wide, starting at column from.
func multi(line []byte, from, width, count int) []string {
	var out []string
	for i := 0; i < count; i++ {
		if s := field(line, from+i*width, from+(i+1)*width-1); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseYMD parses YYYYMMDD ("" is 0, no date).
func parseYMD(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) != 8 {
		return 0, errorf("%q is not a YYYYMMDD date", s)
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, errorf("%q is not a YYYYMMDD date", s)
	}
	m, d := v/100%100, v%100
	if m < 1 || m > 12 || d < 1 || d > 31 || v/10000 < 1900 {
		return 0, errorf("%q is not a YYYYMMDD date", s)
	}
	return v, nil
}
