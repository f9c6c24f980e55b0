package codefile

import (
	"errors"
	"strings"
	"testing"
)

const ptpHeader = "CPT codes and descriptions only are copyright 2025 American Medical Association. All Rights Reserved. CPT\xae\n" +
	"Column1/Column2 Edits\n" +
	"Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date\tModifier\tPTP Edit Rationale\n" +
	"\t\t\t\t*=no data\t0=not allowed\t\n\t\t\t\t\t1=allowed\t\n\t\t\t\t\t9=not applicable\t\n"

func TestReadPTP(t *testing.T) {
	t.Parallel()
	in := crlf(ptpHeader +
		"93000\t93005\t*\t19960101\t*\t0\tCPT Manual or CMS manual coding instruction\n" +
		"99213\t36415\t\t20040101\t20201231\t1\tMisuse of Column Two code with Column One code\n" +
		"96374\tJ2405\t\t20100101\t*\t9\tStandards of m\xe9dical practice\n")
	var got []PTPRecord
	if err := ReadPTP(strings.NewReader(in), "ccipra.txt", func(r PTPRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatalf("ReadPTP() error = %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("ReadPTP() read %d edits, want 3 (header block skipped)", len(got))
	}
	want := PTPRecord{Line: 7, Column1: "93000", Column2: "93005", Pre1996: true, Effective: 19960101, Modifier: 0, Rationale: "CPT Manual or CMS manual coding instruction"}
	if got[0] != want {
		t.Errorf("edit 1 = %+v, want %+v", got[0], want)
	}
	if got[1].Deleted != 20201231 || got[1].Pre1996 || got[1].Modifier != 1 {
		t.Errorf("edit 2 = %+v, want deleted 20201231, modifier 1", got[1])
	}
	if got[2].Rationale != "Standards of médical practice" || got[2].Column2 != "J2405" {
		t.Errorf("edit 3 = %+v, want the Latin-1 rationale decoded", got[2])
	}
}

func TestReadPTPErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, row, field string
	}{
		{"modifier", "99213\t36415\t\t20040101\t*\t2\tx", "modifier indicator (field 6)"},
		{"effective date", "99213\t36415\t\t2004011\t*\t1\tx", "effective date (field 4)"},
		{"deletion date", "99213\t36415\t\t20040101\tnone\t1\tx", "deletion date (field 5)"},
		{"pre-1996 flag", "99213\t36415\tyes\t20040101\t*\t1\tx", "in existence prior to 1996 (field 3)"},
		{"column 2", "99213\t3641\t\t20040101\t*\t1\tx", "column 2"},
		{"fields", "99213\t36415\t\t20040101", "record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := crlf(ptpHeader + "93000\t93005\t*\t19960101\t*\t0\tok\n" + tt.row + "\n")
			err := ReadPTP(strings.NewReader(in), "ccipra.txt", func(PTPRecord) error { return nil })
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line != 8 || pe.Field != tt.field {
				t.Errorf("ReadPTP() error = %v, want ccipra.txt:8 field %q", err, tt.field)
			}
		})
	}
	err := ReadPTP(strings.NewReader(strings.Repeat("just some text\r\n", 30)), "notes.txt", func(PTPRecord) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "no edit found") {
		t.Errorf("ReadPTP(prose) error = %v, want no edit found", err)
	}
}

const mueHead = "\"Current Procedural Terminology (CPT) codes, descriptions and other data only are copyright 2025 American Medical Association. \n\nCPT\xae is a registered trademark of the American Medical Association.\n\n\",,,\n" +
	"\"HCPCS/\nCPT Code\",Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale\n"

func TestReadMUE(t *testing.T) {
	t.Parallel()
	in := mueHead + "0001U,1,2 Date of Service Edit: Policy,Code Descriptor / CPT Instruction\n" +
		"20610,2,1 Line Edit,Anatomic Consideration\nJ2405,64,3 Date of Service Edit: Clinical,Prescribing Information\n"
	var got []MUERecord
	if err := ReadMUE(strings.NewReader(in), "mue.csv", func(r MUERecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatalf("ReadMUE() error = %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("ReadMUE() read %d rows, want 3", len(got))
	}
	if got[0].Code != "0001U" || got[0].MAI != 2 || got[0].Line != 8 {
		t.Errorf("row 1 = %+v, want 0001U, MAI 2, line 8", got[0])
	}
	if got[1].MAI != 1 || got[1].MAIText != "1 Line Edit" || got[2].Value != 64 || got[2].Rationale != "Prescribing Information" {
		t.Errorf("rows = %+v", got)
	}
	for _, tt := range []struct{ row, field string }{
		{"99213,two,3 Date of Service Edit: Clinical,x", "MUE value (field 2)"},
		{"99213,2,Date of Service Edit,x", "MUE adjudication indicator (field 3)"},
		{"9921,2,3 Date of Service Edit: Clinical,x", "HCPCS/CPT code (field 1)"},
	} {
		err := ReadMUE(strings.NewReader(mueHead+tt.row+"\n"), "mue.csv", func(MUERecord) error { return nil })
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != 8 || pe.Field != tt.field {
			t.Errorf("ReadMUE(%q) error = %v, want mue.csv:8 field %q", tt.row, err, tt.field)
		}
	}
}

func TestReadCPT(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, in string }{
		{"csv with header", "Code,Long,Short\r\n99213,\"Synthetic long, with a comma\",Synthetic short\r\n0001U,Synthetic long U\r\n"},
		{"tsv", "99213\tSynthetic long, with a comma\tSynthetic short\n0001U\tSynthetic long U\n"},
	} {
		var got []CPTRecord
		if err := ReadCPT(strings.NewReader(tt.in), "cpt.csv", func(r CPTRecord) error { got = append(got, r); return nil }); err != nil {
			t.Fatalf("ReadCPT(%s) error = %v", tt.name, err)
		}
		if len(got) != 2 || got[0].Code != "99213" || got[0].Long != "Synthetic long, with a comma" || got[0].Short != "Synthetic short" || got[1].Short != "" {
			t.Errorf("ReadCPT(%s) = %+v", tt.name, got)
		}
	}
	err := ReadCPT(strings.NewReader("99213,Synthetic\nJ2405,HCPCS is not CPT\n"), "cpt.csv", func(CPTRecord) error { return nil })
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || pe.Field != "code (field 1)" {
		t.Errorf("ReadCPT(HCPCS code) error = %v, want cpt.csv:2 code", err)
	}
}

func TestReadAddenda(t *testing.T) {
	t.Parallel()
	in := crlf("Revise from: 1 A7741   Ehrlichiosis chafeensis [E. chafeensis]                      Ehrlichiosis chafeensis [E. chafeensis]\n" +
		"Revise to:   1 A7741   Ehrlichiosis chaffeensis [E. chaffeensis]                    Ehrlichiosis chaffeensis [E. chaffeensis]\n" +
		"Delete:      0 C833    Diffuse large B-cell lymphoma                                Diffuse large B-cell lymphoma\n" +
		"\nHeaders\n  23252 headers in icd10cm_order_2024.txt\n     72 additions\n")
	var got []AddendaRecord
	if err := ReadAddenda(strings.NewReader(in), "icd10cm_order_addenda_2025.txt", true, func(r AddendaRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatalf("ReadAddenda() error = %v", err)
	}
	if len(got) != 3 || got[0].Action != "revise_from" || got[1].Action != "revise_to" || got[1].Long != "Ehrlichiosis chaffeensis [E. chaffeensis]" ||
		got[2].Action != "delete" || got[2].Billable == nil || *got[2].Billable || got[2].Short != "Diffuse large B-cell lymphoma" {
		t.Errorf("ReadAddenda() = %+v", got)
	}
	pcs := crlf("Add:         02HM3JZ Insertion of Pace Lead into Ventricular Sept, Perc Approach  Insertion of Pacemaker Lead into Ventricular Septum, Percutaneous Approach\n")
	got = nil
	if err := ReadAddenda(strings.NewReader(pcs), "order_addenda_2026.txt", true, func(r AddendaRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatalf("ReadAddenda(pcs) error = %v", err)
	}
	if len(got) != 1 || got[0].Billable != nil || got[0].Code != "02HM3JZ" || got[0].Long != "Insertion of Pacemaker Lead into Ventricular Septum, Percutaneous Approach" {
		t.Errorf("ReadAddenda(pcs) = %+v", got)
	}
	err := ReadAddenda(strings.NewReader("Changed:     1 A7741   x\r\n"), "a.txt", true, func(AddendaRecord) error { return nil })
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Field != "action (columns 1-13)" {
		t.Errorf("ReadAddenda(unknown action) error = %v", err)
	}
}

func TestReadTabularErrors(t *testing.T) {
	t.Parallel()
	in := "<?xml version=\"1.0\"?>\r\n<ICD10CM.tabular>\r\n<version>2025</version>\r\n<chapter><name>1</name><desc>x</desc>\r\n<section id=\"A00-A09\"><desc>y</desc><diag><name>A00</name><desc>Cholera</desc>\r\n</section></chapter></ICD10CM.tabular>"
	_, err := ReadTabular(strings.NewReader(in), "t.xml", func(TabularItem) error { return nil })
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 6 || pe.Field != "XML" {
		t.Errorf("ReadTabular(unclosed diag) error = %v, want t.xml:6 XML", err)
	}
	_, err = ReadTabular(strings.NewReader("<ICD10CM.index><version>2025</version></ICD10CM.index>"), "t.xml", func(TabularItem) error { return nil })
	if !errors.As(err, &pe) || pe.Field != "root element" {
		t.Errorf("ReadTabular(index XML) error = %v, want a root element error", err)
	}
}
