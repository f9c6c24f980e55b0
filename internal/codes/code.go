package codes

import "strings"

// System names a code system. The strings appear in JSON output.
type System string

// The code systems codedesk knows.
const (
	ICD10CM System = "icd10cm"
	PCS     System = "pcs"
	HCPCS   System = "hcpcs"
	CPT     System = "cpt"
)

// Normalize upper-cases a code and removes dots, spaces and dashes, so
// "e11.22" and "E1122" are the same code.
func Normalize(code string) string {
	var b strings.Builder
	b.Grow(len(code))
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == '.' || c == ' ' || c == '-' || c == '\t':
		default:
			b.WriteByte(c) // kept, so that the code fits no format
		}
	}
	return b.String()
}

// Display returns the form people write a normalized code in: ICD-10-CM
// with a dot after the category ("E11.22"), everything else unchanged.
func Display(sys System, code string) string {
	if sys == ICD10CM && len(code) > 3 {
		return code[:3] + "." + code[3:]
	}
	return code
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isDigit(c) || isUpper(c) }

// FitsICD10CM reports whether a normalized code has the shape of an
// ICD-10-CM code: a letter, a digit, an alphanumeric, then up to four
// alphanumerics (3 to 7 characters).
func FitsICD10CM(c string) bool {
	if len(c) < 3 || len(c) > 7 || !isUpper(c[0]) || !isDigit(c[1]) || !isAlnum(c[2]) {
		return false
	}
	for i := 3; i < len(c); i++ {
		if !isAlnum(c[i]) {
			return false
		}
	}
	return true
}

// FitsPCS reports whether a normalized code has the shape of an ICD-10-PCS
// code (7 characters, digits and letters other than I and O) or of a
// 3-character PCS table.
func FitsPCS(c string) bool {
	if len(c) != 7 && len(c) != 3 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if !isAlnum(c[i]) || c[i] == 'I' || c[i] == 'O' {
			return false
		}
	}
	return true
}

// FitsHCPCS reports whether a normalized code has the shape of a HCPCS
// Level II code (a letter and four digits) or a Level II modifier (two
// alphanumerics).
func FitsHCPCS(c string) bool {
	if len(c) == 2 {
		return isAlnum(c[0]) && isAlnum(c[1])
	}
	return len(c) == 5 && isUpper(c[0]) && isDigit(c[1]) && isDigit(c[2]) && isDigit(c[3]) && isDigit(c[4])
}

// FitsCPT reports whether a normalized code has the shape of a CPT code:
// five digits (Category I), or four digits and F (Category II), T
// (Category III), U (PLA) or M (MAAA).
func FitsCPT(c string) bool {
	if len(c) != 5 {
		return false
	}
	for i := 0; i < 4; i++ {
		if !isDigit(c[i]) {
			return false
		}
	}
	return isDigit(c[4]) || c[4] == 'F' || c[4] == 'T' || c[4] == 'U' || c[4] == 'M'
}
