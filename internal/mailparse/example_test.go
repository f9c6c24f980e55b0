package mailparse_test

import (
	"fmt"
	"strings"

	"github.com/codedesk/codedesk/internal/mailparse"
)

func ExampleParse() {
	raw := strings.ReplaceAll(`From: Jane Coder <jane@clinic.example>
To: desk@codedesk.test
Subject: =?utf-8?q?Modifier_25_f=C3=BCr?= 99213
Message-ID: <q1@clinic.example>
Content-Type: text/plain; charset=utf-8

Does 99213 need modifier 25 with 20610?

Thanks,
Jane

On Mon, Jan 5, 2026 at 10:00 AM Coding Desk <desk@codedesk.test> wrote:
> Earlier answer.
`, "\n", "\r\n")
	m, err := mailparse.Parse([]byte(raw), mailparse.Options{OwnAddresses: []string{"desk@codedesk.test"}})
	if err != nil {
		panic(err)
	}
	question, _, signature := mailparse.NewText(m.Text)
	fmt.Println(m.MessageID)
	fmt.Println(m.Subject)
	fmt.Println(m.From.Addr)
	fmt.Printf("question: %q\n", question)
	fmt.Printf("signature: %q\n", signature)
	fmt.Printf("ignore: %v\n", m.Auto.Ignore())
	// Output:
	// q1@clinic.example
	// Modifier 25 für 99213
	// jane@clinic.example
	// question: "Does 99213 need modifier 25 with 20610?"
	// signature: "Thanks,\nJane"
	// ignore: false
}
