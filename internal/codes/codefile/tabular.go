package codefile

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// Note types of the ICD-10-CM Tabular List (the XML element each comes
// from is in parentheses). Guidelines section I.A explains their meaning.
const (
	NoteInclusionTerm     = "inclusion_term"         // inclusionTerm
	NoteIncludes          = "includes"               // includes
	NoteExcludes1         = "excludes1"              // excludes1
	NoteExcludes2         = "excludes2"              // excludes2
	NoteCodeFirst         = "code_first"             // codeFirst
	NoteUseAdditionalCode = "use_additional_code"    // useAdditionalCode
	NoteCodeAlso          = "code_also"              // codeAlso
	NoteGeneral           = "notes"                  // notes
	NoteSeventhNote       = "seventh_character_note" // sevenChrNote
	NoteSeventhDef        = "seventh_character"      // sevenChrDef/extension (Char set)
)

// TabularItem is one element of the Tabular List: a chapter, a section
// (block) or a diag (category, subcategory or code), with its notes.
type TabularItem struct {
	Line   int    // line of the element's start in the XML
	Kind   string // chapter, section, diag
	Code   string // chapter number ("4"), section id ("E08-E13") or code as written ("E11.22")
	Parent string // the enclosing element's Code ("" for chapters)
	Desc   string
	Notes  []TabularNote
}

// TabularNote is one note of a Tabular element. For NoteSeventhDef, Char is
// the 7th character it defines.
type TabularNote struct {
	Type string
	Char string
	Text string
}

type xNotes struct {
	Notes []string `xml:"note"`
}

type xExtension struct {
	Char string `xml:"char,attr"`
	Text string `xml:",chardata"`
}

type xSevenDef struct {
	Ext []xExtension `xml:"extension"`
}

// noteElements maps note element names to note types.
var noteElements = map[string]string{
	"inclusionTerm": NoteInclusionTerm, "includes": NoteIncludes, "excludes1": NoteExcludes1,
	"excludes2": NoteExcludes2, "codeFirst": NoteCodeFirst, "useAdditionalCode": NoteUseAdditionalCode,
	"codeAlso": NoteCodeAlso, "notes": NoteGeneral, "sevenChrNote": NoteSeventhNote,
}

// xNoted holds the note elements every Tabular level can carry.
type xNoted struct {
	InclusionTerm     []xNotes    `xml:"inclusionTerm"`
	Includes          []xNotes    `xml:"includes"`
	Excludes1         []xNotes    `xml:"excludes1"`
	Excludes2         []xNotes    `xml:"excludes2"`
	CodeFirst         []xNotes    `xml:"codeFirst"`
	UseAdditionalCode []xNotes    `xml:"useAdditionalCode"`
	CodeAlso          []xNotes    `xml:"codeAlso"`
	Notes             []xNotes    `xml:"notes"`
	SevenChrNote      []xNotes    `xml:"sevenChrNote"`
	SevenChrDef       []xSevenDef `xml:"sevenChrDef"`
}

func (x *xNoted) notes() []TabularNote {
	var out []TabularNote
	add := func(typ string, groups []xNotes) {
		for _, g := range groups {
			for _, n := range g.Notes {
				if n = clean(n); n != "" {
					out = append(out, TabularNote{Type: typ, Text: n})
				}
			}
		}
	}
	add(NoteInclusionTerm, x.InclusionTerm)
	add(NoteIncludes, x.Includes)
	add(NoteExcludes1, x.Excludes1)
	add(NoteExcludes2, x.Excludes2)
	add(NoteCodeFirst, x.CodeFirst)
	add(NoteUseAdditionalCode, x.UseAdditionalCode)
	add(NoteCodeAlso, x.CodeAlso)
	add(NoteGeneral, x.Notes)
	add(NoteSeventhNote, x.SevenChrNote)
	for _, d := range x.SevenChrDef {
		for _, e := range d.Ext {
			out = append(out, TabularNote{Type: NoteSeventhDef, Char: strings.TrimSpace(e.Char), Text: clean(e.Text)})
		}
	}
	return out
}

type xDiag struct {
	Name string `xml:"name"`
	Desc string `xml:"desc"`
	xNoted
	Diags []xDiag `xml:"diag"`
}

type xSection struct {
	ID   string `xml:"id,attr"`
	Desc string `xml:"desc"`
	xNoted
	Diags []xDiag `xml:"diag"`
}

// clean collapses white space.
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

// ReadTabular reads the ICD-10-CM Tabular List XML (icd10cm_tabular_YYYY.xml)
// and calls fn for every chapter, section and diag in document order (a
// parent before its children). It returns the file's <version>. Memory is
// bounded by one section.
func ReadTabular(r io.Reader, file string, fn func(TabularItem) error) (version string, err error) {
	dec := xml.NewDecoder(r)
	dec.Strict = true
	var (
		chapter  *TabularItem // chapter being read (its notes come before its sections)
		sent     bool
		depth    int
		rootSeen bool
	)
	line := func() int { l, _ := dec.InputPos(); return l }
	xerr := func(e error) error {
		var se *xml.SyntaxError
		if errors.As(e, &se) {
			return perr(file, se.Line, "XML", "%s", se.Msg)
		}
		return perr(file, line(), "XML", "%v", e)
	}
	emit := fn
	flushChapter := func() error {
		if chapter != nil && !sent {
			sent = true
			if chapter.Code == "" {
				return perr(file, chapter.Line, "chapter name", "chapter without <name>")
			}
			return emit(*chapter)
		}
		return nil
	}
	var walk func(d *xDiag, parent string, ln int) error
	walk = func(d *xDiag, parent string, ln int) error {
		code := strings.TrimSpace(d.Name)
		if code == "" {
			return perr(file, ln, "diag name", "diag without <name> under %s", parent)
		}
		if err := emit(TabularItem{Line: ln, Kind: "diag", Code: code, Parent: parent, Desc: clean(d.Desc), Notes: d.notes()}); err != nil {
			return err
		}
		for i := range d.Diags {
			if err := walk(&d.Diags[i], code, ln); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return version, xerr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1:
				if t.Name.Local != "ICD10CM.tabular" {
					return version, perr(file, line(), "root element", "<%s> is not <ICD10CM.tabular>", t.Name.Local)
				}
				rootSeen = true
			case depth == 2 && t.Name.Local == "version":
				var v string
				if err := dec.DecodeElement(&v, &t); err != nil {
					return version, xerr(err)
				}
				depth--
				version = strings.TrimSpace(v)
			case depth == 2 && t.Name.Local == "chapter":
				chapter, sent = &TabularItem{Line: line(), Kind: "chapter"}, false
			case depth == 3 && chapter != nil && t.Name.Local == "section":
				if err := flushChapter(); err != nil {
					return version, wrapStop(err)
				}
				ln := line()
				var s xSection
				if err := dec.DecodeElement(&s, &t); err != nil {
					return version, xerr(err)
				}
				depth--
				id := strings.TrimSpace(s.ID)
				if id == "" {
					return version, perr(file, ln, "section id", "section without an id attribute")
				}
				if err := emit(TabularItem{Line: ln, Kind: "section", Code: id, Parent: chapter.Code, Desc: clean(s.Desc), Notes: s.notes()}); err != nil {
					return version, wrapStop(err)
				}
				for i := range s.Diags {
					if err := walk(&s.Diags[i], id, ln); err != nil {
						return version, wrapStop(err)
					}
				}
			case depth == 3 && chapter != nil:
				// The chapter's own elements: name, desc, notes, sectionIndex.
				switch t.Name.Local {
				case "name", "desc":
					var v string
					if err := dec.DecodeElement(&v, &t); err != nil {
						return version, xerr(err)
					}
					if t.Name.Local == "name" {
						chapter.Code = strings.TrimSpace(v)
					} else {
						chapter.Desc = clean(v)
					}
				case "sevenChrDef":
					var x xNoted
					x.SevenChrDef = make([]xSevenDef, 1)
					if err := dec.DecodeElement(&x.SevenChrDef[0], &t); err != nil {
						return version, xerr(err)
					}
					chapter.Notes = append(chapter.Notes, x.notes()...)
				default:
					var n xNotes
					if err := dec.DecodeElement(&n, &t); err != nil {
						return version, xerr(err)
					}
					if typ, ok := noteElements[t.Name.Local]; ok {
						for _, s := range n.Notes {
							if s = clean(s); s != "" {
								chapter.Notes = append(chapter.Notes, TabularNote{Type: typ, Text: s})
							}
						}
					} // sectionIndex and anything else: not notes
				}
				depth--
			default:
				if depth >= 2 && chapter == nil {
					// introduction and other front matter
					if err := dec.Skip(); err != nil {
						return version, xerr(err)
					}
					depth--
				}
			}
		case xml.EndElement:
			if depth == 2 && t.Name.Local == "chapter" {
				if err := flushChapter(); err != nil {
					return version, wrapStop(err)
				}
				chapter = nil
			}
			depth--
		}
	}
	if !rootSeen {
		return version, perr(file, 0, "root element", "no <ICD10CM.tabular> element")
	}
	return version, nil
}

// wrapStop turns ErrStop into a clean end.
func wrapStop(err error) error {
	if isStop(err) {
		return nil
	}
	return err
}
