package mailparse

import (
	"strings"
	"testing"
)

func TestNewText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                        string
		body                        string
		question, quoted, signature string
	}{
		{
			name:     "plain question",
			body:     "Is 99213 billable with 20610?\n",
			question: "Is 99213 billable with 20610?",
		},
		{
			name:      "gmail attribution wrapped over two lines",
			body:      "Yes, the left knee.\n\nOn Mon, Jan 5, 2026 at 10:00 AM Coding Desk <\ndesk@codedesk.test> wrote:\n> Which knee?\n",
			question:  "Yes, the left knee.",
			quoted:    "On Mon, Jan 5, 2026 at 10:00 AM Coding Desk <\ndesk@codedesk.test> wrote:\n> Which knee?",
			signature: "",
		},
		{
			name:     "german attribution",
			body:     "Welcher Code?\n\nAm 05.01.2026 um 10:00 schrieb Coding Desk <desk@codedesk.test>:\n> Hallo\n",
			question: "Welcher Code?",
			quoted:   "Am 05.01.2026 um 10:00 schrieb Coding Desk <desk@codedesk.test>:\n> Hallo",
		},
		{
			name:     "original message separator",
			body:     "Thanks, that helps.\n\n-----Original Message-----\nFrom: x\nold text\n",
			question: "Thanks, that helps.",
			quoted:   "-----Original Message-----\nFrom: x\nold text",
		},
		{
			name:     "outlook header block after underscores",
			body:     "Is Z79.4 needed?\n\n________________________________\nFrom: Coding Desk <desk@codedesk.test>\nSent: Monday, January 5, 2026 10:00 AM\nTo: Jane <jane@clinic.example>\nSubject: Re: insulin\n\nold\n",
			question: "Is Z79.4 needed?",
			quoted:   "________________________________\nFrom: Coding Desk <desk@codedesk.test>\nSent: Monday, January 5, 2026 10:00 AM\nTo: Jane <jane@clinic.example>\nSubject: Re: insulin\n\nold",
		},
		{
			name:     "a From: line in the question is not a quote",
			body:     "From: the op note, the surgeon did 27447.\nWhich modifier applies?\n",
			question: "From: the op note, the surgeon did 27447.\nWhich modifier applies?",
		},
		{
			name:     "interleaved answers stay new text",
			body:     "Coding Desk wrote:\n> Which payer?\n\nMedicare.\n\n> New patient?\n\nNo, established.\n",
			question: "Medicare.\n\nNo, established.",
			quoted:   "Coding Desk wrote:\n> Which payer?\n> New patient?",
		},
		{
			name:      "rfc 3676 signature delimiter",
			body:      "Which 7th character?\n-- \nJane Coder\nClinic\n",
			question:  "Which 7th character?",
			signature: "-- \nJane Coder\nClinic",
		},
		{
			name:      "sign-off and contact block",
			body:      "Can we bill G2211 with 99214?\n\nKind regards,\nJane Coder, CPC\nCoding Lead\n555-010-2030\n",
			question:  "Can we bill G2211 with 99214?",
			signature: "Kind regards,\nJane Coder, CPC\nCoding Lead\n555-010-2030",
		},
		{
			name:      "mobile footer",
			body:      "Is J1100 per 1 mg?\n\nSent from my iPhone\n",
			question:  "Is J1100 per 1 mg?",
			signature: "Sent from my iPhone",
		},
		{
			name:      "contact block without sign-off",
			body:      "What is the MUE for 96372?\n\nJane Coder | Billing\n555-010-2030 | jane@clinic.example\nwww.clinic.example\n",
			question:  "What is the MUE for 96372?",
			signature: "Jane Coder | Billing\n555-010-2030 | jane@clinic.example\nwww.clinic.example",
		},
		{
			name:     "thanks inside a sentence is not a sign-off",
			body:     "Thanks for the answer about 99213.\nDoes the same apply to 99214?\n",
			question: "Thanks for the answer about 99213.\nDoes the same apply to 99214?",
		},
		{
			name:     "a long tail after thanks is not a signature",
			body:     "Thanks,\nhere is more: the patient had 27447 on the left knee and 20610 on the right knee the same day, is modifier 59 or XS needed for the injection?\n",
			question: "Thanks,\nhere is more: the patient had 27447 on the left knee and 20610 on the right knee the same day, is modifier 59 or XS needed for the injection?",
		},
		{
			name:     "one-word answer is not a name",
			body:     "> Is it Medicare?\n\nYes\n",
			question: "Yes",
			quoted:   "> Is it Medicare?",
		},
		{
			name:   "only quoted",
			body:   "> all quoted\n> text\n",
			quoted: "> all quoted\n> text",
		},
		{
			name:     "CRLF input",
			body:     "Question?\r\n\r\nOn Mon, Jan 5, 2026, Desk wrote:\r\n> old\r\n",
			question: "Question?",
			quoted:   "On Mon, Jan 5, 2026, Desk wrote:\n> old",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q, quoted, sig := NewText(tc.body)
			if q != tc.question {
				t.Errorf("NewText() question = %q, want %q", q, tc.question)
			}
			if quoted != tc.quoted {
				t.Errorf("NewText() quoted = %q, want %q", quoted, tc.quoted)
			}
			if sig != tc.signature {
				t.Errorf("NewText() signature = %q, want %q", sig, tc.signature)
			}
		})
	}
}

func TestNewTextKeepsEverything(t *testing.T) {
	t.Parallel()
	// Every non-blank line of the input ends up in one of the three parts.
	for _, path := range corpus(t) {
		m := parseFile(t, strings.TrimPrefix(path, "testdata/"), Options{})
		q, quoted, sig := NewText(m.Text)
		all := q + "\n" + quoted + "\n" + sig
		for _, l := range strings.Split(m.Text, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.Contains(all, l) {
				t.Errorf("%s: line %q lost by NewText", path, l)
			}
		}
	}
}

func TestHTMLToText(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"paragraphs and breaks", "<p>One<br>two</p><p>three</p>", "One\ntwo\n\nthree"},
		{"inline whitespace", "<div>a   <b>bold</b>\n word</div>", "a bold word"},
		{"entities and nbsp", "<p>5&nbsp;mg &amp; 10&#160;mg &lt;J1100&gt;</p>", "5 mg & 10 mg <J1100>"},
		{"lists", "<ul><li>one</li><li>two</li></ul><ol><li>first</li><li>second</li></ol>", "- one\n- two\n\n1. first\n2. second"},
		{"table", "<table><tr><th>Code</th><th>Desc</th></tr><tr><td>99213</td><td>visit</td></tr></table>", "Code | Desc\n99213 | visit"},
		{"links", `<a href="https://x.example/a">article</a> <a href="mailto:j@x.example">j@x.example</a> <a href="#top">top</a>`, "article <https://x.example/a> j@x.example top"},
		{"blockquote", "<p>new</p><blockquote><p>old</p><p>older</p></blockquote>", "new\n\n> old\n\n> older"},
		{"skipped", "<head><title>T</title><style>p{}</style></head><script>alert(1)</script><p>text</p>", "text"},
		{"pre", "<pre>a\n  b</pre>", "a\n  b"},
		{"broken html", "<p>unclosed <b>bold <i>both</p>after", "unclosed bold both\n\nafter"},
		{"image alt", `<p>see <img src="x.png" alt="chart"> here</p>`, "see [chart] here"},
	}
	for _, tc := range tests {
		if got := HTMLToText(tc.in); got != tc.want {
			t.Errorf("HTMLToText(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
