package search

// A small test-only loader of the official files in the shared data folder,
// so the engine can be measured on the real code sets without importing
// package codes (which imports this package). It reads just what search
// needs; the production importers live in package codes.

import (
	"bufio"
	"compress/gzip"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// sharedDataDir finds the shared official code-set files, or "".
func sharedDataDir() string {
	for _, dir := range []string{os.Getenv("CODEDESK_CODESETS_DIR"), "../../../../shared/data", "/work/shared/data"} {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "icd10cm/fy2025/icd10cm_order_2025.txt.gz")); err == nil {
			return dir
		}
	}
	return ""
}

// sharedCorpus is every searchable document of the shared data, plus the
// billable ICD-10-CM and active HCPCS codes with their long descriptors.
type sharedCorpus struct {
	docs  []Doc
	evals []evalCase // official long descriptors, one per code
}

type evalCase struct {
	system, code, text string
}

var (
	corpusOnce sync.Once
	corpus     *sharedCorpus
	corpusErr  error
)

// loadShared loads the shared data once per test binary; it skips the test
// when the files are not there.
func loadShared(tb testing.TB) *sharedCorpus {
	tb.Helper()
	dir := sharedDataDir()
	if dir == "" {
		tb.Skip("shared code-set data not found (set CODEDESK_CODESETS_DIR to the folder holding icd10cm/, hcpcs/, icd10pcs/)")
	}
	corpusOnce.Do(func() { corpus, corpusErr = readShared(dir) })
	if corpusErr != nil {
		tb.Fatalf("reading shared data: %v", corpusErr)
	}
	return corpus
}

func readShared(dir string) (*sharedCorpus, error) {
	c := &sharedCorpus{}
	cmBillable := map[string]bool{}
	err := readOrderFile(filepath.Join(dir, "icd10cm/fy2025/icd10cm_order_2025.txt.gz"), func(code string, billable bool, short, long string) {
		code = dotted(code)
		cmBillable[code] = billable
		c.docs = append(c.docs,
			Doc{System: "icd10cm", Code: code, Text: long, Field: FieldLong, Billable: billable},
			Doc{System: "icd10cm", Code: code, Text: short, Field: FieldShort, Billable: billable})
		if billable {
			c.evals = append(c.evals, evalCase{"icd10cm", code, long})
		}
	})
	if err != nil {
		return nil, err
	}
	err = readTabularInclusions(filepath.Join(dir, "icd10cm/fy2023-xml/icd10cm_tabular_2023.xml.gz"), func(code, term string) {
		if b, ok := cmBillable[code]; ok {
			c.docs = append(c.docs, Doc{System: "icd10cm", Code: code, Text: term, Field: FieldInclusion, Billable: b})
		}
	})
	if err != nil {
		return nil, err
	}
	err = readIndexPaths(filepath.Join(dir, "icd10cm/fy2023-xml/icd10cm_index_2023.xml.gz"), func(path []string, code string) {
		code = strings.TrimRight(code, "-.")
		b, ok := cmBillable[code]
		if !ok {
			return
		}
		c.docs = append(c.docs, Doc{System: "icd10cm", Code: code, Text: strings.Join(path, " "),
			Field: FieldIndex, Evidence: "Index: " + strings.Join(path, " > "), Billable: b})
	})
	if err != nil {
		return nil, err
	}
	// The Index's "see" references lead to the code at their target, as
	// the KB feeds them (seeref_test.go).
	roots, err := readIndexTree(filepath.Join(dir, "icd10cm/fy2023-xml/icd10cm_index_2023.xml.gz"))
	if err != nil {
		return nil, err
	}
	c.docs = append(c.docs, seeDocs(roots, cmBillable)...)
	err = readOrderFile(filepath.Join(dir, "icd10pcs/fy2026/icd10pcs_order_2026.txt.gz"), func(code string, billable bool, short, long string) {
		c.docs = append(c.docs,
			Doc{System: "pcs", Code: code, Text: long, Field: FieldLong, Billable: billable},
			Doc{System: "pcs", Code: code, Text: short, Field: FieldShort, Billable: billable})
	})
	if err != nil {
		return nil, err
	}
	err = readHCPCS(filepath.Join(dir, "hcpcs/2025-jan/HCPC2025_JAN_ANWEB_12172024.txt.gz"), func(code, short, long string, active bool) {
		c.docs = append(c.docs,
			Doc{System: "hcpcs", Code: code, Text: long, Field: FieldLong, Billable: active},
			Doc{System: "hcpcs", Code: code, Text: short, Field: FieldShort, Billable: active})
		if active {
			c.evals = append(c.evals, evalCase{"hcpcs", code, long})
		}
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func dotted(code string) string {
	if len(code) > 3 {
		return code[:3] + "." + code[3:]
	}
	return code
}

func openMaybeGzip(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}

// readOrderFile reads a CMS order file: code 7–13, flag 15, short 17–76,
// long 78–end (1-based columns).
func readOrderFile(path string, fn func(code string, billable bool, short, long string)) error {
	r, err := openMaybeGzip(path)
	if err != nil {
		return err
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if len(line) < 78 {
			continue
		}
		fn(strings.TrimSpace(line[6:13]), line[14] == '1', strings.TrimSpace(line[16:76]), strings.TrimSpace(line[77:]))
	}
	return sc.Err()
}

// readHCPCS reads the fixed-width HCPCS file: procedure records 3 (first
// line) and 4 (continuations), long description 12–91, short 92–119,
// termination date 285–292.
func readHCPCS(path string, fn func(code, short, long string, active bool)) error {
	r, err := openMaybeGzip(path)
	if err != nil {
		return err
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	var code, short string
	var long strings.Builder
	active := false
	flush := func() {
		if code != "" {
			fn(code, short, strings.Join(strings.Fields(long.String()), " "), active)
		}
		code = ""
		long.Reset()
	}
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if len(line) < 293 {
			continue
		}
		switch line[10] {
		case '3':
			flush()
			code = strings.TrimSpace(line[0:5])
			short = strings.TrimSpace(line[91:119])
			active = strings.TrimSpace(line[284:292]) == ""
			long.WriteString(line[11:91])
		case '4':
			long.WriteString(" " + line[11:91])
		}
	}
	flush()
	return sc.Err()
}

// readTabularInclusions streams the Tabular List XML and reports each
// inclusion term with the code it belongs to.
func readTabularInclusions(path string, fn func(code, term string)) error {
	r, err := openMaybeGzip(path)
	if err != nil {
		return err
	}
	defer r.Close()
	dec := xml.NewDecoder(r)
	var names []string // enclosing diag codes
	var stack []string // element names
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			if t.Name.Local == "diag" {
				names = append(names, "")
			}
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			n := len(stack)
			switch {
			case t.Name.Local == "name" && n >= 2 && stack[n-2] == "diag":
				names[len(names)-1] = strings.TrimSpace(text.String())
			case t.Name.Local == "note" && n >= 2 && stack[n-2] == "inclusionTerm" && len(names) > 0:
				fn(names[len(names)-1], strings.TrimSpace(text.String()))
			case t.Name.Local == "diag":
				names = names[:len(names)-1]
			}
			stack = stack[:n-1]
		}
	}
}

// readIndexPaths streams the Alphabetic Index XML and reports every term
// that carries a code with its full path of titles (nonessential modifiers
// kept in parentheses).
func readIndexPaths(path string, fn func(path []string, code string)) error {
	r, err := openMaybeGzip(path)
	if err != nil {
		return err
	}
	defer r.Close()
	dec := xml.NewDecoder(r)
	var titles []string // one per open mainTerm/term
	var text strings.Builder
	inTitle, inCode := false, false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "mainTerm", "term":
				titles = append(titles, "")
			case "title":
				inTitle = len(titles) > 0
				text.Reset()
			case "nemod":
				text.WriteString(" ")
			case "code":
				inCode = len(titles) > 0
				text.Reset()
			}
		case xml.CharData:
			if inTitle || inCode {
				text.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "mainTerm", "term":
				titles = titles[:len(titles)-1]
			case "nemod":
				text.WriteString(" ")
			case "title":
				if inTitle {
					titles[len(titles)-1] = strings.Join(strings.Fields(text.String()), " ")
				}
				inTitle = false
			case "code":
				if inCode {
					fn(titles, strings.TrimSpace(text.String()))
				}
				inCode = false
			}
		}
	}
}
