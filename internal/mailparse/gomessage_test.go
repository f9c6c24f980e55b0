package mailparse

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// brokenCorpus are the corpus files go-message cannot read on its own; every
// other corpus message must be read without the lenient fallbacks.
var brokenCorpus = map[string]string{
	"broken_base64.eml":        "base64 unreadable by go-message; decoded leniently",
	"duplicate_headers.eml":    problemHeaderLenient,
	"header_no_blank_line.eml": problemHeaderLenient,
}

func TestCorpusReadByGoMessage(t *testing.T) {
	t.Parallel()
	for _, path := range corpus(t) {
		name := filepath.Base(path)
		m := parseFile(t, name, corpusOptions)
		var fallbacks []string
		for _, p := range m.Problems {
			if strings.Contains(p, "go-message") {
				fallbacks = append(fallbacks, p)
			}
		}
		want, broken := brokenCorpus[name]
		switch {
		case !broken && len(fallbacks) > 0:
			t.Errorf("Parse(%s) Problems = %q, want go-message to read it without fallback", name, fallbacks)
		case broken && !hasProblem(m, want):
			t.Errorf("Parse(%s) Problems = %q, want %q", name, m.Problems, want)
		}
	}
}

// TestHeaderReadByGoMessage shows that go-message reads the header: a line
// of white space inside the header is obsolete folding to go-message (RFC
// 5322 section 4.2), where the lenient splitter would end the header there.
func TestHeaderReadByGoMessage(t *testing.T) {
	t.Parallel()
	raw := crlf("From: Ana <ana@clinic.example>\nSubject: modifier\n \n 59 question\nMessage-ID: <ws@clinic.example>\nDate: Mon, 5 Jan 2026 10:00:00 +0000\n\nIs 59 right with 97110?\n")
	m, err := Parse(raw, Options{})
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	if m.Subject != "modifier 59 question" || m.MessageID != "ws@clinic.example" {
		t.Errorf("Subject, MessageID = %q, %q; want %q, %q", m.Subject, m.MessageID, "modifier 59 question", "ws@clinic.example")
	}
	if m.Text != "Is 59 right with 97110?" || len(m.Problems) != 0 {
		t.Errorf("Text = %q, Problems = %q; want the body and no problems", m.Text, m.Problems)
	}
}

// threeParts is a multipart/mixed message; part2 is replaced by each test.
func threeParts(part2 string) []byte {
	return crlf("From: Lee <lee@clinic.example>\nTo: desk@codedesk.test\nSubject: parts\n" +
		"Date: Mon, 5 Jan 2026 10:00:00 +0000\nMessage-ID: <parts@clinic.example>\n" +
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n" +
		"preamble\n--b1\nContent-Type: text/plain; charset=utf-8\n\nIs 11042 billable with 97597?\n" +
		"--b1\n" + part2 + "\n" +
		"--b1\nContent-Type: text/csv; charset=utf-8\nContent-Disposition: attachment; filename=\"lines.csv\"\n\ncode,units\n11042,1\n" +
		"--b1--\nepilogue\n")
}

func problemsAbout(m *Message, sub string) []string {
	var out []string
	for _, p := range m.Problems {
		if strings.Contains(p, sub) {
			out = append(out, p)
		}
	}
	return out
}

// TestFallbackPartByPart checks that a part go-message cannot read is read
// leniently while go-message reads the parts before and after it.
func TestFallbackPartByPart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		part2    string
		text     string // in Text: the broken part's content survives
		problems []string
	}{
		{
			name:     "junk header line",
			part2:    "Content-Type: text/plain; charset=utf-8\nthis line is junk\nX-Note: after junk\n\nSecond part text about 97598.",
			text:     "Second part text about 97598.",
			problems: []string{"part 2: " + problemHeaderLenient, "part 2: dropped 1 malformed header line(s)"},
		},
		{
			name:     "part without header",
			part2:    "Second part without a header, about 97602.",
			text:     "Second part without a header, about 97602.",
			problems: []string{"part 2: " + problemStructureLenient, "part 2: part has no header; read as plain text"},
		},
		{
			name:     "line go-message takes for a delimiter",
			part2:    "Content-Type: text/plain; charset=utf-8\n\nBefore the odd line.\n--b1-not-a-delimiter\nAfter the odd line, 97605.",
			text:     "Before the odd line.\n--b1-not-a-delimiter\nAfter the odd line, 97605.",
			problems: []string{"part 2: " + problemStructureLenient},
		},
		{
			name:     "broken base64",
			part2:    "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nU2Vjb25kIHBhcnQg!!YWJvdXQgOTc2MTAu",
			text:     "Second part about 97610.",
			problems: []string{"part 2: base64 unreadable by go-message; decoded leniently", "part 2: broken base64: skipped 2 invalid character(s)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := Parse(threeParts(tc.part2), Options{})
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			for _, want := range []string{"Is 11042 billable with 97597?", tc.text} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("Text = %q, want it to contain %q", m.Text, want)
				}
			}
			if len(m.Attachments) != 1 || m.Attachments[0].Part != "3" || m.Attachments[0].Text != "code,units\n11042,1" {
				t.Errorf("Attachments = %+v, want lines.csv as part 3 with its text", m.Attachments)
			}
			if got := strings.Join(m.Problems, "\n"); got != strings.Join(tc.problems, "\n") {
				t.Errorf("Problems = %q, want %q", m.Problems, tc.problems)
			}
		})
	}
}

func TestUnclosedMultipartKeepsLastPart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ending   string
		size     int64  // of the CSV attachment
		fallback string // the problem about go-message, if any
	}{
		{"", 3, ""},
		{"\n", 5, ""}, // go-message holds back the line break; it is kept
		{"\n--b1", 3, "part 3: " + problemStructureLenient},   // a delimiter line: an empty third part follows
		{"\n--b1-", 10, "part 2: " + problemStructureLenient}, // not a delimiter: the part's last line
	}
	for _, tc := range tests {
		raw := crlf("From: a@clinic.example\nMessage-ID: <u@x>\nContent-Type: multipart/mixed; boundary=b1\n\n--b1\n\nfirst\n--b1\nContent-Type: text/csv; name=a.csv\n\n1,2" + tc.ending)
		m, err := Parse(raw, Options{})
		if err != nil {
			t.Fatalf("Parse() error = %v", err)
		}
		if len(m.Attachments) != 1 || m.Attachments[0].Size != tc.size {
			t.Errorf("ending %q: Attachments = %+v, want a.csv of %d bytes", tc.ending, m.Attachments, tc.size)
		}
		if m.Text != "first" || !hasProblem(m, problemNotClosed) {
			t.Errorf("ending %q: Text = %q, Problems = %q; want the first part and %q", tc.ending, m.Text, m.Problems, problemNotClosed)
		}
		if got := problemsAbout(m, "go-message"); (tc.fallback == "") != (len(got) == 0) || (tc.fallback != "" && got[0] != tc.fallback) {
			t.Errorf("ending %q: Problems = %q, want %q about go-message", tc.ending, m.Problems, tc.fallback)
		}
	}
}

func TestNestedMultipartFallbackKeepsPath(t *testing.T) {
	t.Parallel()
	raw := crlf("From: a@clinic.example\nMessage-ID: <n@x>\nContent-Type: multipart/mixed; boundary=outer\n\n" +
		"--outer\nContent-Type: multipart/alternative; boundary=inner\n\n" +
		"--inner\nContent-Type: text/plain\nbroken header line\n\nplain 99213\n" +
		"--inner\nContent-Type: text/html\n\n<p>html 99213</p>\n--inner--\n" +
		"--outer\nContent-Type: application/pdf; name=x.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0=\n--outer--\n")
	m, err := Parse(raw, Options{})
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	// The lenient splitter ends the header at the junk line (no field
	// follows it), so the line is read as the first line of the body.
	if m.Text != "broken header line\n\nplain 99213" || m.HTML != "<p>html 99213</p>" {
		t.Errorf("Text, HTML = %q, %q; want the plain and HTML alternatives", m.Text, m.HTML)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Part != "2" || m.Attachments[0].Size != 5 {
		t.Errorf("Attachments = %+v, want x.pdf (5 bytes) as part 2", m.Attachments)
	}
	if want := "part 1.1: " + problemHeaderLenient; !hasProblem(m, want) || len(problemsAbout(m, "go-message")) != 1 {
		t.Errorf("Problems = %q, want only %q about go-message", m.Problems, want)
	}
}

func TestTransferEncodingFallbacks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cte, body, want, problem string
	}{
		{"7-bit", "plain text 99213", "plain text 99213", `Content-Transfer-Encoding "7-bit" unknown to go-message; decoded leniently`},
		{"x-uuencode", "begin 644 x", "begin 644 x", `unknown Content-Transfer-Encoding "x-uuencode"`},
		{"base64", "aGVsbG8=aGk=", "hellohi", "base64 unreadable by go-message; decoded leniently"},
		{"quoted-printable", "a=3Db =ZZ c", "a=b =ZZ c", "broken quoted-printable: kept 1 invalid escape(s) literally"},
		{"quoted-printable", "caf=C3=A9 =\nok", "café ok", ""},
	}
	for _, tc := range tests {
		raw := crlf("From: a@clinic.example\nMessage-ID: <t@x>\nDate: Mon, 5 Jan 2026 10:00:00 +0000\nContent-Transfer-Encoding: " + tc.cte + "\n\n" + tc.body + "\n")
		m, err := Parse(raw, Options{})
		if err != nil {
			t.Fatalf("Parse() error = %v", err)
		}
		if m.Text != tc.want {
			t.Errorf("%s: Text = %q, want %q", tc.cte, m.Text, tc.want)
		}
		if got := strings.Join(m.Problems, "; "); (tc.problem == "") != (got == "") || !strings.Contains(got, tc.problem) {
			t.Errorf("%s: Problems = %q, want %q", tc.cte, m.Problems, tc.problem)
		}
	}
}

func TestGoMessageConverts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		label string
		want  bool
	}{
		{"", false}, {"utf-8", false}, {"UTF-8", false}, {"us-ascii", false}, {"utf8", false}, {"ascii", false},
		{"windows-1252", true}, {"ISO-8859-2", true}, {"iso-2022-jp", true}, {"shift_jis", true}, {"koi8-r", true},
		{"iso-8859-1", false}, {"latin1", false}, {"iso-8859-9", false}, // read as windows-125x supersets
		{"iso-2022-kr", false}, // the replacement encoding
		{"hz-gb-2312", true},   // the WHATWG index has only the replacement; go-message's IANA table has HZ
		{"x-foo-bar", false}, {" windows-1252", false},
	}
	for _, tc := range tests {
		if got := goMessageConverts(tc.label); got != tc.want {
			t.Errorf("goMessageConverts(%q) = %v, want %v", tc.label, got, tc.want)
		}
	}
}

func TestBodyCharsetPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		charset, body, want, problem string
	}{
		// Labelled ISO-8859-1 but using windows-1252's quotes: read as
		// windows-1252 like a browser, not as C1 control characters.
		{"iso-8859-1", "\x93Excludes1\x94 caf\xe9", "“Excludes1” café", ""},
		{"windows-1252", "\x93Excludes1\x94 \x80", "“Excludes1” €", ""}, // by go-message
		{"koi8-r", "\xeb\xcf\xc4", "Код", ""},                           // by go-message
		{"utf-8", "caf\xe9", "café", "invalid utf-8 text; decoded as windows-1252"},
		{"iso-2022-kr", "plain 99213", "plain 99213", "unknown charset iso-2022-kr; decoded as utf-8"},
		{"x-foo-bar", "ol\xe1", "olá", "unknown charset x-foo-bar; decoded as windows-1252"},
	}
	for _, tc := range tests {
		raw := crlf("From: a@clinic.example\nMessage-ID: <c@x>\nDate: Mon, 5 Jan 2026 10:00:00 +0000\nContent-Type: text/plain; charset=" + tc.charset + "\nContent-Transfer-Encoding: 8bit\n\n" + tc.body + "\n")
		m, err := Parse(raw, Options{})
		if err != nil {
			t.Fatalf("Parse() error = %v", err)
		}
		if m.Text != tc.want {
			t.Errorf("charset %s: Text = %q, want %q", tc.charset, m.Text, tc.want)
		}
		if got := strings.Join(m.Problems, "; "); (tc.problem == "") != (got == "") || !strings.Contains(got, tc.problem) {
			t.Errorf("charset %s: Problems = %q, want %q", tc.charset, m.Problems, tc.problem)
		}
	}
}

func TestSubjectDecoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		subject, want, problem string
	}{
		{"=?utf-8?q?Modifier_25_f=C3=BCr?= 99213", "Modifier 25 für 99213", ""},
		{"=?ISO-8859-1?Q?Fr=E4ge?=", "Fräge", ""},
		{"=?windows-1252?Q?=93quoted=94?=", "“quoted”", ""},
		{"=?x-nope?Q?caf=E9?=", "café", "unknown charset x-nope; decoded as windows-1252"},
	}
	for _, tc := range tests {
		raw := crlf("From: a@clinic.example\nMessage-ID: <s@x>\nDate: Mon, 5 Jan 2026 10:00:00 +0000\nSubject: " + tc.subject + "\n\nbody\n")
		m, err := Parse(raw, Options{})
		if err != nil {
			t.Fatalf("Parse() error = %v", err)
		}
		if m.Subject != tc.want {
			t.Errorf("Subject(%q) = %q, want %q", tc.subject, m.Subject, tc.want)
		}
		if got := strings.Join(m.Problems, "; "); (tc.problem == "") != (got == "") || !strings.Contains(got, tc.problem) {
			t.Errorf("Subject(%q) Problems = %q, want %q", tc.subject, m.Problems, tc.problem)
		}
	}
}

func TestMessageIDs(t *testing.T) {
	t.Parallel()
	raw := crlf("From: a@clinic.example\nMessage-ID: <id with space@clinic.example>\nIn-Reply-To: <r1@x> (comment) <r2@x>\n" +
		"References: <a@x> <b@x> <a@x>\nReferences: <c@x>\n\nbody\n")
	m, err := Parse(raw, Options{})
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	if m.MessageID != "idwithspace@clinic.example" || m.InReplyTo != "r1@x" {
		t.Errorf("MessageID, InReplyTo = %q, %q; want idwithspace@clinic.example, r1@x", m.MessageID, m.InReplyTo)
	}
	if got := strings.Join(m.References, " "); got != "a@x b@x c@x" {
		t.Errorf("References = %q, want a@x b@x c@x (both fields, no duplicates)", got)
	}
}

// allocated returns the bytes allocated while f runs. Tests that use it do
// not run in parallel, so other tests' allocations do not count.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHeaderFloodBounded checks that a header of very many short fields is
// not handed to go-message, whose header reader allocates about 160 times
// the input for such a header.
func TestHeaderFloodBounded(t *testing.T) {
	flood := strings.Repeat("X-A: b\n", 300_000) // 2.1 MB
	for name, raw := range map[string][]byte{
		"message header": crlf("From: a@clinic.example\nMessage-ID: <f@x>\n" + flood + "\nbody 99213\n"),
		"part header": crlf("From: a@clinic.example\nMessage-ID: <f@x>\nContent-Type: multipart/mixed; boundary=b\n\n" +
			"--b\n\nbody 99213\n--b\n" + flood + "\npart body\n--b\nContent-Type: text/csv; name=a.csv\n\n1,2\n--b--\n"),
	} {
		var m *Message
		var err error
		n := allocated(func() { m, err = Parse(raw, Options{}) })
		if err != nil {
			t.Fatalf("%s: Parse() error = %v", name, err)
		}
		if !strings.Contains(m.Text, "body 99213") || !hasProblem(m, "more than 5000 header fields") {
			t.Errorf("%s: Text = %.40q, Problems = %q; want the body and the field limit reported", name, m.Text, m.Problems)
		}
		if limit := uint64(40 * len(raw)); n > limit {
			t.Errorf("%s: Parse() allocated %d MB for %d KB of input, want at most %d MB", name, n>>20, len(raw)>>10, limit>>20)
		}
	}
}

// TestNestedPartsNotCopied checks that nested parts are read as slices of
// the message, not copied at every level.
func TestNestedPartsNotCopied(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@clinic.example\nMessage-ID: <deep@x>\n")
	for i := 0; i < 25; i++ {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + itoa(i) + "\n\n--b" + itoa(i) + "\n")
	}
	b.WriteString("Content-Type: application/octet-stream; name=scan.bin\n\n")
	b.WriteString(strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n", 1<<15)) // 2 MiB
	raw := crlf(b.String())
	var m *Message
	var err error
	n := allocated(func() { m, err = Parse(raw, Options{}) })
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Size < 2<<20 {
		t.Fatalf("Attachments = %+v, want scan.bin of 2 MiB", m.Attachments)
	}
	if limit := uint64(len(raw) / 2); n > limit {
		t.Errorf("Parse() allocated %d KB for %d KB nested 25 deep, want at most %d KB", n>>10, len(raw)>>10, limit>>10)
	}
}

// contentHashReference is ContentHash as first written, on the whole
// header: the stored content hashes (and synthesized Message-IDs) must not
// change.
func contentHashReference(raw []byte) string {
	s := sha256.New()
	h, body, _, ok := splitHeader(raw, true)
	if !ok {
		body = raw
	} else {
		for _, name := range hashedFields {
			for _, v := range h.all(name) {
				s.Write([]byte(strings.ToLower(name)))
				s.Write([]byte{':'})
				s.Write([]byte(strings.Join(strings.Fields(v), " ")))
				s.Write([]byte{'\n'})
			}
		}
	}
	s.Write([]byte{'\n'})
	body = bytes.TrimRight(body, " \t\r\n")
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\r')
		if i < 0 {
			s.Write(body)
			break
		}
		s.Write(body[:i])
		if i+1 < len(body) && body[i+1] == '\n' {
			body = body[i+1:]
		} else {
			s.Write([]byte{'\n'})
			body = body[i+1:]
		}
	}
	return hex.EncodeToString(s.Sum(nil))
}

func TestAppendCollapsed(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", " ", "a", "  a  b\t\tc ", "\u00a0x\u0085y\u2003", "bad\xff \xc3 z", "\v\f\r\n", "é  ü"} {
		if got, want := string(appendCollapsed([]byte("k:"), in)), "k:"+strings.Join(strings.Fields(in), " "); got != want {
			t.Errorf("appendCollapsed(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContentHashUnchanged(t *testing.T) {
	t.Parallel()
	inputs := []string{
		"From: a@x\nSubject:  \t lots   of\u00a0space \u0085 and\xff bad \n\t folded\nSUBJECT: again\nmessage-id: <m@x>\n\nbody \r\nline\r",
		"From x Sat Jan 17\nFrom: a@x\njunk line\nTo: b@x\nDate: now\n\nbody",
		"Subject: no blank line\nbody text here\n",
		"From: a@x\nSubject: s\n \n folded after a white line\nDate: d\n\nbody",
		"From: a@x\n: empty name\nSubject: s\n\nbody",
		"From: a@x\r\nSubject: \u00a0x\r\n \u00a0\r\n\v\r\n\r\nbody",
		"From x\nFrom: a@x\nSubject: mbox\n\nbody",
		"Subject: only a header",
		" not a message",
		"",
	}
	for _, path := range corpus(t) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(raw))
	}
	for _, in := range inputs {
		want := contentHashReference([]byte(in))
		if got := ContentHash([]byte(in)); got != want {
			t.Errorf("ContentHash(%.60q) = %s, want %s as before", in, got, want)
		}
		// Parse hashes the header go-message read, where it is the same.
		if m, err := Parse([]byte(in), Options{}); err == nil && m.ContentHash != want {
			t.Errorf("Parse(%.60q).ContentHash = %s, want %s as before", in, m.ContentHash, want)
		}
	}
}
