package search

// The Alphabetic Index's "see" references ("Chickenpox — see Varicella",
// "Attack, heart — see Infarct, myocardium") are the code set's own
// synonyms. Resolving each target to the code at its end and feeding
// "Chickenpox" as an index document of B01.9 lets lay words reach codes
// through official data instead of a hand-written lexicon. The KB's feed
// does this (codes.SearchDocs); the test loader does the same here, and
// TestSeeReferences measures what it adds.

import (
	"encoding/xml"
	"io"
	"os"
	"strings"
	"testing"
)

type indexNode struct {
	title    string // as printed, nonessential modifiers in parentheses
	key      string // lower case, without modifiers: what a "see" target names
	code     string
	see      string
	children []*indexNode
}

// readIndexTree reads the Alphabetic Index XML into main-term trees.
func readIndexTree(path string) ([]*indexNode, error) {
	r, err := openMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	dec := xml.NewDecoder(r)
	var roots, stack []*indexNode
	var text, plain strings.Builder
	field, inNemod := "", false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return roots, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "mainTerm", "term":
				n := &indexNode{}
				if len(stack) == 0 {
					roots = append(roots, n)
				} else {
					p := stack[len(stack)-1]
					p.children = append(p.children, n)
				}
				stack = append(stack, n)
			case "title", "code", "see":
				if len(stack) > 0 {
					field = t.Name.Local
					text.Reset()
					plain.Reset()
				}
			case "nemod":
				inNemod = true
				text.WriteString(" ")
			}
		case xml.CharData:
			if field != "" {
				text.Write(t)
				if !inNemod {
					plain.Write(t)
				}
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "mainTerm", "term":
				stack = stack[:len(stack)-1]
			case "nemod":
				inNemod = false
				text.WriteString(" ")
			case "title", "code", "see":
				if field == "" {
					break
				}
				n := stack[len(stack)-1]
				v := strings.Join(strings.Fields(text.String()), " ")
				switch field {
				case "title":
					n.title = v
					n.key = strings.ToLower(strings.Join(strings.Fields(plain.String()), " "))
				case "code":
					n.code = v
				case "see":
					n.see = v
				}
				field = ""
			}
		}
	}
}

// resolveSee follows a "see" target ("Infarct, myocardium") down the
// trees: the first part names a main term, each next part a subterm; a part
// names a term whose title, without nonessential modifiers, is the part or
// starts with it and a comma or space ("Infarct" → "Infarct, infarction").
// It returns the code at the end, or "" when the target is an instruction
// ("by site", "Table of Drugs") or leads to no code.
func resolveSee(roots []*indexNode, target string) string {
	level := roots
	var n *indexNode
	for _, p := range strings.Split(strings.ToLower(target), ",") {
		p = strings.TrimSpace(p)
		if p == "" || strings.Contains(p, "by site") || strings.HasPrefix(p, "table of") {
			return ""
		}
		n = findTerm(level, p)
		if n == nil {
			return ""
		}
		level = n.children
	}
	if n == nil {
		return ""
	}
	return strings.TrimRight(n.code, "-.")
}

// findTerm returns the term of level that part names, preferring an exact
// title.
func findTerm(level []*indexNode, part string) *indexNode {
	for _, c := range level {
		if c.key == part {
			return c
		}
	}
	for _, c := range level {
		if strings.HasPrefix(c.key, part+",") || strings.HasPrefix(c.key, part+" ") {
			return c
		}
	}
	return nil
}

// seeDocs turns every resolvable "see" reference into an index document.
func seeDocs(roots []*indexNode, billable map[string]bool) []Doc {
	var out []Doc
	var walk func(path []string, n *indexNode)
	walk = func(path []string, n *indexNode) {
		path = append(path, n.title)
		if n.see != "" {
			if code := resolveSee(roots, n.see); code != "" {
				if b, ok := billable[code]; ok {
					out = append(out, Doc{System: "icd10cm", Code: code, Text: strings.Join(path, " "), Field: FieldIndex,
						Evidence: "Index: " + strings.Join(path, " > ") + " → see " + n.see + " → " + code, Billable: b})
				}
			}
		}
		for _, c := range n.children {
			walk(path, c)
		}
	}
	for _, r := range roots {
		walk(nil, r)
	}
	return out
}

func TestSeeReferences(t *testing.T) {
	if os.Getenv("CODEDESK_SEARCH_SEE") == "" {
		t.Skip("an experiment for the KB feed; set CODEDESK_SEARCH_SEE=1 to run it")
	}
	with, c := loadSharedIndex(t)
	var plain []Doc
	for _, d := range c.docs {
		if !strings.Contains(d.Evidence, "→ see ") {
			plain = append(plain, d)
		}
	}
	t.Logf("%d see references resolved to a code", len(c.docs)-len(plain))
	without := Build(plain)
	for _, f := range []string{"testdata/lay_phrasings.tsv", "testdata/lay_phrasings_heldout.tsv", "testdata/lay_phrasings_heldout2.tsv"} {
		cases := readLayFile(t, f)
		t.Logf("%s: without %v; with see references %v", f, layAccuracy(without, cases), layAccuracy(with, cases))
	}
	t.Logf("icd10cm official (every 20th): without %v; with see references %v",
		officialAccuracy(without, c.evals, "icd10cm", 20), officialAccuracy(with, c.evals, "icd10cm", 20))
}
