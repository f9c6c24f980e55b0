package mailparse

import (
	"bytes"
	"fmt"
	"math"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// walker walks the MIME tree of one message (RFC 2045, RFC 2046).
type walker struct {
	p     *parser
	m     *Message
	depth int // forwarding depth of this message

	reportType  string   // report-type of a multipart/report seen
	dsn         *dsnInfo // first message/delivery-status part seen
	originalIDs []string // Message-IDs of returned messages (bounces)
}

// dsnInfo is what a delivery-status part (RFC 3464) reports.
type dsnInfo struct {
	Action string
	Status string
}

// content is the body text gathered from a subtree.
type content struct {
	plain []string
	html  []string
}

func (c *content) add(o content) {
	c.plain = append(c.plain, o.plain...)
	c.html = append(c.html, o.html...)
}

func (w *walker) problem(format string, args ...any) {
	w.m.Problems = append(w.m.Problems, fmt.Sprintf(format, args...))
}

func (w *walker) problems(ps []string, path string) {
	for _, p := range ps {
		if path != "" {
			p = "part " + path + ": " + p
		}
		w.m.Problems = append(w.m.Problems, p)
	}
}

// entity handles one MIME entity and returns the body text found in it;
// attachments and forwarded messages are recorded on the message.
func (w *walker) entity(e part, mdepth int, defaultType string) content {
	if w.p.parts >= w.p.opts.MaxParts {
		w.p.partsCapped = true
		return content{}
	}
	w.p.parts++
	ct, params, probs := parseMediaType(e.h.get("Content-Type"), defaultType)
	w.problems(probs, e.path)
	ctOK := len(probs) == 0

	if strings.HasPrefix(ct, "multipart/") {
		if c, ok := w.multipart(e, mdepth, ct, params); ok {
			return c
		}
		// Not splittable: read what is there as plain text.
		ct, params = "text/plain", map[string]string{"charset": params["charset"]}
		ctOK = false
	}

	disp, dparams := parseDisposition(e.h.get("Content-Disposition"))
	switch ct {
	case "message/rfc822", "message/global":
		if w.forwarded(w.transferDecoded(e), e.path) {
			return content{}
		}
	case "message/delivery-status", "message/global-delivery-status":
		w.deliveryStatus(w.transferDecoded(e))
		return content{}
	case "text/rfc822-headers", "message/rfc822-headers":
		if rh, _, _, _, ok := w.p.readHeader(w.transferDecoded(e), false); ok {
			if ids := parseMsgIDs(rh.get("Message-Id")); len(ids) > 0 {
				w.originalIDs = append(w.originalIDs, ids[0])
			}
		}
		return content{}
	case "text/plain", "text/html":
		if !isAttachment(disp, dparams, params) {
			text := w.bodyText(e, params, ctOK)
			if ct == "text/html" {
				return content{html: []string{text}}
			}
			return content{plain: []string{text}}
		}
	}
	w.attachment(e, ct, params, disp, dparams)
	return content{}
}

// transferDecoded returns an entity's body with its transfer encoding
// undone.
func (w *walker) transferDecoded(e part) []byte {
	d, probs := w.decodeBody(e, false, math.MaxInt)
	w.problems(probs, e.path)
	return d.data
}

// bodyText decodes a text/plain or text/html body part to UTF-8 text.
// go-message converts the charset when it reads the charset label as
// decodeCharset does (see goMessageConverts); otherwise, and for UTF-8 and
// unlabelled text, which go-message passes through as they are,
// decodeCharset does, with its fallbacks for unknown labels and text that
// is not what its label says.
func (w *walker) bodyText(e part, params map[string]string, ctOK bool) string {
	label := params["charset"]
	d, probs := w.decodeBody(e, ctOK && goMessageConverts(label), math.MaxInt)
	w.problems(probs, e.path)
	if d.converted {
		return clean(string(d.data))
	}
	text, probs := decodeCharset(d.data, label)
	w.problems(probs, e.path)
	return text
}

// multipart splits and walks a multipart entity. ok is false when the body
// cannot be split into parts at all.
func (w *walker) multipart(e part, mdepth int, ct string, params map[string]string) (content, bool) {
	path := e.path
	if mdepth >= maxMultipartDepth {
		w.problem("multipart nested deeper than %d levels; inner parts not read", maxMultipartDepth)
		return content{}, true
	}
	boundary := params["boundary"]
	if boundary == "" {
		w.problem("%s without a boundary; body read as plain text", ct)
		return content{}, false
	}
	raws, closeAt := splitMultipart(e.body, boundary)
	if len(raws) == 0 {
		// No delimiter line at all; go-message accepts only lines that
		// splitMultipart accepts, so it would find none either.
		w.problem("%s with no parts; body read as plain text", ct)
		return content{}, false
	}
	children, capped := w.readParts(e.body, boundary, raws, closeAt, w.p.opts.MaxParts-w.p.parts, path)
	if capped {
		w.p.partsCapped = true
	}
	if ct == "multipart/report" {
		w.reportType = strings.ToLower(params["report-type"])
	}
	childDefault := "text/plain"
	if ct == "multipart/digest" {
		childDefault = "message/rfc822" // RFC 2046 section 5.1.5
	}

	var c content
	switch ct {
	case "multipart/alternative":
		// RFC 2046 section 5.1.4: alternatives in increasing order of
		// preference. We prefer text/plain for Text and keep the richest
		// HTML for display.
		var plain, html []string
		for _, ch := range children {
			got := w.entity(ch, mdepth+1, childDefault)
			if len(got.plain) > 0 && plain == nil {
				plain = got.plain
			}
			if len(got.html) > 0 {
				html = got.html
			}
		}
		c.plain, c.html = plain, html
	case "multipart/related":
		// RFC 2387: the root is the "start" part or the first one; the rest
		// are resources it refers to.
		root := 0
		if start := strings.Trim(params["start"], "<> "); start != "" {
			for i, ch := range children {
				if strings.Trim(ch.h.get("Content-Id"), "<> ") == start {
					root = i
				}
			}
		}
		if len(children) > 0 {
			c.add(w.entity(children[root], mdepth+1, childDefault))
		}
		for i, ch := range children {
			if i != root {
				c.add(w.entity(ch, mdepth+1, childDefault))
			}
		}
	default: // mixed, report, signed, digest, parallel and unknown subtypes
		for _, ch := range children {
			c.add(w.entity(ch, mdepth+1, childDefault))
		}
	}
	return c, true
}

// rawPart is one body part as splitMultipart found it.
type rawPart struct {
	at   int    // offset of the delimiter line that opens the part
	from int    // offset of the part's first byte, after that line
	data []byte // the part, header and body, without the line break that belongs to the next delimiter
}

// splitMultipart splits a multipart body at its boundary delimiter lines
// (RFC 2046 section 5.1.1), leniently: lines end in CRLF or LF, and a body
// that ends without the closing delimiter keeps its last part. closeAt is
// the offset of the closing delimiter line, or -1 when there is none. The
// preamble and epilogue are dropped.
func splitMultipart(body []byte, boundary string) (parts []rawPart, closeAt int) {
	delim := []byte("--" + boundary)
	start, opened := -1, -1
	pos := 0
	for pos < len(body) {
		line, next := cutLine(body[pos:])
		lineStart := pos
		pos = len(body) - len(next)
		if !bytes.HasPrefix(line, delim) {
			continue
		}
		rest := bytes.TrimRight(line[len(delim):], " \t")
		final := bytes.Equal(rest, []byte("--"))
		if len(rest) != 0 && !final {
			continue
		}
		if start >= 0 {
			parts = append(parts, rawPart{at: opened, from: start, data: trimDelimiterEOL(body[start:lineStart])})
		}
		if final {
			return parts, lineStart
		}
		start, opened = pos, lineStart
	}
	if start >= 0 {
		parts = append(parts, rawPart{at: opened, from: start, data: body[start:]})
	}
	return parts, -1
}

// trimDelimiterEOL removes the line break that belongs to the following
// boundary delimiter.
func trimDelimiterEOL(b []byte) []byte {
	if bytes.HasSuffix(b, []byte("\r\n")) {
		return b[:len(b)-2]
	}
	return bytes.TrimSuffix(b, []byte("\n"))
}

// forwarded parses an attached message. It reports false when the part is
// not a readable message (it is then listed as an attachment).
func (w *walker) forwarded(data []byte, path string) bool {
	if w.depth >= maxForwardDepth {
		w.problem("part %s: message nested deeper than %d levels; kept as an attachment", path, maxForwardDepth)
		return false
	}
	fm, err := w.p.parseMessage(data, w.depth+1)
	if err != nil {
		w.problem("part %s: attached message unreadable; kept as an attachment", path)
		return false
	}
	fm.Size = int64(len(data))
	w.m.Forwarded = append(w.m.Forwarded, fm)
	if !fm.MessageIDSynthesized {
		w.originalIDs = append(w.originalIDs, fm.MessageID)
	}
	return true
}

// deliveryStatus reads a message/delivery-status part (RFC 3464 section
// 2.1): a per-message block followed by per-recipient blocks.
func (w *walker) deliveryStatus(data []byte) {
	info := &dsnInfo{}
	rest := data
	for blocks := 0; len(bytes.TrimSpace(rest)) > 0 && blocks < 100; blocks++ {
		rest = bytes.TrimLeft(rest, "\r\n")
		h, _, body, _, ok := w.p.readHeader(rest, false)
		if !ok {
			break
		}
		if a := strings.ToLower(strings.TrimSpace(h.get("Action"))); a != "" && info.Action == "" {
			info.Action = a
		}
		if s := strings.TrimSpace(h.get("Status")); s != "" && info.Status == "" {
			info.Status = truncateRunes(s, 20)
		}
		if ids := parseMsgIDs(h.get("Original-Message-Id")); len(ids) > 0 {
			w.originalIDs = append(w.originalIDs, ids[0])
		}
		rest = body
	}
	if w.dsn == nil {
		w.dsn = info
	}
}

// attachment records a part that is not body text.
func (w *walker) attachment(e part, ct string, params map[string]string, disp string, dparams map[string]string) {
	path := e.path
	if path == "" {
		path = "1"
	}
	dec := headerDecoder{problems: &w.m.Problems}
	name := attachmentName(e.h.get("Content-Disposition"), dparams["filename"], "filename", dec)
	if name == "" {
		name = attachmentName(e.h.get("Content-Type"), params["name"], "name", dec)
	}
	a := Attachment{
		Name:        name,
		ContentType: ct,
		Inline:      disp == "inline",
		Part:        path,
	}
	if a.Name == "" {
		a.Name = "attachment-" + strings.ReplaceAll(path, ".", "-") + extensionFor(ct)
		a.NameGenerated = true
	}
	// Only the text of text and CSV files is kept; of the others, only the
	// size is needed, so their decoded bytes are counted, not stored.
	textual := isTextual(ct, a.Name)
	keep := 0
	if textual {
		keep = w.p.opts.MaxAttachmentText
	}
	d, probs := w.decodeBody(e, false, keep)
	w.problems(probs, e.path)
	a.Size = d.size
	if textual {
		a.TextTruncated = d.size > int64(len(d.data))
		text, probs := decodeCharset(d.data, params["charset"])
		if a.TextTruncated {
			text = strings.TrimRight(text, "\uFFFD")
		}
		w.problems(probs, path)
		a.Text = text
	}
	w.m.Attachments = append(w.m.Attachments, a)
}

// isAttachment reports whether a text part is a file rather than body text.
func isAttachment(disp string, dparams, params map[string]string) bool {
	return disp == "attachment" || dparams["filename"] != "" || params["name"] != "" ||
		dparams["filename*"] != "" || params["name*"] != ""
}

// csvTypes are media types CSV files arrive with (Windows labels them as
// Excel files).
var csvTypes = map[string]bool{
	"text/csv": true, "text/comma-separated-values": true, "application/csv": true,
	"text/x-csv": true, "application/x-csv": true, "text/tab-separated-values": true,
}

// isTextual reports whether an attachment's text should be read.
func isTextual(ct, name string) bool {
	if strings.HasPrefix(ct, "text/") || csvTypes[ct] {
		return true
	}
	lower := strings.ToLower(name)
	return strings.HasSuffix(lower, ".csv") || strings.HasSuffix(lower, ".tsv") || strings.HasSuffix(lower, ".txt")
}

// extensions maps common media types to a file extension for generated
// names. (mime.ExtensionsByType depends on the machine's mime.types.)
var extensions = map[string]string{
	"application/pdf": ".pdf", "text/plain": ".txt", "text/csv": ".csv", "text/html": ".html",
	"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "application/zip": ".zip",
	"application/msword": ".doc", "application/vnd.ms-excel": ".xls", "message/rfc822": ".eml",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":       ".xlsx",
	"text/calendar": ".ics", "application/json": ".json", "application/xml": ".xml", "text/xml": ".xml",
}

func extensionFor(ct string) string {
	if e, ok := extensions[ct]; ok {
		return e
	}
	return ".bin"
}

// parseMediaType reads a Content-Type value, leniently when it is
// malformed. Media types are lower-cased.
func parseMediaType(v, def string) (string, map[string]string, []string) {
	if strings.TrimSpace(v) == "" {
		return def, map[string]string{}, nil
	}
	mt, params, err := mime.ParseMediaType(v)
	if err == nil && strings.Contains(mt, "/") {
		return mt, params, nil
	}
	mt, params = lenientParams(v)
	if !strings.Contains(mt, "/") || strings.ContainsAny(mt, " \t\"") {
		return def, params, []string{fmt.Sprintf("unreadable Content-Type %q; read as %s", truncateRunes(v, 80), def)}
	}
	return mt, params, []string{fmt.Sprintf("malformed Content-Type %q; read as %s", truncateRunes(v, 80), mt)}
}

// parseDisposition reads a Content-Disposition value (RFC 2183).
func parseDisposition(v string) (string, map[string]string) {
	if strings.TrimSpace(v) == "" {
		return "", map[string]string{}
	}
	d, params, err := mime.ParseMediaType(v)
	if err == nil {
		return d, params
	}
	return lenientParams(v)
}

// lenientParams splits "value; key=val; key="quoted; val"" without
// failing: duplicate keys keep their first value, stray text is skipped.
// Keys are lower-cased and RFC 2231 keys (name*, name*0*) kept as they are.
func lenientParams(v string) (string, map[string]string) {
	var segs []string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && inQuote && i+1 < len(v):
			cur.WriteByte(c)
			cur.WriteByte(v[i+1])
			i++
			continue
		case c == '"':
			inQuote = !inQuote
		case c == ';' && !inQuote:
			segs = append(segs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	segs = append(segs, cur.String())
	mt := strings.ToLower(strings.TrimSpace(segs[0]))
	params := map[string]string{}
	for _, s := range segs[1:] {
		k, val, ok := strings.Cut(s, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
			val = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(val)
		}
		if _, dup := params[k]; !dup && k != "" {
			params[k] = val
		}
	}
	return mt, params
}

// attachmentName returns the file name carried by a Content-Disposition or
// Content-Type value: the parsed parameter, or, when the standard library
// dropped an RFC 2231 value in a charset other than UTF-8, that value
// decoded by hand. The name is RFC 2047 decoded and reduced to a safe last
// path element.
func attachmentName(raw, parsed, key string, dec headerDecoder) string {
	name := parsed
	if name == "" && strings.Contains(strings.ToLower(raw), key+"*") {
		_, params := lenientParams(raw)
		name = rfc2231Value(params, key)
	}
	if name == "" {
		return ""
	}
	return safeFileName(dec.decode(name))
}

// rfc2231Value assembles an RFC 2231 parameter (sections 3 and 4):
// name*=charset'lang'%xx…, or continuations name*0*=…, name*1=….
func rfc2231Value(params map[string]string, key string) string {
	if v, ok := params[key+"*"]; ok {
		return decode2231(v, true)
	}
	type seg struct {
		n       int
		val     string
		encoded bool
	}
	var segs []seg
	for k, v := range params {
		rest, ok := strings.CutPrefix(k, key+"*")
		if !ok {
			continue
		}
		enc := strings.HasSuffix(rest, "*")
		n, err := strconv.Atoi(strings.TrimSuffix(rest, "*"))
		if err != nil || n < 0 || n > 999 {
			continue
		}
		segs = append(segs, seg{n, v, enc})
	}
	if len(segs) == 0 {
		return ""
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].n < segs[j].n })
	charset := ""
	var raw []byte
	for i, s := range segs {
		v := s.val
		if s.encoded {
			if i == 0 {
				parts := strings.SplitN(v, "'", 3)
				if len(parts) == 3 {
					charset, v = parts[0], parts[2]
				}
			}
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
		}
		raw = append(raw, v...)
	}
	s, _ := decodeCharset(raw, charset)
	return s
}

// decode2231 decodes one charset'lang'%xx value.
func decode2231(v string, withCharset bool) string {
	charset := ""
	if withCharset {
		parts := strings.SplitN(v, "'", 3)
		if len(parts) == 3 {
			charset, v = parts[0], parts[2]
		}
	}
	u, err := url.PathUnescape(v)
	if err != nil {
		u = v
	}
	s, _ := decodeCharset([]byte(u), charset)
	return s
}

// safeFileName reduces a sender-supplied name to its last path element,
// without control characters, at most 255 bytes.
func safeFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		return ""
	}
	if len(name) > 255 {
		cut := 0
		for i := range name {
			if i > 255 {
				break
			}
			cut = i
		}
		name = name[:cut]
	}
	return name
}
