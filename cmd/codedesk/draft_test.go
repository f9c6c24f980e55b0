package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDraftCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "codedesk.db")
	var out, errb bytes.Buffer
	args := append([]string{"codes", "import", "--database-url", dbPath}, fixtureCodeSets...)
	if code := run(ctx, args, stdio{In: strings.NewReader(""), Out: &out, Err: &errb}); code != 0 {
		t.Fatalf("codes import exit %d: %s", code, errb.String())
	}
	tests := []struct {
		name      string
		in        string
		wantKind  string
		wantCodes []string
		wantWarn  string
		ignored   bool
	}{
		{"question", "From: Dana <coder@clinic.test>\r\nSubject: dx\r\nMessage-ID: <a@b>\r\n\r\nWhat is e1122? And K0001.\r\n",
			"code_lookup", []string{"E11.22", "K0001"}, "", false},
		{"auto-reply", "From: coder@clinic.test\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\nAway.\r\n",
			"not_a_question", nil, "", true},
		{"not a message", "\x00\x01\x02 garbage", "other", nil, "could not be read", false},
		{"empty", "", "other", nil, "could not be read", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(ctx, []string{"draft", "--json", "--log-level", "warn", "--database-url", dbPath},
				stdio{In: strings.NewReader(tc.in), Out: &out, Err: &errb})
			if code != 0 {
				t.Fatalf("draft exit %d: %s", code, errb.String())
			}
			var got draftJSON
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out.String())
			}
			if got.Kind != tc.wantKind {
				t.Errorf("kind = %q, want %q", got.Kind, tc.wantKind)
			}
			var codes []string
			for _, c := range got.Codes {
				codes = append(codes, c.Code)
				if c.Description == "" || c.Role != "asked" {
					t.Errorf("code %+v lacks description or role", c)
				}
			}
			if strings.Join(codes, ",") != strings.Join(tc.wantCodes, ",") {
				t.Errorf("codes = %v, want %v", codes, tc.wantCodes)
			}
			if tc.wantWarn != "" && !strings.Contains(strings.Join(got.Warnings, " "), tc.wantWarn) {
				t.Errorf("warnings = %v, want one containing %q", got.Warnings, tc.wantWarn)
			}
			if tc.ignored != (got.IgnoredReason != "") {
				t.Errorf("ignored_reason = %q", got.IgnoredReason)
			}
			if tc.wantKind == "code_lookup" && !strings.Contains(got.ReplyText, "Standard wheelchair") {
				t.Errorf("reply_text lacks the descriptor:\n%s", got.ReplyText)
			}
		})
	}
}

// TestDraftForwardedQuestion answers the question of a message forwarded
// as an attachment (message/rfc822), not the covering note.
func TestDraftForwardedQuestion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "codedesk.db")
	var out, errb bytes.Buffer
	args := append([]string{"codes", "import", "--database-url", dbPath}, fixtureCodeSets...)
	if code := run(ctx, args, stdio{In: strings.NewReader(""), Out: &out, Err: &errb}); code != 0 {
		t.Fatalf("codes import exit %d: %s", code, errb.String())
	}
	raw := []byte(strings.ReplaceAll(`From: Kim Office <kim@clinic.test>
To: desk@codedesk.test
Subject: Fwd: question
Message-ID: <fwd-1@clinic.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Please answer the question below from Dr. Synthetic.

Kim
--b1
Content-Type: message/rfc822

From: Dr Synthetic <doc@clinic.test>
Subject: wheelchair
Message-ID: <inner-1@clinic.test>
Content-Type: text/plain; charset=utf-8

What is K0001 and is it billable?
--b1--
`, "\n", "\r\n"))
	out.Reset()
	if code := run(ctx, []string{"draft", "--json", "--log-level", "warn", "--database-url", dbPath}, stdio{In: bytes.NewReader(raw), Out: &out, Err: &errb}); code != 0 {
		t.Fatalf("draft exit %d: %s", code, errb.String())
	}
	var got draftJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	var codes []string
	for _, c := range got.Codes {
		codes = append(codes, c.Code)
	}
	if got.Kind != "code_lookup" || !slices.Contains(codes, "K0001") {
		t.Errorf("draft of a forwarded question: kind %q codes %v, want code_lookup of K0001 from the forwarded message", got.Kind, codes)
	}
}
