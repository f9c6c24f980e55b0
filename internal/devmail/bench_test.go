package devmail

import (
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// benchMessage is a typical 1 kB question.
var benchMessage = "From: coder@clinic.test\r\nTo: desk@codedesk.test\r\nSubject: Is E11.9 billable?\r\n" +
	"Message-ID: <bench@clinic.test>\r\n\r\n" + strings.Repeat("Synthetic question text for a benchmark.\r\n", 22)

func benchServer(b *testing.B) *Server {
	b.Helper()
	s, err := Start(b.Context(), Config{IMAPAddr: "127.0.0.1:0", SMTPAddr: "127.0.0.1:0"})
	if err != nil {
		b.Fatalf("Start() error = %v", err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkAppend measures direct delivery (how benchmarks fill the desk).
func BenchmarkAppend(b *testing.B) {
	s := benchServer(b)
	raw := []byte(benchMessage)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if err := s.Append(b.Context(), "desk@codedesk.test", Inbox, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSMTPDelivery measures one message per SMTP transaction over one
// connection, from MAIL FROM to the 250 after DATA.
func BenchmarkSMTPDelivery(b *testing.B) {
	s := benchServer(b)
	c, err := smtp.Dial(s.SMTPAddr())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.SetBytes(int64(len(benchMessage)))
	for b.Loop() {
		if err := sendSMTP(c, "coder@clinic.test", []string{"desk@codedesk.test"}, benchMessage); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIDLEPush measures the time from Append to the EXISTS push
// arriving at a client in IDLE.
func BenchmarkIDLEPush(b *testing.B) {
	s := benchServer(b)
	c, exists := idleClient(b, s, "desk@codedesk.test", "desk")
	idle, err := c.Idle()
	if err != nil {
		b.Fatal(err)
	}
	defer idle.Close()
	raw := []byte(benchMessage)
	want := uint32(0)
	for b.Loop() {
		want++
		if err := s.Append(b.Context(), "desk@codedesk.test", Inbox, raw); err != nil {
			b.Fatal(err)
		}
		for n := range exists {
			if n == want {
				break
			}
		}
	}
}
