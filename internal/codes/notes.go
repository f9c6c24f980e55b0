package codes

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/codes/codefile"
)

// Notes holds the ICD-10-CM Tabular List instructions that apply to a
// code: its own and those inherited from its subcategory, category,
// section (block) and chapter, each saying where it is written
// (ICD-10-CM Official Guidelines, section I.A.12–I.A.17 and I.B.7).
type Notes struct {
	// Release is the Tabular List release the notes came from.
	Release string `json:"release,omitempty"`
	// From is the Tabular element the code maps to when the code itself is
	// not listed there (a 7th-character extension, or a code newer than the
	// Tabular release).
	From string `json:"from,omitempty"`

	InclusionTerms    []Note `json:"inclusion_terms,omitempty"`
	Includes          []Note `json:"includes,omitempty"`
	Excludes1         []Note `json:"excludes1,omitempty"`
	Excludes2         []Note `json:"excludes2,omitempty"`
	CodeFirst         []Note `json:"code_first,omitempty"`
	UseAdditionalCode []Note `json:"use_additional_code,omitempty"`
	CodeAlso          []Note `json:"code_also,omitempty"`
	General           []Note `json:"general,omitempty"`
	// SeventhCharacterNote and SeventhCharacters come from the nearest
	// level that defines 7th characters; they apply to every code below it.
	SeventhCharacterNote []Note        `json:"seventh_character_note,omitempty"`
	SeventhCharacters    []SeventhChar `json:"seventh_characters,omitempty"`
}

// Note is one instruction, with the level it is written at ("E11",
// "E08-E13" for a block, "Chapter 4").
type Note struct {
	Text   string `json:"text"`
	Source string `json:"source"`
}

// SeventhChar is one 7th-character value and its meaning.
type SeventhChar struct {
	Char   string `json:"char"`
	Text   string `json:"text"`
	Source string `json:"source"`
}

// Hierarchy places an ICD-10-CM code in the classification.
type Hierarchy struct {
	Chapter  *Ref `json:"chapter,omitempty"`
	Block    *Ref `json:"block,omitempty"`
	Category *Ref `json:"category,omitempty"`
}

// Empty reports whether no note applies.
func (n *Notes) Empty() bool {
	return len(n.InclusionTerms)+len(n.Includes)+len(n.Excludes1)+len(n.Excludes2)+len(n.CodeFirst)+
		len(n.UseAdditionalCode)+len(n.CodeAlso)+len(n.General)+len(n.SeventhCharacterNote)+len(n.SeventhCharacters) == 0
}

func tabSource(n *tabNode) string {
	switch n.kind {
	case "chapter":
		return "Chapter " + n.code
	case "diag":
		return Display(ICD10CM, n.code)
	}
	return n.code
}

// tabularFor picks the Tabular List release for a date of service: the
// one in force, else the newest older one, else the oldest.
func (kb *KB) tabularFor(dos time.Time) *tabular {
	var best *tabular
	for _, t := range kb.tabulars {
		if !t.rel.From.After(dos) {
			best = t
		}
	}
	if best == nil && len(kb.tabulars) > 0 {
		best = kb.tabulars[0]
	}
	return best
}

// tabNodeFor finds the deepest Tabular element a code belongs to: the code
// itself, its nearest listed ancestor, or (for a category newer than the
// Tabular release) its block.
func (t *tabular) nodeFor(c string) *tabNode {
	for n := len(c); n >= 3; n-- {
		if d := t.diags[c[:n]]; d != nil {
			return d
		}
	}
	if len(c) < 3 {
		return nil
	}
	cat := c[:3]
	for _, s := range t.sections {
		if cat >= s.first && cat <= s.last {
			return s
		}
	}
	return nil
}

// tabInfo is what the Tabular List says about one code.
type tabInfo struct {
	t     *tabular
	node  *tabNode
	exact bool
	notes Notes
	hier  Hierarchy
	// seventh lists the valid 7th characters when the code's category
	// requires one (nil otherwise).
	seventh []string
}

// tabularInfo collects the notes, hierarchy and 7th-character rule of a
// normalized ICD-10-CM code at a date of service.
func (kb *KB) tabularInfo(c string, dos time.Time) *tabInfo {
	t := kb.tabularFor(dos)
	if t == nil {
		return nil
	}
	node := t.nodeFor(c)
	if node == nil {
		return nil
	}
	ti := &tabInfo{t: t, node: node, exact: node.kind == "diag" && node.code == c}
	ti.notes.Release = t.rel.Name
	if !ti.exact {
		ti.notes.From = tabSource(node)
	}
	seventhDone := false
	for n := node; n != nil; n = n.parent {
		src := tabSource(n)
		switch n.kind {
		case "chapter":
			ti.hier.Chapter = &Ref{Code: n.code, Description: n.desc}
		case "section":
			ti.hier.Block = &Ref{Code: n.code, Description: n.desc}
		case "diag":
			if len(n.code) == 3 {
				ti.hier.Category = &Ref{Code: n.code, Description: n.desc}
			}
		}
		hasSeventh := false
		for _, x := range n.notes {
			note := Note{Text: x.text, Source: src}
			switch x.typ {
			case codefile.NoteInclusionTerm:
				// Inclusion terms describe the element they are listed
				// under, so only the code's own element contributes them.
				if n == node {
					ti.notes.InclusionTerms = append(ti.notes.InclusionTerms, note)
				}
			case codefile.NoteIncludes:
				ti.notes.Includes = append(ti.notes.Includes, note)
			case codefile.NoteExcludes1:
				ti.notes.Excludes1 = append(ti.notes.Excludes1, note)
			case codefile.NoteExcludes2:
				ti.notes.Excludes2 = append(ti.notes.Excludes2, note)
			case codefile.NoteCodeFirst:
				ti.notes.CodeFirst = append(ti.notes.CodeFirst, note)
			case codefile.NoteUseAdditionalCode:
				ti.notes.UseAdditionalCode = append(ti.notes.UseAdditionalCode, note)
			case codefile.NoteCodeAlso:
				ti.notes.CodeAlso = append(ti.notes.CodeAlso, note)
			case codefile.NoteGeneral:
				ti.notes.General = append(ti.notes.General, note)
			case codefile.NoteSeventhNote:
				if !seventhDone {
					ti.notes.SeventhCharacterNote = append(ti.notes.SeventhCharacterNote, note)
				}
			case codefile.NoteSeventhDef:
				if !seventhDone {
					hasSeventh = true
					ti.notes.SeventhCharacters = append(ti.notes.SeventhCharacters, SeventhChar{Char: x.ch, Text: x.text, Source: src})
					ti.seventh = append(ti.seventh, x.ch)
				}
			}
		}
		if hasSeventh {
			seventhDone = true
		}
	}
	return ti
}

// excludes1Conflict returns the Excludes1 note on a's levels that names b.
func (ti *tabInfo) excludes1Conflict(b string) (Note, codeRef, bool) {
	for n := ti.node; n != nil; n = n.parent {
		for _, x := range n.notes {
			if x.typ != codefile.NoteExcludes1 {
				continue
			}
			for _, r := range x.refs {
				if r.covers(b) {
					return Note{Text: x.text, Source: tabSource(n)}, r, true
				}
			}
		}
	}
	return Note{}, codeRef{}, false
}

// withNotes adds the Tabular List's notes, hierarchy and version warnings
// to an ICD-10-CM entry.
func (kb *KB) withNotes(e *Entry, c string, dos time.Time, codeRelease Release) {
	ti := kb.tabularInfo(c, dos)
	if ti == nil {
		if len(kb.tabulars) == 0 {
			e.Warnings = append(e.Warnings, "no ICD-10-CM Tabular List imported: notes (excludes, code first, 7th characters) are not available")
		}
		return
	}
	e.Notes = ti.notes
	if ti.hier.Chapter != nil || ti.hier.Block != nil || ti.hier.Category != nil {
		h := ti.hier
		e.Hierarchy = &h
	}
	if ti.t.rel.Version != codeRelease.Version && codeRelease.Version != "" {
		rel := "older"
		if ti.t.rel.From.After(codeRelease.From) {
			rel = "newer"
		}
		e.Warnings = append(e.Warnings, fmt.Sprintf("notes come from %s, %s than the code's release %s", ti.t.rel.Name, rel, codeRelease.Name))
	}
	if !ti.exact && ti.node.kind == "diag" && (len(ti.seventh) == 0 || len(c) != 7) {
		e.Warnings = append(e.Warnings, fmt.Sprintf("%s is not in %s; notes shown are those of %s", e.Code, ti.t.rel.Name, tabSource(ti.node)))
	}
}

// seventhCharHint describes the 7th-character rule for messages:
// "A (initial encounter for fracture), D (…)".
func seventhCharHint(n Notes) string {
	var parts []string
	for _, s := range n.SeventhCharacters {
		parts = append(parts, s.Char+" ("+s.Text+")")
	}
	return strings.Join(parts, ", ")
}

// replacements suggests what replaced a deleted code: its billable codes
// below it in the current list (a code that became a header), or codes the
// same addenda added under its parent.
func (kb *KB) replacements(sys System, c string, a *addendaSet, cur *codeList) []Ref {
	var out []Ref
	if cur != nil {
		if r := cur.byCode[c]; r != nil {
			var walk func(*codeRec)
			walk = func(n *codeRec) {
				for _, ch := range n.children {
					if ch.billable && len(out) < MaxBillableChildren {
						out = append(out, Ref{Code: Display(sys, ch.code), Description: ch.long, Billable: true})
					}
					walk(ch)
				}
			}
			walk(r)
			if len(out) > 0 {
				return out
			}
		}
	}
	if a == nil || len(c) <= 3 {
		return nil
	}
	parent := c[:len(c)-1]
	var codes []string
	for code := range a.added {
		if strings.HasPrefix(code, parent) && code != c {
			codes = append(codes, code)
		}
	}
	sort.Strings(codes)
	for _, code := range codes {
		add := a.added[code]
		billable := add.billable == nil || *add.billable
		if !billable {
			continue
		}
		desc := add.long
		if cur != nil {
			if r := cur.byCode[code]; r != nil {
				desc = r.long
			}
		}
		out = append(out, Ref{Code: Display(sys, code), Description: desc, Billable: true})
	}
	return out
}
