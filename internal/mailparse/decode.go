package mailparse

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"
	"unicode/utf8"

	gmcharset "github.com/emersion/go-message/charset" // also sets message.CharsetReader for go-message's own decoding
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/japanese"
)

// decodeTransfer undoes a Content-Transfer-Encoding (RFC 2045 section 6)
// leniently: broken base64 and quoted-printable are decoded as far as they
// can be, with a problem noted, and an unknown encoding is passed through.
func decodeTransfer(cte string, body []byte) ([]byte, []string) {
	cte = strings.ToLower(strings.TrimSpace(cte))
	if i := strings.IndexAny(cte, "; \t("); i >= 0 {
		cte = cte[:i]
	}
	switch cte {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit":
		return body, nil
	case "base64":
		return decodeBase64(body)
	case "quoted-printable":
		return decodeQP(body)
	default:
		return body, []string{fmt.Sprintf("unknown Content-Transfer-Encoding %q; body used as is", truncateRunes(cte, 40))}
	}
}

// b64val maps a base64 alphabet byte (standard and URL-safe) to its value, or -1.
var b64val = func() [256]int8 {
	var t [256]int8
	for i := range t {
		t[i] = -1
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(std); i++ {
		t[std[i]] = int8(i)
	}
	t['-'] = 62
	t['_'] = 63
	return t
}()

// decodeBase64 decodes base64, skipping characters outside the alphabet and
// restarting after padding in the middle (concatenated base64 blocks).
func decodeBase64(in []byte) ([]byte, []string) {
	out := make([]byte, 0, len(in)*3/4)
	var quad [4]byte
	n := 0
	junk := 0
	partial := false
	flush := func() {
		switch n {
		case 1:
			partial = true
		case 2:
			out = append(out, quad[0]<<2|quad[1]>>4)
		case 3:
			out = append(out, quad[0]<<2|quad[1]>>4, quad[1]<<4|quad[2]>>2)
		}
		n = 0
	}
	for _, c := range in {
		if c == '=' {
			flush()
			continue
		}
		v := b64val[c]
		if v < 0 {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				junk++
			}
			continue
		}
		quad[n] = byte(v)
		n++
		if n == 4 {
			out = append(out, quad[0]<<2|quad[1]>>4, quad[1]<<4|quad[2]>>2, quad[2]<<6|quad[3])
			n = 0
		}
	}
	flush()
	var problems []string
	if junk > 0 {
		problems = append(problems, fmt.Sprintf("broken base64: skipped %d invalid character(s)", junk))
	}
	if partial {
		problems = append(problems, "broken base64: dropped a trailing incomplete group")
	}
	return out, problems
}

// unhex returns the value of a hex digit (either case), or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// decodeQP decodes quoted-printable (RFC 2045 section 6.7) leniently: an "="
// not followed by two hex digits or a line break is kept literally.
func decodeQP(in []byte) ([]byte, []string) {
	out := make([]byte, 0, len(in))
	bad := 0
	for len(in) > 0 {
		line, rest := cutLineKeepEnd(in)
		in = rest
		content, eol := splitEOL(line)
		// Transport padding: trailing whitespace is removed (section 6.7 rule 3).
		content = bytes.TrimRight(content, " \t")
		soft := false
		for i := 0; i < len(content); i++ {
			c := content[i]
			if c != '=' {
				out = append(out, c)
				continue
			}
			if i == len(content)-1 {
				soft = true
				break
			}
			if i+2 < len(content) && unhex(content[i+1]) >= 0 && unhex(content[i+2]) >= 0 {
				out = append(out, byte(unhex(content[i+1])<<4|unhex(content[i+2])))
				i += 2
				continue
			}
			bad++
			out = append(out, c)
		}
		if !soft && len(eol) > 0 {
			out = append(out, '\n')
		}
	}
	var problems []string
	if bad > 0 {
		problems = append(problems, badQPProblem(bad))
	}
	return out, problems
}

func badQPProblem(n int) string {
	return fmt.Sprintf("broken quoted-printable: kept %d invalid escape(s) literally", n)
}

// badQPEscapes counts the "=" signs in quoted-printable text that are
// neither an escape ("=" and two hex digits) nor a soft line break, by the
// same rules as decodeQP. The standard library's decoder, which go-message
// uses, keeps such signs literally as decodeQP does, but silently.
func badQPEscapes(in []byte) int {
	bad := 0
	for len(in) > 0 {
		i := bytes.IndexByte(in, '=')
		if i < 0 {
			break
		}
		line, rest := cutLineKeepEnd(in[i:])
		in = rest
		content, _ := splitEOL(line)
		content = bytes.TrimRight(content, " \t")
		for j := 0; j < len(content); j++ {
			if content[j] != '=' || j == len(content)-1 {
				continue
			}
			if j+2 < len(content) && unhex(content[j+1]) >= 0 && unhex(content[j+2]) >= 0 {
				j += 2
				continue
			}
			bad++
		}
	}
	return bad
}

// cutLineKeepEnd returns the first line of b including its "\n", and the rest.
func cutLineKeepEnd(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	return b[:i+1], b[i+1:]
}

// splitEOL splits a line into its content and its line ending.
func splitEOL(line []byte) (content, eol []byte) {
	if bytes.HasSuffix(line, []byte("\r\n")) {
		return line[:len(line)-2], line[len(line)-2:]
	}
	if bytes.HasSuffix(line, []byte("\n")) {
		return line[:len(line)-1], line[len(line)-1:]
	}
	return line, nil
}

// normaliseLabel lower-cases a charset label and strips quotes and spaces.
func normaliseLabel(label string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(label), `"' `))
}

// iso2022Escapes are the escape sequences ISO-2022-JP text switches with
// (RFC 1468); their presence identifies it even without a charset label.
var iso2022Escapes = [][]byte{[]byte("\x1b$B"), []byte("\x1b$@"), []byte("\x1b(J"), []byte("\x1b(I"), []byte("\x1b$(D")}

func looksISO2022JP(b []byte) bool {
	if bytes.IndexByte(b, 0x1b) < 0 {
		return false
	}
	for _, e := range iso2022Escapes {
		if bytes.Contains(b, e) {
			return true
		}
	}
	return false
}

// charsetDecoder converts bytes in one charset to UTF-8.
type charsetDecoder func([]byte) (string, error)

// encodingDecoder adapts an x/text encoding.
func encodingDecoder(enc encoding.Encoding) charsetDecoder {
	return func(b []byte) (string, error) {
		out, err := enc.NewDecoder().Bytes(b)
		return string(out), err
	}
}

// lookupCharset finds the decoder for a charset label: WHATWG labels first
// (which, like browsers, read ISO-8859-1 as its superset windows-1252), then
// the IANA registry through go-message/charset. It returns nil for an
// unknown label, and for one that only maps to the WHATWG "replacement"
// encoding (iso-2022-kr, iso-2022-cn, …), which would turn the whole text
// into a single U+FFFD.
func lookupCharset(label string) charsetDecoder {
	if enc := ownEncoding(label); enc != nil {
		return encodingDecoder(enc)
	}
	// go-message/charset knows IANA names and aliases (cp850, ibm437, …).
	if enc := goMessageEncoding(label); enc != nil && enc != encoding.Replacement {
		return func(b []byte) (string, error) {
			rd, err := gmcharset.Reader(label, bytes.NewReader(b))
			if err != nil {
				return "", err
			}
			out, err := io.ReadAll(rd)
			return string(out), err
		}
	}
	return nil
}

// ownEncoding is the encoding lookupCharset picks for a label before it
// asks go-message/charset: the WHATWG index, and ISO-2022-JP for its
// variants. nil when neither knows the label.
func ownEncoding(label string) encoding.Encoding {
	if label == "" {
		return nil
	}
	if enc, err := htmlindex.Get(label); err == nil && enc != nil && enc != encoding.Replacement {
		return enc
	}
	if strings.HasPrefix(label, "iso-2022-jp") {
		return japanese.ISO2022JP
	}
	return nil
}

// goMessageEncoding is the encoding go-message/charset's Reader (v0.18.2)
// uses for a label: the IANA MIME index, the same with a "cs" prefix, then
// the WHATWG index. nil when none knows the label.
func goMessageEncoding(label string) encoding.Encoding {
	if label == "" {
		return nil
	}
	if enc, _ := ianaindex.MIME.Encoding(label); enc != nil {
		return enc
	}
	if enc, _ := ianaindex.MIME.Encoding("cs" + label); enc != nil {
		return enc
	}
	if enc, _ := htmlindex.Get(label); enc != nil {
		return enc
	}
	return nil
}

// goMessageConverts reports whether go-message's Entity.Body (with
// go-message/charset imported) converts text labelled with this charset to
// UTF-8 exactly as decodeCharset would, so that go-message may do it. It
// does not for:
//   - no label, utf-8 and us-ascii, which go-message passes through as they
//     are (decodeCharset then checks that they are what they claim);
//   - labels decodeCharset treats as UTF-8 (utf8, ascii, …);
//   - labels the WHATWG index maps to a superset of the IANA charset:
//     iso-8859-1 (and latin1, …) read as windows-1252, iso-8859-9 as
//     windows-1254, tis-620 as windows-874;
//   - labels go-message does not know, or maps to the replacement encoding.
func goMessageConverts(label string) bool {
	lower := strings.ToLower(label)
	if normaliseLabel(label) != lower {
		// Quotes or spaces around the label: go-message would look up
		// something other than decodeCharset does.
		return false
	}
	label = lower
	switch label {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "unicode-1-1-utf-8":
		return false
	}
	theirs := goMessageEncoding(label)
	if theirs == nil || theirs == encoding.Replacement {
		return false
	}
	ours := ownEncoding(label)
	if ours == nil {
		// decodeCharset would use go-message/charset's reader as well.
		return true
	}
	return sameEncoding(ours, theirs)
}

// sameEncoding reports whether two x/text encodings are the same one.
// (Interface comparison panics on an uncomparable dynamic type.)
func sameEncoding(a, b encoding.Encoding) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta.Comparable() && a == b
}

// decodeWith decodes b with enc, replacing what it cannot decode.
func decodeWith(enc encoding.Encoding, b []byte) (string, error) {
	return encodingDecoder(enc)(b)
}

// decodeCharset converts text in the given charset to UTF-8. It never
// fails: an unknown or wrong label falls back to UTF-8 when the bytes are
// valid UTF-8, to ISO-2022-JP when its escapes are present, and to
// windows-1252 otherwise, with the fallback described in a problem.
func decodeCharset(b []byte, label string) (string, []string) {
	label = normaliseLabel(label)
	switch label {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "unicode-1-1-utf-8":
		if looksISO2022JP(b) {
			s, _ := decodeWith(japanese.ISO2022JP, b)
			if label != "" {
				return clean(s), []string{fmt.Sprintf("charset %s declared but text is ISO-2022-JP; decoded as iso-2022-jp", label)}
			}
			return clean(s), nil
		}
		if utf8.Valid(b) {
			return clean(string(b)), nil
		}
		s, _ := decodeWith(charmap.Windows1252, b)
		if label == "" {
			return clean(s), []string{"8-bit text without a charset; decoded as windows-1252"}
		}
		return clean(s), []string{fmt.Sprintf("invalid %s text; decoded as windows-1252", label)}
	}
	if dec := lookupCharset(label); dec != nil {
		s, err := dec(b)
		if err == nil {
			return clean(s), nil
		}
		s, _ = decodeWith(charmap.Windows1252, b)
		return clean(s), []string{fmt.Sprintf("text is not valid %s; decoded as windows-1252", truncateRunes(label, 40))}
	}
	name := truncateRunes(label, 40)
	switch {
	case looksISO2022JP(b):
		s, _ := decodeWith(japanese.ISO2022JP, b)
		return clean(s), []string{fmt.Sprintf("unknown charset %s; decoded as iso-2022-jp", name)}
	case utf8.Valid(b):
		return clean(string(b)), []string{fmt.Sprintf("unknown charset %s; decoded as utf-8", name)}
	default:
		s, _ := decodeWith(charmap.Windows1252, b)
		return clean(s), []string{fmt.Sprintf("unknown charset %s; decoded as windows-1252", name)}
	}
}

// clean makes decoded text safe to store: valid UTF-8, no NUL bytes, "\n"
// line endings.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return s
}

// headerDecoder decodes RFC 2047 encoded-words with the same charset
// fallbacks as bodies.
type headerDecoder struct {
	problems *[]string
}

func (d headerDecoder) charsetReader(label string, r io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxHeaderBytes))
	if err != nil {
		return nil, err
	}
	s, probs := decodeCharset(b, label)
	if d.problems != nil {
		*d.problems = append(*d.problems, probs...)
	}
	return strings.NewReader(s), nil
}

// decode returns the header value v with encoded-words decoded and raw
// 8-bit or ISO-2022-JP bytes converted to UTF-8.
func (d headerDecoder) decode(v string) string {
	if v == "" {
		return ""
	}
	if !utf8.ValidString(v) || looksISO2022JP([]byte(v)) {
		s, probs := decodeCharset([]byte(v), "")
		if d.problems != nil {
			for _, p := range probs {
				*d.problems = append(*d.problems, "header: "+p)
			}
		}
		v = s
	}
	if !strings.Contains(v, "=?") {
		return v
	}
	wd := mime.WordDecoder{CharsetReader: d.charsetReader}
	out, err := wd.DecodeHeader(v)
	if err != nil {
		return clean(v)
	}
	return clean(out)
}

// truncateRunes shortens s to at most n runes.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
