package web

import (
	"regexp"
	"sync"

	"github.com/microcosm-cc/bluemonday"
)

// mailPolicy is the HTML allowed from an inbound email: text formatting,
// lists, tables and links, and images only when embedded in the mail as data:
// URLs. Scripts, event handlers, styles, forms, frames and remote images are
// removed; the frame's CSP forbids them again should anything slip through.
var mailPolicy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowStandardAttributes()
	p.AllowElements("p", "br", "div", "span", "b", "strong", "i", "em", "u", "s", "strike", "sub", "sup", "small",
		"big", "blockquote", "pre", "code", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd",
		"table", "thead", "tbody", "tfoot", "tr", "caption", "abbr", "cite", "q", "mark", "center", "font")
	p.AllowAttrs("colspan", "rowspan", "align", "valign").OnElements("td", "th")
	p.AllowElements("td", "th")
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowDataURIImages()
	p.AllowAttrs("alt", "width", "height").OnElements("img")
	// Only embedded images: a src that is not a data: URL is dropped, and
	// an img without src is removed.
	p.AllowAttrs("src").Matching(regexp.MustCompile(`^data:image/(png|gif|jpeg|webp);base64,[A-Za-z0-9+/=\s]+$`)).OnElements("img")
	return p
})

// sanitizeMail returns an email's HTML made safe to show.
func sanitizeMail(html string) string { return mailPolicy().Sanitize(html) }
