package codefile

import (
	"bytes"
	"io"
	"strconv"
)

// OrderRecord is one line of an ICD-10-CM or ICD-10-PCS order file
// ("Code Descriptions in Tabular Order"). Layout (1-based columns, from
// CMS's icd10OrderFiles.pdf):
//
//	1–5    order number, zero-filled
//	7–13   code, no dot, left-justified, space-padded to 7
//	15     0 = header (not valid for HIPAA transactions), 1 = valid
//	17–76  short description (60 columns)
//	78–    long description
type OrderRecord struct {
	Line     int
	Order    int
	Code     string
	Billable bool
	Short    string
	Long     string
}

// ReadOrder reads an order file and calls fn for every record in file order.
// file names the input in errors.
func ReadOrder(r io.Reader, file string, fn func(OrderRecord) error) error {
	lr := newLineReader(r)
	for {
		line, ok := lr.next()
		if !ok {
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec, err := parseOrderLine(line, file, lr.line)
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			if isStop(err) {
				return nil
			}
			return err
		}
	}
	return lr.err(file)
}

func parseOrderLine(line []byte, file string, n int) (OrderRecord, error) {
	if len(line) < 17 {
		return OrderRecord{}, perr(file, n, "record", "line is %d characters, an order-file line has at least 78", len(line))
	}
	ord, err := strconv.Atoi(string(line[0:5]))
	if err != nil || ord <= 0 {
		return OrderRecord{}, perr(file, n, "order number (columns 1-5)", "%q is not a positive number", line[0:5])
	}
	code := field(line, 7, 13)
	if err := checkCode(code, 3, 7); err != nil {
		return OrderRecord{}, perr(file, n, "code (columns 7-13)", "%v", err)
	}
	var billable bool
	switch line[14] {
	case '0':
	case '1':
		billable = true
	default:
		return OrderRecord{}, perr(file, n, "header/valid flag (column 15)", "%q is neither 0 nor 1", line[14:15])
	}
	short := field(line, 17, 76)
	long := field(line, 78, len(line))
	if short == "" {
		return OrderRecord{}, perr(file, n, "short description (columns 17-76)", "empty")
	}
	if long == "" {
		return OrderRecord{}, perr(file, n, "long description (columns 78-)", "empty")
	}
	return OrderRecord{Line: n, Order: ord, Code: code, Billable: billable, Short: short, Long: long}, nil
}

// CodesRecord is one line of an ICD-10-CM or ICD-10-PCS codes file (valid
// codes only): code in columns 1–7, a blank, the long description from
// column 9.
type CodesRecord struct {
	Line int
	Code string
	Long string
}

// ReadCodes reads a codes file and calls fn for every record.
func ReadCodes(r io.Reader, file string, fn func(CodesRecord) error) error {
	lr := newLineReader(r)
	for {
		line, ok := lr.next()
		if !ok {
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(line) < 9 || line[7] != ' ' {
			return perr(file, lr.line, "record", "want code in columns 1-7, a blank in column 8 and the description from column 9")
		}
		code := field(line, 1, 7)
		if err := checkCode(code, 3, 7); err != nil {
			return perr(file, lr.line, "code (columns 1-7)", "%v", err)
		}
		long := field(line, 9, len(line))
		if long == "" {
			return perr(file, lr.line, "description (columns 9-)", "empty")
		}
		if err := fn(CodesRecord{Line: lr.line, Code: code, Long: long}); err != nil {
			if isStop(err) {
				return nil
			}
			return err
		}
	}
	return lr.err(file)
}

// checkCode accepts an upper-case alphanumeric code of min..max characters.
func checkCode(code string, min, max int) error {
	if len(code) < min || len(code) > max {
		return errorf("%q has %d characters, want %d to %d", code, len(code), min, max)
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return errorf("%q contains %q; codes are upper-case letters and digits", code, c)
		}
	}
	return nil
}
