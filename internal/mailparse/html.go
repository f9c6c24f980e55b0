package mailparse

import (
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTMLToText renders HTML as readable plain text: block elements start new
// lines, list items get "- " or "1. ", table cells are separated by " | ",
// links show their target when it differs from their text, blockquotes are
// quoted with "> " (so NewText can tell quoted history apart), and script,
// style and head content is dropped. Malformed HTML is read the way
// browsers read it (the HTML5 parsing algorithm of golang.org/x/net/html).
func HTMLToText(s string) string {
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		return ""
	}
	r := &htmlRenderer{atStart: true}
	r.walk(doc, 0)
	return tidyText(r.b.String())
}

// Limits that keep rendering linear on hostile input.
const maxHTMLDepth = 200

type htmlRenderer struct {
	b       strings.Builder
	quote   int  // blockquote depth
	pre     int  // inside <pre>
	atStart bool // at the start of a line (after prefix)
	space   bool // a collapsed space is pending
	lists   []int
}

// blockAtoms start and end on their own lines.
var blockAtoms = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Ul: true, atom.Ol: true, atom.Table: true, atom.Tr: true,
	atom.Blockquote: true, atom.Pre: true, atom.Section: true, atom.Article: true, atom.Header: true,
	atom.Footer: true, atom.Address: true, atom.Dl: true, atom.Dt: true, atom.Dd: true, atom.Center: true,
	atom.Form: true, atom.Fieldset: true, atom.Hr: true, atom.Li: true, atom.Tbody: true, atom.Thead: true,
	atom.Tfoot: true, atom.Caption: true, atom.Nav: true, atom.Main: true, atom.Aside: true, atom.Figure: true,
}

// paragraphAtoms are separated from what surrounds them by a blank line.
var paragraphAtoms = map[atom.Atom]bool{
	atom.P: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true,
	atom.H6: true, atom.Table: true, atom.Blockquote: true, atom.Pre: true, atom.Ul: true, atom.Ol: true,
}

// skipAtoms hold no readable text.
var skipAtoms = map[atom.Atom]bool{
	atom.Head: true, atom.Script: true, atom.Style: true, atom.Title: true, atom.Template: true,
	atom.Noscript: true, atom.Object: true, atom.Iframe: true, atom.Svg: true, atom.Select: true,
}

func (r *htmlRenderer) newline() {
	r.b.WriteByte('\n')
	r.atStart = true
	r.space = false
}

// ensureLine starts a new line unless at the start of one.
func (r *htmlRenderer) ensureLine() {
	if !r.atStart && r.b.Len() > 0 {
		r.newline()
	}
}

// blankLine ends the current line and leaves one empty line.
func (r *htmlRenderer) blankLine() {
	r.ensureLine()
	if r.b.Len() > 0 && !strings.HasSuffix(r.b.String(), "\n\n") {
		r.newline()
	}
}

func (r *htmlRenderer) prefix() {
	if r.atStart {
		for i := 0; i < r.quote; i++ {
			r.b.WriteString("> ")
		}
		r.atStart = false
	}
}

func (r *htmlRenderer) text(s string) {
	if r.pre > 0 {
		for i, line := range strings.Split(s, "\n") {
			if i > 0 {
				r.newline()
			}
			r.prefix()
			r.b.WriteString(line)
		}
		return
	}
	for _, word := range strings.FieldsFunc(s, isHTMLSpace) {
		if r.atStart {
			r.prefix()
		} else if r.space {
			r.b.WriteByte(' ')
		}
		r.space = true // between the words of this text
		r.b.WriteString(word)
	}
	// Whether a space follows depends on how this text ended.
	r.space = len(s) > 0 && isHTMLSpace(rune(s[len(s)-1]))
}

func isHTMLSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u00a0'
}

func (r *htmlRenderer) walk(n *html.Node, depth int) {
	if depth > maxHTMLDepth {
		return
	}
	switch n.Type {
	case html.TextNode:
		if strings.HasPrefix(n.Data, " ") || strings.HasPrefix(n.Data, "\n") || strings.HasPrefix(n.Data, "\u00a0") {
			if !r.atStart {
				r.space = true
			}
		}
		r.text(n.Data)
		return
	case html.CommentNode, html.DoctypeNode:
		return
	case html.ElementNode:
		if skipAtoms[n.DataAtom] {
			return
		}
	}
	a := n.DataAtom
	switch a {
	case atom.Br:
		r.newline()
		return
	case atom.Hr:
		r.ensureLine()
		r.prefix()
		r.b.WriteString("----")
		r.newline()
		return
	case atom.Img:
		if alt := strings.TrimSpace(attr(n, "alt")); alt != "" && len(alt) < 80 {
			r.space = true
			r.text("[" + alt + "] ")
		}
		return
	}
	if n.Type == html.ElementNode && blockAtoms[a] {
		if paragraphAtoms[a] {
			r.blankLine()
		} else {
			r.ensureLine()
		}
	}
	switch a {
	case atom.Blockquote:
		r.quote++
	case atom.Pre:
		r.pre++
	case atom.Ul:
		r.lists = append(r.lists, 0)
	case atom.Ol:
		r.lists = append(r.lists, 1)
	case atom.Li:
		r.prefix()
		if k := len(r.lists); k > 0 && r.lists[k-1] > 0 {
			r.b.WriteString(strconv.Itoa(r.lists[k-1]) + ". ")
			r.lists[k-1]++
		} else {
			r.b.WriteString("- ")
		}
	case atom.Td, atom.Th:
		if prev := prevElement(n); prev != nil && (prev.DataAtom == atom.Td || prev.DataAtom == atom.Th) {
			r.prefix()
			r.b.WriteString(" | ")
			r.space = false
		}
	}
	start := r.b.Len()
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		r.walk(c, depth+1)
	}
	switch a {
	case atom.Blockquote:
		r.quote--
	case atom.Pre:
		r.pre--
	case atom.Ul, atom.Ol:
		r.lists = r.lists[:len(r.lists)-1]
	case atom.A:
		href := strings.TrimSpace(attr(n, "href"))
		shown := strings.TrimSpace(r.b.String()[start:])
		if href != "" && !strings.HasPrefix(href, "#") && !strings.HasPrefix(strings.ToLower(href), "javascript:") {
			target := strings.TrimPrefix(href, "mailto:")
			if target != shown && !strings.Contains(shown, target) {
				r.space = true
				r.text("<" + target + ">")
			}
		}
	}
	if n.Type == html.ElementNode && blockAtoms[a] {
		if paragraphAtoms[a] {
			r.blankLine()
		} else {
			r.ensureLine()
		}
	}
}

func prevElement(n *html.Node) *html.Node {
	for p := n.PrevSibling; p != nil; p = p.PrevSibling {
		if p.Type == html.ElementNode {
			return p
		}
	}
	return nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// tidyText trims trailing spaces on every line, collapses runs of blank
// lines to one and trims blank lines at both ends.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blank := false
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\u00a0")
		if l == "" {
			blank = true
			continue
		}
		if blank && len(out) > 0 {
			out = append(out, "")
		}
		blank = false
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
