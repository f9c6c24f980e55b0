package chaos

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// question is one synthetic email the harness delivers.
type question struct {
	ID     string // Message-ID without angle brackets
	From   string
	Desk   string // the dovecot user whose INBOX gets it
	Reject bool   // from a recipient the sink answers 550 for
	Raw    []byte
}

// Synthetic coding questions the fixture code sets (internal/codes/testdata)
// can answer: lookups, pairs and short narratives in the style of
// testdata/eval. No real patient is behind any of them.
var questionTemplates = []string{
	"What is %[1]s? Is it billable?",
	"Is %[1]s billable, or do I need a more specific code?",
	"Can %[1]s be reported together with %[2]s on the same claim?",
	"Quick check on %[1]s please, and the code %[2]s.",
	"Need the long description for %[1]s and %[2]s.",
	"Patient with type 2 diabetes and diabetic chronic kidney disease, stage 3. Is E11.22 right with N18.30?",
	"Need the HCPCS for a standard wheelchair, K0001, and the descriptor of J2405.",
	"Ambulance transport, advanced life support, non-emergency: is A0426 the right HCPCS code?",
	"Age-related osteoporosis with a current pathological vertebral fracture, initial encounter: M80.08XA or M80.08XD?",
	"STEMI involving the left main coronary artery: is I21.01 billable?",
	"Diffuse large B-cell lymphoma, unspecified site: C83.30. And in remission, C83.3A?",
	"Routine venipuncture G0001 with a COVID-19 exposure Z20.822: fine to bill together?",
	"Type 2 diabetes without complications, E11.9 — billable as is?",
	"Chronic kidney disease, unspecified (N18.9) vs stage 3 unspecified (N18.30): which one when the stage is not documented?",
}

var questionCodes = []string{"E11.22", "K0001", "N18.30", "I21.01", "M80.08XA", "J2405", "E11.9",
	"Z20.822", "C83.30", "A0426", "G0001", "E11.21", "I21.02", "N18.9", "C81.0A", "A4221"}

// makeQuestion builds question i: a unique Message-ID and sender, a
// subject and a body drawn from the templates.
func makeQuestion(rng *rand.Rand, run string, i int, desk, deskAddr, from string) question {
	id := fmt.Sprintf("chaos-%s-%d@clinic.test", run, i)
	t := questionTemplates[rng.IntN(len(questionTemplates))]
	a := questionCodes[rng.IntN(len(questionCodes))]
	b := questionCodes[rng.IntN(len(questionCodes))]
	body := t
	if strings.Contains(t, "%[") {
		if strings.Contains(t, "%[2]") {
			body = fmt.Sprintf(t, a, b)
		} else {
			body = fmt.Sprintf(t, a)
		}
	}
	names := []string{"Dana", "Robin", "Sam", "Alex", "Kim", "Jo"}
	name := names[rng.IntN(len(names))]
	raw := fmt.Sprintf("From: %s Coder <%s>\nTo: %s\nSubject: Coding question %d\nMessage-ID: <%s>\nDate: %s\n"+
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nHello,\n\n%s\n\nThanks,\n%s\n",
		name, from, deskAddr, i, id, time.Now().Format(time.RFC1123Z), body, name)
	return question{ID: id, From: from, Desk: desk, Raw: []byte(strings.ReplaceAll(raw, "\n", "\r\n"))}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0xc0de)) }
