package codefile

import (
	"bytes"
	"io"
	"strings"
)

// AddendaRecord is one change listed in an ICD-10-CM or ICD-10-PCS addenda
// file: what a release added, deleted or revised against the previous one.
// Each line starts with an action label padded to 13 columns ("Add:",
// "Delete:", "Revise from:", "Revise to:"), followed by the layout of the
// order file without its order number (order addenda; the ICD-10-CM ones
// keep the header/valid flag, the ICD-10-PCS ones do not) or of the codes
// file (codes addenda). The summary block at the end of the order addenda
// (counts of headers and codes) is skipped.
type AddendaRecord struct {
	Line   int
	Action string // add, delete, revise_from, revise_to
	Code   string
	// Billable is the header/valid flag where the file has one (ICD-10-CM
	// order addenda), else nil.
	Billable *bool
	Short    string // order addenda only
	Long     string
}

var addendaActions = map[string]string{
	"Add:": "add", "Delete:": "delete", "Revise from:": "revise_from", "Revise to:": "revise_to",
}

// ReadAddenda reads an addenda file. order selects the order-addenda
// layout (short and long descriptions); whether a header/valid flag is
// present is seen from each line.
func ReadAddenda(r io.Reader, file string, order bool, fn func(AddendaRecord) error) error {
	lr := newLineReader(r)
	for {
		line, ok := lr.next()
		if !ok {
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		n := lr.line
		label := string(bytes.TrimSpace(line[:min(13, len(line))]))
		action, known := addendaActions[label]
		if !known {
			if strings.Contains(label, ":") {
				return perr(file, n, "action (columns 1-13)", "%q is not Add:, Delete:, Revise from: or Revise to:", label)
			}
			continue // the summary block ("Headers", "  23252 headers in …")
		}
		if len(line) < 14 {
			return perr(file, n, "record", "nothing after the action label")
		}
		rest := line[13:]
		rec := AddendaRecord{Line: n, Action: action}
		col := 14 // 1-based column where rest starts
		if len(rest) >= 2 && (rest[0] == '0' || rest[0] == '1') && rest[1] == ' ' {
			b := rest[0] == '1'
			rec.Billable = &b
			rest, col = rest[2:], col+2
		}
		if len(rest) < 9 || rest[7] != ' ' {
			return perr(file, n, "code", "want a code padded to 7 columns at column %d", col)
		}
		rec.Code = string(bytes.TrimSpace(rest[:7]))
		if err := checkCode(rec.Code, 3, 7); err != nil {
			return perr(file, n, "code", "%v", err)
		}
		desc := rest[8:]
		if order {
			if len(desc) < 62 {
				return perr(file, n, "long description", "line ends before the long description (short description is 60 columns)")
			}
			rec.Short = string(bytes.TrimSpace(desc[:60]))
			rec.Long = string(bytes.TrimSpace(desc[61:]))
		} else {
			rec.Long = string(bytes.TrimSpace(desc))
		}
		if rec.Long == "" {
			return perr(file, n, "long description", "empty")
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
