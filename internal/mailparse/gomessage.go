package mailparse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// This file is the primary MIME path: go-message reads headers
// (textproto.ReadHeader), splits multiparts (textproto.MultipartReader) and
// decodes bodies (message.New, Entity.Body). The in-house readers in
// header.go, mime.go and decode.go take over only where go-message fails,
// one header or one part at a time, and a problem says so.

// Problems noted when go-message could not read something and the lenient
// in-house reader did.
const (
	problemHeaderLenient    = "header unreadable by go-message; read leniently"
	problemStructureLenient = "MIME structure unreadable by go-message; read leniently"
	problemNotClosed        = "multipart not closed by its final boundary; last part read to the end"
)

// maxHeaderLines bounds the header lines handed to go-message's header
// reader. It allocates a few hundred bytes per line (about 160 times the
// input for a flood of short fields); a header with more lines is read by
// the lenient splitter, which keeps maxHeaderFields fields.
const maxHeaderLines = maxHeaderFields

// part is one MIME entity to walk: its header in order, go-message's view of
// the same header (nil when go-message could not read it), its body as raw
// bytes (a slice of the message in memory) and its IMAP part number.
type part struct {
	h    header
	gm   *textproto.Header
	body []byte
	path string
}

// headerLen returns the length of the header block at the start of b,
// including the empty line that ends it (all of b when none does), and the
// number of lines in it. go-message's textproto.ReadHeader stops at the
// same empty line.
func headerLen(b []byte) (n, lines int) {
	pos := 0
	for pos < len(b) {
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			return len(b), lines + 1
		}
		lines++
		if i == 0 || (i == 1 && b[pos] == '\r') {
			return pos + i + 1, lines
		}
		pos += i + 1
	}
	return len(b), lines
}

// fitsGoMessage reports whether a header block is small enough to hand to
// go-message.
func fitsGoMessage(n, lines int) bool {
	return n <= maxHeaderBytes && lines <= maxHeaderLines
}

// scratch holds the buffers a parse reuses: the bufio.Reader go-message's
// header reader needs and the buffer part bodies are streamed through.
// They are pooled across Parse calls; nothing returned refers to them.
type scratch struct {
	br  *bufio.Reader
	rd  *bytes.Reader
	buf []byte
}

var scratchPool = sync.Pool{New: func() any {
	// go-message's multipart reader hands out at most its 4 KiB buffer at
	// a time, so a larger copy buffer would not be filled.
	return &scratch{br: bufio.NewReader(nil), rd: bytes.NewReader(nil), buf: make([]byte, 4<<10)}
}}

// gmReadHeader reads the header block b (as measured by headerLen) with
// go-message.
func (p *parser) gmReadHeader(b []byte) (textproto.Header, error) {
	s := p.scratch
	s.rd.Reset(b)
	s.br.Reset(s.rd)
	h, err := textproto.ReadHeader(s.br)
	s.br.Reset(nil)
	s.rd.Reset(nil)
	return h, err
}

// fieldsOf lists go-message's header fields in the order received.
func fieldsOf(th *textproto.Header) header {
	h := make(header, 0, th.Len())
	for f := th.Fields(); f.Next(); {
		h = append(h, field{name: f.Key(), value: f.Value()})
	}
	return h
}

// readHeader reads the header at the start of an entity (a message, a body
// part or a delivery-status block) with go-message's textproto.ReadHeader
// and returns its fields in order, go-message's header and the body that
// follows. Where go-message cannot read it (a junk line, a header that runs
// into the body without an empty line, a header too large to hand to
// go-message), the lenient splitHeader reads it instead, gm is nil and a
// problem says so. ok is false when raw does not start with a header field.
// top allows a leading mbox "From " line.
func (p *parser) readHeader(raw []byte, top bool) (h header, gm *textproto.Header, body []byte, problems []string, ok bool) {
	rest := raw
	if top && bytes.HasPrefix(rest, []byte("From ")) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return nil, nil, nil, nil, false
		}
		rest = rest[i+1:]
	}
	if n, lines := headerLen(rest); fitsGoMessage(n, lines) {
		th, err := p.gmReadHeader(rest[:n])
		if err == nil {
			if th.Len() == 0 {
				return nil, nil, nil, nil, false
			}
			return fieldsOf(&th), &th, rest[n:], nil, true
		}
	}
	h, body, problems, ok = splitHeader(raw, top)
	if !ok {
		return nil, nil, nil, nil, false
	}
	return h, nil, body, append([]string{problemHeaderLenient}, problems...), true
}

// partHeader separates a body part's header from its body. A part may
// legitimately have no header at all: it then starts with an empty line.
func (p *parser) partHeader(raw []byte) (header, *textproto.Header, []byte, []string) {
	if bytes.HasPrefix(raw, []byte("\r\n")) {
		return nil, nil, raw[2:], nil
	}
	if bytes.HasPrefix(raw, []byte("\n")) {
		return nil, nil, raw[1:], nil
	}
	h, gm, body, probs, ok := p.readHeader(raw, false)
	if !ok {
		return nil, nil, raw, []string{"part has no header; read as plain text"}
	}
	return h, gm, body, probs
}

// mailHeader wraps go-message's header for its typed getters (nil when the
// header was read leniently).
func mailHeader(gm *textproto.Header) *gomail.Header {
	if gm == nil {
		return nil
	}
	return &gomail.Header{Header: message.Header{Header: *gm}}
}

// errPartMoved stops reading a part whose bytes are not where the lenient
// split put them.
var errPartMoved = errors.New("part body is not where expected")

// prefixMatcher is the io.Writer a part body is streamed into. go-message
// hands out a part's body as raw bytes in order, so they are a slice of the
// multipart body in memory: prefixMatcher checks that they are the bytes at
// want and counts them, so that the part can be kept as a slice of the
// message rather than a copy.
type prefixMatcher struct {
	want []byte
	n    int
}

func (m *prefixMatcher) Write(b []byte) (int, error) {
	if len(b) > len(m.want)-m.n || !bytes.Equal(b, m.want[m.n:m.n+len(b)]) {
		return 0, errPartMoved
	}
	m.n += len(b)
	return len(b), nil
}

// readParts returns the body parts of a multipart body as go-message's
// multipart reader (textproto.MultipartReader) reads them. raws is the same
// body split by splitMultipart, and closeAt the offset of its closing
// delimiter line (-1 for none). Every delimiter line go-message accepts is
// one the lenient split accepts too, so each go-message part starts at one
// of raws. That split is used to
//   - keep each part as a slice of the message in memory (located by offset
//     and verified byte for byte), not a copy;
//   - bound the header go-message reads for the next part (see
//     maxHeaderLines);
//   - take over where go-message fails: a part header it cannot read, a line
//     it does not expect between parts, a part it ends somewhere the split
//     has no delimiter. That one part is read leniently, with a problem, and
//     go-message starts again at the next delimiter, so one broken part does
//     not throw away the good ones.
//
// At most limit parts are returned; capped reports that there were more.
func (w *walker) readParts(body []byte, boundary string, raws []rawPart, closeAt, limit int, path string) (kids []part, capped bool) {
	childPath := func() string {
		cp := strconv.Itoa(len(kids) + 1)
		if path != "" {
			cp = path + "." + cp
		}
		return cp
	}
	// partAt finds the part of raws whose delimiter line starts at off.
	partAt := func(off int) int {
		i := sort.Search(len(raws), func(i int) bool { return raws[i].at >= off })
		if i < len(raws) && raws[i].at == off {
			return i
		}
		return -1
	}
	next := 0 // the part of raws go-message reads next
	for next < len(raws) {
		mr := textproto.NewMultipartReader(bytes.NewReader(body[raws[next].at:]), boundary)
		failed := -1
		for failed < 0 {
			if len(kids) >= limit {
				return kids, true
			}
			j := next
			hn, lines := headerLen(raws[j].data)
			if !fitsGoMessage(hn, lines) {
				failed = j
				break
			}
			gp, err := mr.NextPart()
			if err != nil {
				// io.EOF too: go-message sees the end where the split
				// has a part.
				failed = j
				break
			}
			from := raws[j].from + hn
			pm := prefixMatcher{want: body[from:]}
			_, err = io.CopyBuffer(&pm, gp, w.p.scratch.buf)
			end := from + pm.n
			kid := part{h: fieldsOf(&gp.Header), gm: &gp.Header, body: body[from:end]}
			if err == io.ErrUnexpectedEOF && closeAt < 0 && partialDelimiter(body[end:], boundary) {
				// The body ends without the closing delimiter; go-message
				// has read the last part to the end (bar a line break that
				// could have begun a delimiter). Those bytes are the end of
				// the part: keep them, as the lenient split does.
				kid.body = body[from:]
				kid.path = childPath()
				kids = append(kids, kid)
				w.problem("%s", inPart(path, problemNotClosed))
				return kids, false
			}
			if err != nil {
				failed = j
				break
			}
			// The part ended before a delimiter line: find it in the split.
			after := end + 1
			if end < len(body) && body[end] == '\r' {
				after = end + 2
			}
			if closeAt >= 0 && after == closeAt {
				kid.path = childPath()
				kids = append(kids, kid)
				return kids, false
			}
			k := partAt(after)
			if k <= j {
				failed = j
				break
			}
			kid.path = childPath()
			kids = append(kids, kid)
			next = k
		}
		// go-message failed at raws[failed]: read that part leniently and
		// start go-message again after it.
		if len(kids) >= limit {
			return kids, true
		}
		cp := childPath()
		h, gm, pbody, probs := w.p.partHeader(raws[failed].data)
		if len(probs) == 0 || probs[0] != problemHeaderLenient {
			// The part's header alone is fine (or absent): what failed was
			// the structure around it.
			w.problem("%s", inPart(cp, problemStructureLenient))
		}
		w.problems(probs, cp)
		kids = append(kids, part{h: h, gm: gm, body: pbody, path: cp})
		if failed == len(raws)-1 && closeAt < 0 {
			w.problem("%s", inPart(path, problemNotClosed))
		}
		next = failed + 1
	}
	return kids, false
}

// partialDelimiter reports whether rest, the bytes go-message left after
// the last part of an unclosed multipart, could be the start of a
// delimiter line: a line break, perhaps followed by part of "--boundary".
func partialDelimiter(rest []byte, boundary string) bool {
	for _, nl := range []string{"\r\n", "\n"} {
		if bytes.HasPrefix([]byte(nl+"--"+boundary), rest) {
			return true
		}
	}
	return false
}

// inPart prefixes a problem with the part it concerns.
func inPart(path, problem string) string {
	if path == "" {
		return problem
	}
	return "part " + path + ": " + problem
}

// bodyWriter collects a decoded body: the first keep bytes, and the size of
// all of it.
type bodyWriter struct {
	buf  []byte
	keep int
	size int64
}

func (b *bodyWriter) Write(p []byte) (int, error) {
	b.size += int64(len(p))
	if room := b.keep - len(b.buf); room > 0 {
		if room > len(p) {
			room = len(p)
		}
		b.buf = append(b.buf, p[:room]...)
	}
	return len(p), nil
}

// identityEncoding reports whether go-message passes a body with this
// Content-Transfer-Encoding through unchanged.
func identityEncoding(cte string) bool {
	switch strings.ToLower(cte) {
	case "", "7bit", "8bit", "binary":
		return true
	}
	return false
}

// decoded is a body with its transfer encoding (and perhaps its charset)
// decoded.
type decoded struct {
	data      []byte // the first keep bytes
	size      int64  // the decoded size of the whole body
	converted bool   // go-message converted the charset to UTF-8
}

// decodeBody decodes a leaf entity's body with go-message: message.New
// undoes the Content-Transfer-Encoding and, when withCharset is set, the
// charset of a text/* part (go-message/charset is imported), and
// Entity.Body streams the result. Only the first keep bytes are kept.
//
// Where go-message fails (an encoding it does not know, broken base64 or
// quoted-printable) the lenient decoders in decode.go decode the raw body
// instead, the charset is left undecoded and a problem says so.
func (w *walker) decodeBody(e part, withCharset bool, keep int) (decoded, []string) {
	cte := e.h.get("Content-Transfer-Encoding")
	if identityEncoding(cte) && !withCharset {
		// go-message would hand out these very bytes.
		n := min(keep, len(e.body))
		return decoded{data: e.body[:n], size: int64(len(e.body))}, nil
	}
	var th textproto.Header
	if withCharset && e.gm != nil {
		th = *e.gm
	} else {
		if cte != "" {
			th.Add("Content-Transfer-Encoding", cte)
		}
		if ct := e.h.get("Content-Type"); withCharset && ct != "" {
			th.Add("Content-Type", ct)
		}
	}
	ent, err := message.New(message.Header{Header: th}, bytes.NewReader(e.body))
	if err != nil && !message.IsUnknownCharset(err) {
		// An encoding go-message does not know.
		data, probs := decodeTransfer(cte, e.body)
		if len(probs) == 0 {
			probs = []string{"Content-Transfer-Encoding " + quoteShort(cte) + " unknown to go-message; decoded leniently"}
		}
		return keepPrefix(data, keep), probs
	}
	bw := bodyWriter{keep: keep}
	if keep > 0 {
		bw.buf = make([]byte, 0, min(keep, len(e.body)))
	}
	if _, rerr := io.CopyBuffer(&bw, ent.Body, w.p.scratch.buf); rerr != nil {
		data, probs := decodeTransfer(cte, e.body)
		probs = append([]string{encodingName(cte) + " unreadable by go-message; decoded leniently"}, probs...)
		return keepPrefix(data, keep), probs
	}
	var probs []string
	if strings.EqualFold(cte, "quoted-printable") {
		if n := badQPEscapes(e.body); n > 0 {
			probs = []string{badQPProblem(n)}
		}
	}
	return decoded{data: bw.buf, size: bw.size, converted: withCharset && err == nil}, probs
}

// keepPrefix makes a decoded value from a body decoded in full.
func keepPrefix(data []byte, keep int) decoded {
	d := decoded{size: int64(len(data))}
	d.data = data[:min(keep, len(data))]
	return d
}

// encodingName names a Content-Transfer-Encoding for a problem.
func encodingName(cte string) string {
	switch c := strings.ToLower(strings.TrimSpace(cte)); c {
	case "base64", "quoted-printable":
		return c
	}
	return "body"
}

// quoteShort quotes a header value for a problem, cut to 40 characters.
func quoteShort(v string) string {
	return `"` + strings.ReplaceAll(truncateRunes(v, 40), `"`, `'`) + `"`
}
