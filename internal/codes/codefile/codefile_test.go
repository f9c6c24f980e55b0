package codefile

import (
	"errors"
	"strings"
	"testing"
)

// crlf writes inline test data with CRLF line endings, as published.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func orderLine(n int, code string, flag byte, short, long string) string {
	return padRight(padRight(padRight(itoa5(n)+" "+code, 14)+string(flag)+" "+short, 77), 77) + long
}

func itoa5(n int) string {
	s := "00000" + strings.TrimSpace(strings.Repeat(" ", 0)+itoa(n))
	return s[len(s)-5:]
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func padRight(s string, n int) string {
	for len(s) < n {
		s += " "
	}
	return s
}

func TestReadOrder(t *testing.T) {
	t.Parallel()
	in := crlf(orderLine(1, "E11", '0', "Type 2 diabetes mellitus", "Type 2 diabetes mellitus") + "\n" +
		orderLine(2, "E1122", '1', "Type 2 diabetes mellitus w diabetic chronic kidney disease", "Type 2 diabetes mellitus with diabetic chronic kidney disease") + "\n")
	var got []OrderRecord
	err := ReadOrder(strings.NewReader(in), "order.txt", func(r OrderRecord) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatalf("ReadOrder() error = %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("ReadOrder() read %d records, want 2", len(got))
	}
	want := OrderRecord{Line: 2, Order: 2, Code: "E1122", Billable: true,
		Short: "Type 2 diabetes mellitus w diabetic chronic kidney disease",
		Long:  "Type 2 diabetes mellitus with diabetic chronic kidney disease"}
	if got[1] != want {
		t.Errorf("ReadOrder() record 2 = %+v, want %+v", got[1], want)
	}
	if got[0].Billable || got[0].Code != "E11" {
		t.Errorf("ReadOrder() record 1 = %+v, want header E11", got[0])
	}
}

func TestReadOrderErrors(t *testing.T) {
	t.Parallel()
	good := orderLine(1, "E11", '0', "Type 2 diabetes mellitus", "Type 2 diabetes mellitus")
	tests := []struct {
		name, line, field string
	}{
		{"bad flag", orderLine(2, "E119", '2', "x", "y"), "header/valid flag (column 15)"},
		{"bad order number", "0000X" + good[5:], "order number (columns 1-5)"},
		{"lower-case code", orderLine(2, "e119", '1', "x", "y"), "code (columns 7-13)"},
		{"no long description", strings.TrimRight(orderLine(2, "E119", '1', "x", ""), " "), "long description (columns 78-)"},
		{"short line", "00002 E119", "record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := crlf(good + "\n" + tt.line + "\n")
			err := ReadOrder(strings.NewReader(in), "icd10cm_order_2025.txt", func(OrderRecord) error { return nil })
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ReadOrder() error = %v, want a *ParseError", err)
			}
			if pe.File != "icd10cm_order_2025.txt" || pe.Line != 2 || pe.Field != tt.field {
				t.Errorf("ReadOrder() error at %s:%d field %q, want icd10cm_order_2025.txt:2 field %q (%v)", pe.File, pe.Line, pe.Field, tt.field, err)
			}
		})
	}
}

func TestReadCodes(t *testing.T) {
	t.Parallel()
	in := crlf("A000    Cholera due to Vibrio cholerae 01, biovar cholerae\nM8008XA Age-related osteoporosis with current pathological fracture, vertebra(e), initial encounter for fracture\n")
	var got []CodesRecord
	if err := ReadCodes(strings.NewReader(in), "codes.txt", func(r CodesRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatalf("ReadCodes() error = %v", err)
	}
	if len(got) != 2 || got[1].Code != "M8008XA" || !strings.HasSuffix(got[1].Long, "initial encounter for fracture") || got[0].Code != "A000" {
		t.Errorf("ReadCodes() = %+v", got)
	}
	err := ReadCodes(strings.NewReader("A000\tCholera\r\n"), "codes.txt", func(CodesRecord) error { return nil })
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 1 {
		t.Errorf("ReadCodes(tab-separated) error = %v, want a ParseError on line 1", err)
	}
}

// hcpcsLine builds a 320-column HCPCS record; fields maps a 1-based start
// column to its text.
func hcpcsLine(fields map[int]string) string {
	b := []byte(strings.Repeat(" ", 320))
	for col, s := range fields {
		copy(b[col-1:], s)
	}
	return string(b)
}

func TestReadHCPCSJoinsContinuations(t *testing.T) {
	t.Parallel()
	in := crlf(strings.Join([]string{
		hcpcsLine(map[int]string{1: "A0426", 6: "00100", 11: "3", 12: "Ambulance service, advanced life support, non-emergency transport, level 1 (als",
			92: "Als 1", 120: "52", 128: "A", 230: "C", 257: "O1A", 261: "D", 266: "  0", 269: "19950101", 277: "20020101", 293: "N"}),
		hcpcsLine(map[int]string{1: "A0426", 6: "00200", 11: "4", 12: "1)"}),
		hcpcsLine(map[int]string{1: "G0001", 6: "00100", 11: "3", 12: "Routine venipuncture", 92: "Drawing blood", 120: "00", 205: "36415",
			230: "I", 269: "19980101", 277: "20060101", 285: "20051231", 293: "D"}),
		hcpcsLine(map[int]string{4: "GA", 6: "00100", 11: "7", 12: "Waiver of liability statement issued as required by payer policy, individual", 92: "Waiver of liability on file"}),
		hcpcsLine(map[int]string{4: "GA", 6: "00200", 11: "8", 12: "case"}),
		"", "",
	}, "\n"))
	var got []HCPCSRecord
	if err := ReadHCPCS(strings.NewReader(in), "HCPC.txt", func(r HCPCSRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatalf("ReadHCPCS() error = %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("ReadHCPCS() read %d records, want 3", len(got))
	}
	if want := "Ambulance service, advanced life support, non-emergency transport, level 1 (als 1)"; got[0].Long != want {
		t.Errorf("A0426 long = %q, want %q", got[0].Long, want)
	}
	if got[0].Short != "Als 1" || got[0].Coverage != "C" || got[0].BETOS != "O1A" || got[0].Added != 19950101 || got[0].Pricing[0] != "52" || got[0].MultiPricing != "A" {
		t.Errorf("A0426 fields = %+v", got[0])
	}
	if got[1].Terminated != 20051231 || got[1].Action != "D" || len(got[1].CrossRef) != 1 || got[1].CrossRef[0] != "36415" {
		t.Errorf("G0001 fields = %+v, want termination 20051231, action D, xref 36415", got[1])
	}
	if !got[2].Modifier || got[2].Code != "GA" || got[2].Long != "Waiver of liability statement issued as required by payer policy, individual case" {
		t.Errorf("GA = %+v", got[2])
	}
}

func TestReadHCPCSErrors(t *testing.T) {
	t.Parallel()
	first := hcpcsLine(map[int]string{1: "A0426", 6: "00100", 11: "3", 12: "Ambulance", 269: "19950101"})
	tests := []struct {
		name, in, field string
		line            int
	}{
		{"orphan continuation", hcpcsLine(map[int]string{1: "A0426", 6: "00200", 11: "4", 12: "1)"}), "record id (column 11)", 1},
		{"bad record id", hcpcsLine(map[int]string{1: "A0426", 6: "00100", 11: "5"}), "record id (column 11)", 1},
		{"bad date", hcpcsLine(map[int]string{1: "A0426", 6: "00100", 11: "3", 12: "Ambulance", 269: "19951301"}), "code added date (columns 269-276)", 1},
		{"sequence out of order", first + "\n" + hcpcsLine(map[int]string{1: "A0426", 6: "00100", 11: "4", 12: "x"}), "sequence number (columns 6-10)", 2},
		{"short record", "A0426", "record", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ReadHCPCS(strings.NewReader(crlf(tt.in+"\n")), "HCPC.txt", func(HCPCSRecord) error { return nil })
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line != tt.line || pe.Field != tt.field {
				t.Errorf("ReadHCPCS() error = %v, want line %d field %q", err, tt.line, tt.field)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	t.Parallel()
	order := crlf(orderLine(1, "A00", '0', "Cholera", "Cholera") + "\n")
	pcsOrder := crlf(orderLine(1, "001", '0', "Central Nervous System and Cranial Nerves, Bypass", "Central Nervous System and Cranial Nerves, Bypass") + "\n")
	hcpcs := crlf(hcpcsLine(map[int]string{1: "A0426", 6: "00100", 11: "3", 12: "Ambulance"}) + "\n")
	tests := []struct {
		name, file, in string
		want           Format
	}{
		{"icd10cm order", "icd10cm_order_2025.txt", order, ICD10CMOrder},
		{"pcs order by content", "order_2026.txt", pcsOrder, PCSOrder},
		{"icd10cm codes", "icd10cm_codes_2025.txt", crlf("A000    Cholera due to Vibrio cholerae 01, biovar cholerae\n"), ICD10CMCodes},
		{"order addenda", "icd10cm_order_addenda_2025.txt", crlf("Add:         1 C810A   Nodular lymphocyte predom Hodgkin lymphoma, in remission     Nodular lymphocyte predominant Hodgkin lymphoma, in remission\n"), ICD10CMOrderAddenda},
		{"codes addenda", "icd10cm_codes_addenda_2025.txt", crlf("Delete:      C8339   Diffuse large B-cell lymphoma, extranodal and solid organ sites\n"), ICD10CMCodesAddenda},
		{"pcs order addenda", "order_addenda_2026.txt", crlf("Add:         1 0016070 Bypass Cereb Vent to Nasophar w Autol Sub, Open            Bypass Cerebral Ventricle to Nasopharynx with Autologous Tissue Substitute, Open Approach\n"), PCSOrderAddenda},
		{"hcpcs", "HCPC2025_JAN_ANWEB.txt", hcpcs, HCPCS},
		{"tabular", "t.xml", "<?xml version=\"1.0\"?>\r\n<ICD10CM.tabular>\r\n<version>2023</version>", ICD10CMTabular},
		{"index", "i.xml", "<?xml version=\"1.0\"?>\r\n<ICD10CM.index>\r\n<version>2023</version>", ICD10CMIndex},
		{"ptp practitioner", "ccipra-v321r0-f1.txt", crlf("CPT only copyright\nColumn1/Column2 Edits\n10021\t10004\t\t20190101\t*\t1\tMisuse of Column Two code with Column One code\n"), PTPPractitioner},
		{"ptp hospital", "ccioph-v321r0-f1.txt", crlf("CPT only copyright\nColumn1/Column2 Edits\n10021\t10004\t\t20190101\t*\t1\tMisuse of Column Two code with Column One code\n"), PTPHospital},
		{"mue", "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv", "\"CPT codes\",,,\n\"HCPCS/\nCPT Code\",Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale\n99213,2,3 Date of Service Edit: Clinical,Clinical: Data\n", MUEPractitioner},
		{"cpt csv", "cpt_2025.csv", "99213,Office or other outpatient visit (synthetic text),Office visit\n0001U,Synthetic descriptor,\n", CPTDescriptors},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Detect(tt.file, []byte(tt.in))
			if err != nil || got != tt.want {
				t.Errorf("Detect(%s) = %q, %v; want %q", tt.file, got, err, tt.want)
			}
		})
	}
	if _, err := Detect("notes.txt", []byte("hello world\r\nthis is not a code file\r\n")); err == nil {
		t.Errorf("Detect(prose) error = nil, want an error")
	}
}
