package mailparse

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics, returns either a message or
// ErrNotMessage, and produces valid UTF-8 text within the limits; and that
// ContentHash still hashes as it was first defined.
func FuzzParse(f *testing.F) {
	for _, path := range corpus(f) {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("From: a@b\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\n--x--"))
	f.Add([]byte("From: a@b\nContent-Type: message/rfc822\n\nFrom: c@d\nContent-Type: message/rfc822\n\nFrom: e@f\n\nhi"))
	f.Add([]byte("Subject: =?utf-8?b?=?= =?x?q??=\nFrom: <>\n\n"))
	opts := Options{MaxTextSize: 64 << 10, MaxAttachmentText: 16 << 10, MaxParts: 200, OwnAddresses: []string{"desk@codedesk.test"}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if got, want := ContentHash(raw), contentHashReference(raw); got != want {
			t.Fatalf("ContentHash() = %s, want %s (the hash as first defined)", got, want)
		}
		m, err := Parse(raw, opts)
		if err != nil {
			if !errors.Is(err, ErrNotMessage) {
				t.Fatalf("Parse() error = %v, want nil or ErrNotMessage", err)
			}
			return
		}
		if want := contentHashReference(raw); m.ContentHash != want {
			t.Fatalf("Parse() ContentHash = %s, want %s (the hash as first defined)", m.ContentHash, want)
		}
		if m.MessageID == "" {
			t.Fatal("Parse() MessageID is empty, want a real or synthesized ID")
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) || !utf8.ValidString(m.HTML) {
			t.Fatal("Parse() produced invalid UTF-8")
		}
		if len(m.Text) > opts.MaxTextSize || len(m.HTML) > opts.MaxTextSize {
			t.Fatalf("len(Text) = %d, len(HTML) = %d, want ≤ %d", len(m.Text), len(m.HTML), opts.MaxTextSize)
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("json.Marshal(message) error = %v", err)
		}
		NewText(m.Text)
	})
}

// FuzzNewText checks that NewText never panics and never loses a line.
func FuzzNewText(f *testing.F) {
	for _, path := range corpus(f) {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if m, err := Parse(raw, Options{}); err == nil {
			f.Add(m.Text)
		}
	}
	f.Add("a\n> b\nOn x wrote:\n> c\n-- \nsig")
	f.Fuzz(func(t *testing.T, body string) {
		q, quoted, sig := NewText(body)
		if len(body) > maxNewTextInput {
			return
		}
		all := q + "\n" + quoted + "\n" + sig
		for _, l := range strings.Split(clean(body), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.Contains(all, l) {
				t.Fatalf("NewText() lost line %q", l)
			}
		}
	})
}
