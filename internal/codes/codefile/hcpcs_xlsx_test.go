package codefile

import (
	"archive/zip"
	"encoding/xml"
	"os"
	"strconv"
	"strings"
	"testing"
)

// xlsxColumn returns, row by row, the values of columns a and d of the
// first sheet of an XLSX workbook (shared strings resolved).
func xlsxColumns(t *testing.T, path string) [][2]string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	open := func(name string) *xml.Decoder {
		for _, f := range zr.File {
			if f.Name == name {
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { rc.Close() })
				return xml.NewDecoder(rc)
			}
		}
		t.Fatalf("%s: no %s", path, name)
		return nil
	}
	var sst struct {
		SI []struct {
			T string `xml:"t"`
			R []struct {
				T string `xml:"t"`
			} `xml:"r"`
		} `xml:"si"`
	}
	if err := open("xl/sharedStrings.xml").Decode(&sst); err != nil {
		t.Fatal(err)
	}
	strs := make([]string, len(sst.SI))
	for i, si := range sst.SI {
		strs[i] = si.T
		for _, r := range si.R {
			strs[i] += r.T
		}
	}
	var sheet struct {
		Rows []struct {
			C []struct {
				R string `xml:"r,attr"`
				T string `xml:"t,attr"`
				V string `xml:"v"`
			} `xml:"c"`
		} `xml:"sheetData>row"`
	}
	if err := open("xl/worksheets/sheet1.xml").Decode(&sheet); err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for _, row := range sheet.Rows {
		var v [2]string
		for _, c := range row.C {
			col := strings.TrimRight(c.R, "0123456789")
			s := c.V
			if c.T == "s" {
				i, _ := strconv.Atoi(c.V)
				s = strs[i]
			}
			switch col {
			case "A":
				v[0] = s
			case "D":
				v[1] = s
			}
		}
		out = append(out, v)
	}
	return out
}

// TestReadHCPCSMatchesWorkbook checks the joining of continuation records
// against the spreadsheet CMS publishes with the same release, where each
// code's long description is already joined. White space is compared
// collapsed: where the source text had two spaces at a record boundary
// ("needle  biopsy", 16 codes) the fixed-width file's padding cannot carry
// them, so no reader of the TXT can reproduce them. The workbook also cuts
// one long description short (G0503, after 1,195 characters); there the
// workbook's text must begin ours.
func TestReadHCPCSMatchesWorkbook(t *testing.T) {
	t.Parallel()
	const xlsx = "../../../../shared/data/hcpcs/2025-jan/HCPC2025_JAN_ANWEB_12172024.xlsx"
	if _, err := os.Stat(xlsx); err != nil {
		t.Skipf("official workbook not present (needs ../shared/data): %v", err)
	}
	want := map[string]string{}
	for i, r := range xlsxColumns(t, xlsx) {
		if i == 0 {
			continue // header
		}
		want[strings.TrimSpace(r[0])] = r[1]
	}
	z := openShared(t, "hcpcs/2025-jan/HCPC2025_JAN_ANWEB_12172024.txt.gz")
	n, diff := 0, 0
	err := ReadHCPCS(z, "HCPC2025_JAN_ANWEB_12172024.txt", func(r HCPCSRecord) error {
		n++
		w, ok := want[r.Code]
		w, got := strings.Join(strings.Fields(w), " "), strings.Join(strings.Fields(r.Long), " ")
		if !ok || w != got && !(len(w) > 1000 && strings.HasPrefix(got, w)) {
			diff++
			if diff <= 5 {
				t.Errorf("%s long description = %q, workbook has %q", r.Code, r.Long, w)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ReadHCPCS() error = %v", err)
	}
	if n != len(want) || n != 8642 || diff != 0 {
		t.Errorf("ReadHCPCS() read %d records, workbook %d rows, %d descriptions differ; want 8642 equal", n, len(want), diff)
	}
}
