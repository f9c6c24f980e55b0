// Package reply turns an analysis into the email a consultant would send:
// the answer first, a codes table, the findings that decide it, what to
// verify, the code-set releases used and a short disclaimer — as text/plain
// (text/template) and text/html (html/template) from templates/email.
package reply

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strings"
	texttemplate "text/template"

	"github.com/codedesk/codedesk/internal/analysis"
	"github.com/codedesk/codedesk/templates"
)

// Data is what the reply templates see.
type Data struct {
	CaseID   int64
	Greeting string // e.g. "Hello Dana," — from the sender's display name only
	Result   analysis.Result
	DeskName string // signature, e.g. "codedesk coding desk"
	Reviewed bool   // a person approved it (otherwise it went out automatically)
}

// Rendered is a reply ready to send.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

// Renderer holds the parsed templates; it is safe for concurrent use.
type Renderer struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var systemNames = map[string]string{
	"icd10cm": "ICD-10-CM",
	"pcs":     "ICD-10-PCS",
	"hcpcs":   "HCPCS",
	"cpt":     "CPT",
}

// SystemName is the display name of a code system ("icd10cm" → "ICD-10-CM").
func SystemName(s string) string {
	if n, ok := systemNames[s]; ok {
		return n
	}
	return strings.ToUpper(s)
}

// NewRenderer parses the embedded email templates; it fails when one is
// missing or broken, so a bad template stops start-up rather than a send.
func NewRenderer() (*Renderer, error) {
	funcs := map[string]any{
		"system": SystemName,
		"wrap":   wrap,
		"codestable": func(codes []analysis.Code) string {
			return textTable(codes)
		},
	}
	tt, err := texttemplate.New("reply.txt.tmpl").Funcs(funcs).ParseFS(templates.FS, "email/reply.txt.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parsing text reply template: %w", err)
	}
	ht, err := htmltemplate.New("reply.html.tmpl").Funcs(funcs).ParseFS(templates.FS, "email/reply.html.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parsing html reply template: %w", err)
	}
	return &Renderer{text: tt, html: ht}, nil
}

// Render produces the reply's bodies. The subject is set by Subject.
func (r *Renderer) Render(d Data) (Rendered, error) {
	if d.DeskName == "" {
		d.DeskName = "codedesk coding desk"
	}
	if d.Greeting == "" {
		d.Greeting = "Hello,"
	}
	var tb, hb bytes.Buffer
	if err := r.text.Execute(&tb, d); err != nil {
		return Rendered{}, fmt.Errorf("rendering text reply: %w", err)
	}
	if err := r.html.Execute(&hb, d); err != nil {
		return Rendered{}, fmt.Errorf("rendering html reply: %w", err)
	}
	return Rendered{Text: tidy(tb.String()), HTML: hb.String()}, nil
}

var (
	rePrefix  = regexp.MustCompile(`(?i)^\s*((re|aw|sv|fw|fwd|wg)\s*(\[\d+\])?\s*:\s*)+`)
	reCaseTag = regexp.MustCompile(`\s*\[Case #\d+\]`)
)

// Subject is "Re: <original subject> [Case #N]", without piling up "Re:"
// prefixes or case tags from earlier replies; without a case (0) the tag is
// left out.
func Subject(original string, caseID int64) string {
	s := strings.TrimSpace(reCaseTag.ReplaceAllString(original, ""))
	s = strings.TrimSpace(rePrefix.ReplaceAllString(s, ""))
	if s == "" {
		s = "Your coding question"
	}
	if caseID == 0 {
		return "Re: " + s
	}
	return fmt.Sprintf("Re: %s [Case #%d]", s, caseID)
}

// Greeting builds "Hello <first name>," from a display name, or "Hello,".
func Greeting(displayName string) string {
	name := strings.TrimSpace(strings.Trim(displayName, `"'`))
	if name == "" || strings.Contains(name, "@") {
		return "Hello,"
	}
	if _, first, ok := strings.Cut(name, ","); ok && strings.TrimSpace(first) != "" {
		name = strings.TrimSpace(first) // "Doe, Jane"
	}
	words := strings.Fields(name)
	// "Dr. Lee", "Ms Jane Doe": a title goes with the last name.
	switch strings.ToLower(strings.TrimSuffix(words[0], ".")) {
	case "dr", "mr", "mrs", "ms", "mx", "prof":
		if len(words) > 1 {
			return "Hello " + words[0] + " " + words[len(words)-1] + ","
		}
	}
	return "Hello " + words[0] + ","
}

// tidy collapses runs of blank lines left by optional template sections.
func tidy(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var out []string
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}

// wrap breaks text into lines of at most width runes, each after the first
// indented by indent spaces.
func wrap(width, indent int, text string) string {
	words := strings.Fields(text)
	var b strings.Builder
	col := 0
	for _, w := range words {
		n := len([]rune(w))
		if col > 0 && col+1+n > width {
			b.WriteString("\n")
			b.WriteString(strings.Repeat(" ", indent))
			col = 0
		} else if col > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += n
	}
	return b.String()
}

// textTable lays the codes out in fixed-width columns for text/plain: code,
// system and role, then the description (wrapped) and notes beneath it.
func textTable(codes []analysis.Code) string {
	const (
		wCode   = 9
		wSystem = 11
		wRole   = 12
		wDesc   = 46
	)
	indent := wCode + wSystem + wRole
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s%-*s%-*s%s\n", wCode, "Code", wSystem, "System", wRole, "Role", "Description")
	fmt.Fprintf(&b, "%-*s%-*s%-*s%s\n", wCode, strings.Repeat("-", wCode-2), wSystem, strings.Repeat("-", wSystem-2),
		wRole, strings.Repeat("-", wRole-2), strings.Repeat("-", wDesc))
	for _, c := range codes {
		desc := c.Description
		if desc == "" {
			desc = "(no descriptor available)"
		}
		fmt.Fprintf(&b, "%-*s%-*s%-*s%s\n", wCode, c.Code, wSystem, SystemName(c.System), wRole, c.Role,
			wrap(wDesc, indent, desc))
		if c.Notes != "" {
			fmt.Fprintf(&b, "%s%s\n", strings.Repeat(" ", indent), wrap(wDesc, indent, "Note: "+c.Notes))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
