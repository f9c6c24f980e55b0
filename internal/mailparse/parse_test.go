package mailparse

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crlf turns an inline test message into wire format.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func parseFile(t *testing.T, name string, opts Options) *Message {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(raw, opts)
	if err != nil {
		t.Fatalf("Parse(%s) error = %v, want nil", name, err)
	}
	return m
}

// TestCorpusExpectations states, independently of the golden files, what
// matters about each corpus message.
func TestCorpusExpectations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file         string
		kind         string // Auto.Kind
		originalID   string // Auto.OriginalMessageID
		textContains string
		subject      string
		problem      string // substring of one of Problems
	}{
		{file: "plain_reply_gmail.eml", textContains: "modifier 25", subject: "Re: Modifier 25 with 99213 and 20610 [Case #41]"},
		{file: "alternative_text_html.eml", textContains: "N18.31 required in addition to E11.22"},
		{file: "html_only_outlook_1252.eml", textContains: "“units exceed MUE”"},
		{file: "charset_latin1_qp.eml", textContains: "Grüße! Welcher Code gilt für", subject: "Frage zu Kodierung für Knie"},
		{file: "charset_windows1252_8bit.eml", textContains: "“Excludes1” – is that right? Fee: €0.", subject: "“Excludes1” conflict – R10.9 and K35.80"},
		{file: "charset_iso2022jp.eml", textContains: "E11.9 のコードについて質問があります。", subject: "コードの質問"},
		{file: "charset_iso2022jp_nolabel.eml", textContains: "お世話になっております。"},
		{file: "charset_unknown_label.eml", textContains: "Olá, qual é o código", problem: "unknown charset x-foo-bar; decoded as windows-1252"},
		{file: "charset_iso8859_2.eml", textContains: "złamania łokcia", subject: "Pytanie o kod Łokieć"},
		{file: "forwarded_rfc822.eml", textContains: "Please answer the question below"},
		{file: "forwarded_inline.eml", textContains: "E0143?"},
		{file: "bounce_postfix.eml", kind: KindBounce, originalID: "desk.reply.7007@codedesk.test"},
		{file: "bounce_exchange.eml", kind: KindBounce, originalID: "desk.reply.8008@codedesk.test"},
		{file: "bounce_gmail.eml", kind: KindBounce, originalID: "desk.reply.9009@codedesk.test"},
		{file: "bounce_qmail.eml", kind: KindBounce, originalID: "desk.reply.1010@codedesk.test"},
		{file: "bounce_exim.eml", kind: KindBounce, originalID: "desk.reply.1111@codedesk.test"},
		{file: "vacation_gmail.eml", kind: KindAutoReply},
		{file: "vacation_exchange.eml", kind: KindAutoReply},
		{file: "vacation_sieve.eml", kind: KindAutoReply},
		{file: "vacation_unix_precedence_junk.eml", kind: KindAutoReply},
		{file: "vacation_cpanel_autorespond.eml", kind: KindAutoReply},
		{file: "vacation_lotus_subject.eml", kind: KindAutoReply},
		{file: "list_mailman.eml", kind: KindList},
		{file: "newsletter_bulk.eml", kind: KindBulk, textContains: "Read our article <https://codingnews.example/a1>."},
		{file: "noreply_sender.eml", kind: KindNoReply},
		{file: "no_message_id.eml", textContains: "99417"},
		{file: "encoded_subjects.eml", subject: "¿Código para diabetes tipo 2 con neuropatía? (E11.40)"},
		{file: "broken_base64.eml", textContains: "left knee arthroplasty (27447). Can 20610 be billed too?", problem: "broken base64"},
		{file: "broken_qp.eml", textContains: "100%=ZZ and 50% for the second (soft break) and café", problem: "broken quoted-printable"},
		{file: "attachments.eml", textContains: "against the MUEs"},
		{file: "duplicate_headers.eml", subject: "First subject: 99203 or 99213?", problem: "2 Subject fields; used the first"},
		{file: "header_no_blank_line.eml", textContains: "flu shot, 90686?", problem: "not ended by a blank line"},
		{file: "multipart_unclosed.eml", textContains: "Is 36415 bundled with 80053?", problem: "not closed"},
		{file: "multipart_no_boundary_param.eml", textContains: "is 93000 payable with 99214?", problem: "without a boundary"},
		{file: "related_inline_image.eml", textContains: "What does modifier JW mean for J9035?"},
		{file: "own_address.eml", kind: KindOwn},
		{file: "outlook_plain_reply.eml", textContains: "So I11.9 replaces I10"},
		{file: "lf_only_multipart.eml", textContains: "S82.101?"},
		{file: "mbox_from_line.eml", subject: "starts with an mbox separator"},
		{file: "empty_return_path.eml", kind: KindAutoReply},
		{file: "signed_alternative.eml", textContains: "Can 96372 be billed twice"},
		{file: "interleaved_reply.eml", textContains: "Medicare Part B."},
		{file: "digest_and_bad_date.eml", problem: "unreadable Date"},
		{file: "header_only_truncated.eml", subject: "Very large scan attached", problem: "with no parts"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			m := parseFile(t, tc.file, corpusOptions)
			if m.Auto.Kind != tc.kind {
				t.Errorf("Auto.Kind = %q (%s), want %q", m.Auto.Kind, m.Auto.Reason, tc.kind)
			}
			if m.Auto.OriginalMessageID != tc.originalID {
				t.Errorf("Auto.OriginalMessageID = %q, want %q", m.Auto.OriginalMessageID, tc.originalID)
			}
			if tc.textContains != "" && !strings.Contains(m.Text, tc.textContains) {
				t.Errorf("Text = %q, want it to contain %q", m.Text, tc.textContains)
			}
			if tc.subject != "" && m.Subject != tc.subject {
				t.Errorf("Subject = %q, want %q", m.Subject, tc.subject)
			}
			if tc.problem != "" && !hasProblem(m, tc.problem) {
				t.Errorf("Problems = %q, want one containing %q", m.Problems, tc.problem)
			}
			if m.Auto.Kind != "" && m.Auto.Reason == "" {
				t.Errorf("Auto.Reason is empty for kind %q", m.Auto.Kind)
			}
		})
	}
	// Every corpus file is covered by the table.
	covered := map[string]bool{}
	for _, tc := range tests {
		covered[tc.file] = true
	}
	for _, path := range corpus(t) {
		if !covered[filepath.Base(path)] {
			t.Errorf("corpus file %s has no expectations in TestCorpusExpectations", filepath.Base(path))
		}
	}
}

func hasProblem(m *Message, sub string) bool {
	for _, p := range m.Problems {
		if strings.Contains(p, sub) {
			return true
		}
	}
	return false
}

func TestParseThreading(t *testing.T) {
	t.Parallel()
	m := parseFile(t, "plain_reply_gmail.eml", Options{})
	if m.MessageID != "CAF1a2b3c4d5e6@mail.clinic.example" || m.MessageIDSynthesized {
		t.Errorf("MessageID = %q (synthesized %v), want CAF1a2b3c4d5e6@mail.clinic.example", m.MessageID, m.MessageIDSynthesized)
	}
	if m.InReplyTo != "desk.reply.1001@codedesk.test" {
		t.Errorf("InReplyTo = %q, want desk.reply.1001@codedesk.test", m.InReplyTo)
	}
	want := []string{"CAF0first@mail.clinic.example", "desk.reply.1001@codedesk.test"}
	if strings.Join(m.References, " ") != strings.Join(want, " ") {
		t.Errorf("References = %q, want %q", m.References, want)
	}
	if m.From != (Address{Name: "Jane Coder", Addr: "jane.coder@clinic.example"}) {
		t.Errorf("From = %+v, want Jane Coder <jane.coder@clinic.example>", m.From)
	}
	if !m.HasReturnPath || m.ReturnPath != "jane.coder@clinic.example" {
		t.Errorf("ReturnPath = %q (present %v), want jane.coder@clinic.example", m.ReturnPath, m.HasReturnPath)
	}
	wantDate := time.Date(2026, 1, 5, 14, 59, 58, 0, time.UTC)
	if !m.Date.Equal(wantDate) {
		t.Errorf("Date = %v, want %v", m.Date, wantDate)
	}
}

func TestParseForwardedAndDigest(t *testing.T) {
	t.Parallel()
	m := parseFile(t, "forwarded_rfc822.eml", Options{})
	if len(m.Forwarded) != 1 {
		t.Fatalf("len(Forwarded) = %d, want 1", len(m.Forwarded))
	}
	f := m.Forwarded[0]
	if f.MessageID != "inner-question@clinic.example" || !strings.Contains(f.Text, "20610 with 27447") {
		t.Errorf("Forwarded[0] = %q / %q, want inner-question@clinic.example with the surgeon's question", f.MessageID, f.Text)
	}
	d := parseFile(t, "digest_and_bad_date.eml", Options{})
	if len(d.Forwarded) != 2 || d.Forwarded[1].MessageID != "dg-b@clinic.example" {
		t.Errorf("digest Forwarded = %d messages, want 2 (RFC 2046 5.1.5 default message/rfc822)", len(d.Forwarded))
	}
	if !d.Date.IsZero() {
		t.Errorf("Date = %v, want zero for an unreadable Date", d.Date)
	}
}

func TestParseAttachments(t *testing.T) {
	t.Parallel()
	m := parseFile(t, "attachments.eml", Options{})
	want := []struct {
		name      string
		generated bool
		ct        string
		text      string
	}{
		{"claim_lines.csv", false, "application/vnd.ms-excel", "99213,1,2026-01-05"},
		{"op-note.pdf", false, "application/pdf", ""},
		{"notiz.txt", false, "text/plain", "Patientin (synthetisch) – Kontrolle"},
		{"Befund_ärztlich.pdf", false, "application/pdf", ""}, // RFC 2231, ISO-8859-1
		{"文書_part2.pdf", false, "application/pdf", ""},        // RFC 2231 continuation
		{"Übersicht.png", false, "image/png", ""},             // RFC 2047 in quotes
		{"attachment-8.bin", true, "application/octet-stream", ""},
		{"evil2.pdf", false, "application/pdf", ""}, // path stripped
	}
	if len(m.Attachments) != len(want) {
		t.Fatalf("len(Attachments) = %d, want %d: %+v", len(m.Attachments), len(want), m.Attachments)
	}
	for i, w := range want {
		a := m.Attachments[i]
		if a.Name != w.name || a.NameGenerated != w.generated || a.ContentType != w.ct {
			t.Errorf("Attachments[%d] = %q (generated %v, %s), want %q (generated %v, %s)", i, a.Name, a.NameGenerated, a.ContentType, w.name, w.generated, w.ct)
		}
		if w.text != "" && !strings.Contains(a.Text, w.text) {
			t.Errorf("Attachments[%d].Text = %q, want it to contain %q", i, a.Text, w.text)
		}
		if w.text == "" && a.Text != "" {
			t.Errorf("Attachments[%d].Text = %q, want no text for a binary attachment", i, a.Text)
		}
	}
	if m.Attachments[1].Size != 103 {
		t.Errorf("Attachments[1].Size = %d, want 103 (decoded bytes)", m.Attachments[1].Size)
	}
}

func TestParseNotAMessage(t *testing.T) {
	t.Parallel()
	for name, raw := range map[string]string{
		"empty":          "",
		"blank lines":    "\r\n\r\nhello\r\n",
		"pdf":            "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
		"prose":          "Hello there, this is just text.\nSubject: not really\n",
		"continuation":   " indented first line\r\nFrom: x@y\r\n",
		"unknown fields": "{\"a\": 1}\n",
		"mbox line only": "From someone Sat Jan 17 10:30:00 2026",
	} {
		if m, err := Parse([]byte(raw), Options{}); !errors.Is(err, ErrNotMessage) {
			t.Errorf("Parse(%s) = %v, %v; want ErrNotMessage", name, m, err)
		}
	}
}

func TestParseMaxSize(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("Line of text about 99213.\n", 1000)
	raw := crlf("From: a@clinic.example\nSubject: big\nMessage-ID: <big@x>\n\n" + body)
	m, err := Parse(raw, Options{MaxSize: 4096})
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	if !m.Truncated || m.Size != int64(len(raw)) {
		t.Errorf("Truncated = %v, Size = %d; want true, %d", m.Truncated, m.Size, len(raw))
	}
	if len(m.Text) > 4096 || !strings.HasPrefix(m.Text, "Line of text") {
		t.Errorf("len(Text) = %d, want the first part of the body within 4096 bytes", len(m.Text))
	}
	if !hasProblem(m, "only the first 4096") {
		t.Errorf("Problems = %q, want the truncation reported", m.Problems)
	}

	// Text and attachment text limits.
	att := "From: a@clinic.example\nSubject: s\nMessage-ID: <lim@x>\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\n" +
		strings.Repeat("é", 3000) + "\n--b\nContent-Type: text/csv; name=a.csv\n\n" + strings.Repeat("1,2\n", 1000) + "\n--b--\n"
	m, err = Parse(crlf(att), Options{MaxTextSize: 1001, MaxAttachmentText: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Text) > 1001 || !strings.HasSuffix(m.Text, "é") {
		t.Errorf("len(Text) = %d ending %q, want ≤1001 bytes cut on a character boundary", len(m.Text), m.Text[len(m.Text)-2:])
	}
	if a := m.Attachments[0]; !a.TextTruncated || len(a.Text) > 100 || a.Size != 5000 {
		t.Errorf("attachment text %d bytes (truncated %v, size %d), want ≤100 bytes, truncated, size 5000", len(a.Text), a.TextTruncated, a.Size)
	}
}

func TestParseMaxParts(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("From: a@clinic.example\nSubject: many\nMessage-ID: <many@x>\nContent-Type: multipart/mixed; boundary=b\n\n")
	for i := 0; i < 50; i++ {
		b.WriteString("--b\nContent-Type: application/octet-stream\n\nAAAA\n")
	}
	b.WriteString("--b--\n")
	m, err := Parse(crlf(b.String()), Options{MaxParts: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 9 || !hasProblem(m, "more than 10 MIME parts") {
		t.Errorf("len(Attachments) = %d, Problems = %q; want 9 (10 parts with the root) and a problem", len(m.Attachments), m.Problems)
	}
}

func TestParseDeepNesting(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("From: a@clinic.example\nSubject: deep\nMessage-ID: <deep@x>\n")
	for i := 0; i < 100; i++ {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + itoa(i) + "\n\n--b" + itoa(i) + "\n")
	}
	b.WriteString("\ninnermost\n")
	m, err := Parse(crlf(b.String()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasProblem(m, "nested deeper") {
		t.Errorf("Problems = %q, want the nesting limit reported", m.Problems)
	}
}

func TestSynthesizedMessageIDIsStable(t *testing.T) {
	t.Parallel()
	a := "Return-Path: <sam@clinic.example>\nReceived: from a by b; Thu, 15 Jan 2026 09:00:01 -0800\nDelivered-To: desk@codedesk.test\nX-Spam-Score: 1.0\n" +
		"From: Sam Park <sam@clinic.example>\nTo: desk@codedesk.test\nSubject: no id\nDate: Thu, 15 Jan 2026 09:00:00 -0800\n\nIs 99417 valid?\n"
	// The same message delivered again: other trace fields, LF endings.
	b := "Received: from c by d; Thu, 15 Jan 2026 10:00:00 -0800\nX-Spam-Score: 3.0\n" +
		"From: Sam Park <sam@clinic.example>\nTo: desk@codedesk.test\nSubject: no id\nDate: Thu, 15 Jan 2026 09:00:00 -0800\n\nIs 99417 valid?\n\n"
	ma, err := Parse(crlf(a), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := Parse([]byte(b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !ma.MessageIDSynthesized || ma.MessageID != mb.MessageID {
		t.Errorf("MessageID = %q and %q (synthesized %v), want the same synthesized ID for both deliveries", ma.MessageID, mb.MessageID, ma.MessageIDSynthesized)
	}
	if !strings.HasSuffix(ma.MessageID, "@synthesized.codedesk.invalid") {
		t.Errorf("MessageID = %q, want a synthesized.codedesk.invalid stand-in", ma.MessageID)
	}
	// A different body gives a different ID.
	c := strings.Replace(a, "99417", "99418", 1)
	mc, _ := Parse(crlf(c), Options{})
	if mc.MessageID == ma.MessageID {
		t.Errorf("MessageID = %q for different content, want a different stand-in", mc.MessageID)
	}
}

func TestContentHash(t *testing.T) {
	t.Parallel()
	base := "From: a@clinic.example\nTo: desk@codedesk.test\nSubject: s\nDate: Mon, 5 Jan 2026 10:00:00 +0000\nMessage-ID: <h@x>\n\nbody line\n"
	h := ContentHash(crlf(base))
	same := []string{
		"Received: from x\nDelivered-To: desk@codedesk.test\nReturn-Path: <a@clinic.example>\nX-Whatever: 1\n" + base,
		base + "\n\n",
		strings.ReplaceAll(base, "Subject: s", "Subject:   s"),
	}
	for i, s := range same {
		if got := ContentHash([]byte(s)); got != h {
			t.Errorf("ContentHash(variant %d) = %s, want %s (trace fields and line endings do not count)", i, got, h)
		}
	}
	differ := []string{
		strings.Replace(base, "body line", "other line", 1),
		strings.Replace(base, "Subject: s", "Subject: t", 1),
		strings.Replace(base, "<h@x>", "<h2@x>", 1),
		strings.Replace(base, "From: a@", "From: b@", 1),
		strings.Replace(base, "2026", "2025", 1),
	}
	for i, s := range differ {
		if got := ContentHash(crlf(s)); got == h {
			t.Errorf("ContentHash(changed %d) = %s, want a different hash", i, got)
		}
	}
	if len(h) != 64 {
		t.Errorf("len(ContentHash) = %d, want 64 hex digits", len(h))
	}
}

func TestAnswerLists(t *testing.T) {
	t.Parallel()
	m := parseFile(t, "list_mailman.eml", Options{AnswerLists: true})
	if m.Auto.Ignore() {
		t.Errorf("Auto = %+v with AnswerLists, want answerable", m.Auto)
	}
}

func TestAutoSubmittedNo(t *testing.T) {
	t.Parallel()
	raw := crlf("From: a@clinic.example\nSubject: q\nMessage-ID: <q@x>\nAuto-Submitted: no\nX-Auto-Response-Suppress: None\n\nIs 99213 ok?\n")
	m, err := Parse(raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Auto.Ignore() {
		t.Errorf("Auto = %+v, want answerable for Auto-Submitted: no", m.Auto)
	}
}

func TestDecodeCharset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      []byte
		label   string
		want    string
		problem string
	}{
		{[]byte("plain"), "", "plain", ""},
		{[]byte("caf\xe9"), "iso-8859-1", "café", ""},
		{[]byte("\x93q\x94"), "ISO-8859-1", "“q”", ""}, // read as windows-1252, like browsers
		{[]byte("caf\xe9"), "utf-8", "café", "invalid utf-8 text; decoded as windows-1252"},
		{[]byte("caf\xe9"), "", "café", "without a charset"},
		{[]byte("caf\xc3\xa9"), "x-unknown", "café", "unknown charset x-unknown; decoded as utf-8"},
		{[]byte("\xef\xbf\xbd"), `"UTF-8"`, "\uFFFD", ""},
		{[]byte("\xc1\xe2"), "windows-1251", "Бв", ""},
		{[]byte("\x1b$B$3\x1b(B"), "iso-2022-jp-2", "こ", ""},
		{[]byte("\x82\xa0"), "shift_jis", "あ", ""},
		{[]byte("\xb0\xa1"), "ks_c_5601-1987", "가", ""},
		{[]byte("a\x00b\r\nc"), "utf-8", "ab\nc", ""},
	}
	for _, tc := range tests {
		got, probs := decodeCharset(tc.in, tc.label)
		if got != tc.want {
			t.Errorf("decodeCharset(%q, %q) = %q, want %q", tc.in, tc.label, got, tc.want)
		}
		joined := strings.Join(probs, "; ")
		if (tc.problem == "") != (joined == "") || !strings.Contains(joined, tc.problem) {
			t.Errorf("decodeCharset(%q, %q) problems = %q, want %q", tc.in, tc.label, joined, tc.problem)
		}
	}
}

func TestDecodeTransfer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cte, in, want, problem string
	}{
		{"base64", "aGVsbG8gd29ybGQ=", "hello world", ""},
		{"BASE64", "aGVs\r\nbG8g d29y\tbGQ", "hello world", ""},
		{"base64", "aGVsbG8*gd29ybGQ=", "hello world", "skipped 1 invalid"},
		{"base64", "aGk=aGk=", "hihi", ""}, // concatenated blocks
		{"base64", "aGk=a", "hi", "incomplete group"},
		{"quoted-printable", "a=3Db=\r\nc\r\n", "a=bc\n", ""},
		{"quoted-printable", "caf=c3=a9 =\n", "café ", ""},
		{"quoted-printable", "100%=ZZ=4", "100%=ZZ=4", "kept 2 invalid"},
		{"quoted-printable", "trailing   \r\nx", "trailing\nx", ""},
		{"x-uuencode", "abc", "abc", "unknown Content-Transfer-Encoding"},
		{"8bit", "\xff", "\xff", ""},
	}
	for _, tc := range tests {
		got, probs := decodeTransfer(tc.cte, []byte(tc.in))
		if string(got) != tc.want {
			t.Errorf("decodeTransfer(%q, %q) = %q, want %q", tc.cte, tc.in, got, tc.want)
		}
		joined := strings.Join(probs, "; ")
		if (tc.problem == "") != (joined == "") || !strings.Contains(joined, tc.problem) {
			t.Errorf("decodeTransfer(%q, %q) problems = %q, want %q", tc.cte, tc.in, joined, tc.problem)
		}
	}
}

func TestParseHeaderFallbacks(t *testing.T) {
	t.Parallel()
	raw := crlf("From: \"Broken <name\" jane@clinic.example,,\nTo: a@x.example; b@y.example\n" +
		"Subject: =?x-nope?Q?caf=E9?= and raw \xe9\nDate: Mon, 05 Jan 2026 10:00 GMT+0100\n" +
		"Message-ID: missing-brackets@clinic.example\nReferences: <a@x> <b@x>, c@x <a@x>\n" +
		"In-Reply-To: (comment) <r@x> <s@x>\n\nbody\n")
	m, err := Parse(raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.From.Addr != "jane@clinic.example" {
		t.Errorf("From = %+v, want jane@clinic.example read leniently", m.From)
	}
	if len(m.To) != 2 || m.To[1].Addr != "b@y.example" {
		t.Errorf("To = %+v, want a@x.example and b@y.example", m.To)
	}
	if m.Subject != "café and raw é" {
		t.Errorf("Subject = %q, want %q", m.Subject, "café and raw é")
	}
	if want := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC); !m.Date.Equal(want) {
		t.Errorf("Date = %v, want %v", m.Date, want)
	}
	if m.MessageID != "missing-brackets@clinic.example" || m.MessageIDSynthesized {
		t.Errorf("MessageID = %q, want missing-brackets@clinic.example", m.MessageID)
	}
	if strings.Join(m.References, " ") != "a@x b@x" {
		t.Errorf("References = %q, want [a@x b@x] (bracketed IDs, duplicates dropped)", m.References)
	}
	if m.InReplyTo != "r@x" {
		t.Errorf("InReplyTo = %q, want r@x", m.InReplyTo)
	}
}

func TestParseReferencesCapped(t *testing.T) {
	t.Parallel()
	var refs []string
	for i := 0; i < 300; i++ {
		refs = append(refs, "<r"+itoa(i)+"@x>")
	}
	raw := crlf("From: a@x.example\nMessage-ID: <m@x>\nReferences: " + strings.Join(refs, "\n ") + "\n\nbody\n")
	m, err := Parse(raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.References) != maxReferences || m.References[0] != "r0@x" || m.References[maxReferences-1] != "r299@x" {
		t.Errorf("References = %d entries [%s … %s], want %d keeping the first and the newest", len(m.References), m.References[0], m.References[len(m.References)-1], maxReferences)
	}
}
