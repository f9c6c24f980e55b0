package codefile

import (
	"encoding/xml"
	"errors"
	"html"
	"io"
	"regexp"
	"strings"
)

// IndexTerm is one term of the ICD-10-CM Alphabetic Index: a main term
// (Level 0) or a subterm nested under it, with what it points to.
type IndexTerm struct {
	Seq     int // 1-based position in the file; parents come first
	Parent  int // Seq of the enclosing term, 0 for a main term
	Level   int // 0 main term, 1.. subterm depth
	Title   string
	Nemod   string // nonessential modifiers, e.g. "(mellitus) (sugar)"
	Code    string // as written ("E11.22")
	Manif   string // manifestation code, listed second ("[I43]")
	Subcat  string // incomplete code: more characters are needed
	See     string
	SeeAlso string
	SeeCat  string // "see category"
	Line    int
}

type xTerm struct {
	Title   xTitle  `xml:"title"`
	Code    string  `xml:"code"`
	Manif   string  `xml:"manif"`
	Subcat  string  `xml:"subcat"`
	See     string  `xml:"see"`
	SeeAlso string  `xml:"seeAlso"`
	SeeCat  string  `xml:"seecat"`
	Terms   []xTerm `xml:"term"`
}

type xTitle struct {
	Inner string `xml:",innerxml"`
}

var (
	reNemod = regexp.MustCompile(`(?s)<nemod>(.*?)</nemod>`)
	reTag   = regexp.MustCompile(`<[^>]*>`)
)

// split returns the title as printed and its nonessential modifiers
// ("autonomic<nemod>(poly)</nemod>neuropathy" → "autonomic (poly)
// neuropathy", "(poly)").
func (t xTitle) split() (title, nemod string) {
	var mods []string
	for _, m := range reNemod.FindAllStringSubmatch(t.Inner, -1) {
		mods = append(mods, clean(html.UnescapeString(reTag.ReplaceAllString(m[1], ""))))
	}
	full := reNemod.ReplaceAllString(t.Inner, " $1 ")
	return clean(html.UnescapeString(reTag.ReplaceAllString(full, ""))), strings.Join(mods, " ")
}

// ReadIndex reads the ICD-10-CM Alphabetic Index XML (icd10cm_index_YYYY.xml)
// and calls fn for every main term and subterm, parents first. It returns
// the file's <version>. Memory is bounded by one main term.
func ReadIndex(r io.Reader, file string, fn func(IndexTerm) error) (version string, err error) {
	dec := xml.NewDecoder(r)
	dec.Strict = true
	xerr := func(e error) error {
		var se *xml.SyntaxError
		if errors.As(e, &se) {
			return perr(file, se.Line, "XML", "%s", se.Msg)
		}
		l, _ := dec.InputPos()
		return perr(file, l, "XML", "%v", e)
	}
	seq := 0
	var walk func(t *xTerm, parent, level, line int) error
	walk = func(t *xTerm, parent, level, line int) error {
		seq++
		title, nemod := t.Title.split()
		if title == "" && nemod == "" {
			return perr(file, line, "title", "index term without a title (level %d)", level)
		}
		it := IndexTerm{Seq: seq, Parent: parent, Level: level, Title: title, Nemod: nemod,
			Code: strings.TrimSpace(t.Code), Manif: strings.TrimSpace(t.Manif), Subcat: strings.TrimSpace(t.Subcat),
			See: clean(t.See), SeeAlso: clean(t.SeeAlso), SeeCat: strings.TrimSpace(t.SeeCat), Line: line}
		if err := fn(it); err != nil {
			return err
		}
		me := seq
		for i := range t.Terms {
			if err := walk(&t.Terms[i], me, level+1, line); err != nil {
				return err
			}
		}
		return nil
	}
	depth, root := 0, false
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
				if t.Name.Local != "ICD10CM.index" {
					l, _ := dec.InputPos()
					return version, perr(file, l, "root element", "<%s> is not <ICD10CM.index>", t.Name.Local)
				}
				root = true
			case depth == 2 && t.Name.Local == "version":
				var v string
				if err := dec.DecodeElement(&v, &t); err != nil {
					return version, xerr(err)
				}
				version = strings.TrimSpace(v)
				depth--
			case depth == 3 && t.Name.Local == "mainTerm":
				l, _ := dec.InputPos()
				var m xTerm
				if err := dec.DecodeElement(&m, &t); err != nil {
					return version, xerr(err)
				}
				depth--
				if err := walk(&m, 0, 0, l); err != nil {
					return version, wrapStop(err)
				}
			case depth >= 2 && t.Name.Local != "letter":
				if err := dec.Skip(); err != nil {
					return version, xerr(err)
				}
				depth--
			}
		case xml.EndElement:
			depth--
		}
	}
	if !root {
		return version, perr(file, 0, "root element", "no <ICD10CM.index> element")
	}
	return version, nil
}
