package codefile

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// The readers take files from outside: whatever the bytes, they return
// records or a *ParseError (or a read error), and never panic.

func checkErr(t *testing.T, err error) {
	t.Helper()
	var pe *ParseError
	if err != nil && !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
}

func FuzzReadOrder(f *testing.F) {
	f.Add([]byte(crlf(orderLine(1, "E11", '0', "Type 2 diabetes mellitus", "Type 2 diabetes mellitus") + "\n")))
	f.Add([]byte("00001 A00     0 Cholera\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkErr(t, ReadOrder(bytes.NewReader(b), "f", func(OrderRecord) error { return nil }))
		checkErr(t, ReadCodes(bytes.NewReader(b), "f", func(CodesRecord) error { return nil }))
		checkErr(t, ReadAddenda(bytes.NewReader(b), "f", true, func(AddendaRecord) error { return nil }))
		checkErr(t, ReadAddenda(bytes.NewReader(b), "f", false, func(AddendaRecord) error { return nil }))
		_, _ = Detect("f.txt", b)
	})
}

func FuzzReadHCPCS(f *testing.F) {
	f.Add([]byte(crlf(hcpcsLine(map[int]string{1: "A0426", 6: "00100", 11: "3", 12: "Ambulance", 269: "19950101"}) + "\n" +
		hcpcsLine(map[int]string{1: "A0426", 6: "00200", 11: "4", 12: "1)"}) + "\n")))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkErr(t, ReadHCPCS(bytes.NewReader(b), "f", func(HCPCSRecord) error { return nil }))
	})
}

func FuzzReadNCCI(f *testing.F) {
	f.Add([]byte(crlf(ptpHeader + "93000\t93005\t*\t19960101\t*\t0\tx\n")))
	f.Add([]byte(mueHead + "J2405,64,3 Date of Service Edit: Clinical,Prescribing Information\n"))
	f.Add([]byte("99213,Synthetic,Short\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkErr(t, ReadPTP(bytes.NewReader(b), "f", func(PTPRecord) error { return nil }))
		checkErr(t, ReadMUE(bytes.NewReader(b), "f", func(MUERecord) error { return nil }))
		checkErr(t, ReadCPT(bytes.NewReader(b), "f", func(CPTRecord) error { return nil }))
	})
}

func FuzzReadXML(f *testing.F) {
	f.Add("<ICD10CM.tabular><version>2023</version><chapter><name>1</name><desc>x</desc><section id=\"A00-A09\"><desc>y</desc><diag><name>A00</name><desc>Cholera</desc><sevenChrDef><extension char=\"A\">initial</extension></sevenChrDef></diag></section></chapter></ICD10CM.tabular>")
	f.Add("<ICD10CM.index><version>2023</version><letter><title>A</title><mainTerm><title>Abasia<nemod>(-astasia)</nemod></title><code>F44.4</code><term level=\"1\"><title>x</title></term></mainTerm></letter></ICD10CM.index>")
	f.Fuzz(func(t *testing.T, s string) {
		_, err := ReadTabular(strings.NewReader(s), "f", func(TabularItem) error { return nil })
		checkErr(t, err)
		_, err = ReadIndex(strings.NewReader(s), "f", func(IndexTerm) error { return nil })
		checkErr(t, err)
	})
}
