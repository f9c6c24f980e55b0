package mailparse

import (
	"bytes"
	"fmt"
	"net/textproto"
	"strings"
)

// field is one header field: its canonical name and its unfolded raw value.
type field struct {
	name  string // canonical, e.g. "Message-Id"
	value string // unfolded (RFC 5322 section 2.2.3), not yet RFC 2047 decoded
}

// header is a message or part header in the order received.
type header []field

// get returns the first value of the named field, or "".
func (h header) get(name string) string {
	name = textproto.CanonicalMIMEHeaderKey(name)
	for _, f := range h {
		if f.name == name {
			return f.value
		}
	}
	return ""
}

// has reports whether the named field is present (even if empty).
func (h header) has(name string) bool {
	name = textproto.CanonicalMIMEHeaderKey(name)
	for _, f := range h {
		if f.name == name {
			return true
		}
	}
	return false
}

// count returns how many times the named field occurs.
func (h header) count(name string) int {
	name = textproto.CanonicalMIMEHeaderKey(name)
	n := 0
	for _, f := range h {
		if f.name == name {
			n++
		}
	}
	return n
}

// all returns every value of the named field, in order.
func (h header) all(name string) []string {
	name = textproto.CanonicalMIMEHeaderKey(name)
	var vs []string
	for _, f := range h {
		if f.name == name {
			vs = append(vs, f.value)
		}
	}
	return vs
}

// Limits on header parsing, so hostile input cannot make us work forever.
const (
	maxHeaderFields = 5000
	maxHeaderBytes  = 4 << 20
)

// knownFields are fields of which at least one must be present for the input
// to count as an email message at all.
var knownFields = map[string]bool{
	"From": true, "To": true, "Cc": true, "Subject": true, "Date": true, "Message-Id": true,
	"Received": true, "Return-Path": true, "Mime-Version": true, "Content-Type": true,
	"Delivered-To": true, "Sender": true, "Reply-To": true, "In-Reply-To": true,
	"References": true, "X-Mailer": true, "Content-Transfer-Encoding": true,
}

// splitHeader separates the header of an entity from its body. It is
// lenient: a leading mbox "From " line is skipped, junk lines inside the
// header are dropped and a header that runs into the body without a blank
// line ends where the first non-field line is. ok is false only when the
// input does not start with a header field at all. top allows a leading
// mbox "From " line.
func splitHeader(raw []byte, top bool) (h header, body []byte, problems []string, ok bool) {
	return splitHeaderKeep(raw, top, nil)
}

// splitHeaderKeep is splitHeader returning only the fields for which keep
// (given the field name as written) is true; nil keeps all. The others are
// still read, counted and checked, so the header ends at the same place.
func splitHeaderKeep(raw []byte, top bool, keep func(name []byte) bool) (h header, body []byte, problems []string, ok bool) {
	rest := raw
	// An mbox "From " separator line may precede a message's header.
	if top && bytes.HasPrefix(rest, []byte("From ")) {
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			rest = rest[i+1:]
		} else {
			return nil, nil, nil, false
		}
	}
	var (
		inField  bool             // a field is being read
		cur      *strings.Builder // its value, when it is kept
		curName  []byte
		fields   int // fields read
		total    int
		dropped  int
		overflow bool
	)
	flush := func() {
		if !inField {
			return
		}
		if fields < maxHeaderFields {
			if cur != nil {
				h = append(h, field{name: textproto.CanonicalMIMEHeaderKey(string(curName)), value: cur.String()})
			}
			fields++
		} else {
			overflow = true
		}
		inField, cur = false, nil
	}
	for len(rest) > 0 {
		line, next := cutLine(rest)
		if len(bytes.TrimRight(line, " \t")) == 0 && (len(line) == 0 || inField || fields > 0) {
			// Blank line: end of header. (A whitespace-only line ends it too;
			// some generators emit one.)
			rest = next
			flush()
			body = rest
			goto done
		}
		total += len(line)
		if total > maxHeaderBytes {
			problems = append(problems, fmt.Sprintf("header longer than %d bytes; the rest was treated as body", maxHeaderBytes))
			flush()
			body = rest
			goto done
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !inField {
				if fields == 0 {
					return nil, nil, nil, false
				}
				dropped++
				rest = next
				continue
			}
			if cur != nil && cur.Len() < maxHeaderBytes {
				t := bytes.TrimSpace(line)
				if len(t) > 0 {
					if cur.Len() > 0 {
						cur.WriteByte(' ')
					}
					cur.Write(t)
				}
			}
			rest = next
			continue
		}
		name, value, isField := parseFieldLine(line)
		if !isField {
			if !inField && fields == 0 {
				return nil, nil, nil, false
			}
			// A junk line. If header fields follow, skip it; otherwise the
			// header ended without the blank line and the body starts here.
			if n, _ := cutLine(next); len(n) > 0 {
				if _, _, f := parseFieldLine(n); f {
					dropped++
					rest = next
					continue
				}
			}
			problems = append(problems, "header not ended by a blank line; body taken from the first line that is not a header field")
			flush()
			body = rest
			goto done
		}
		flush()
		inField, curName = true, name
		if fields < maxHeaderFields && (keep == nil || keep(name)) {
			cur = &strings.Builder{}
			cur.Write(value)
		}
		rest = next
	}
	// Input ended inside the header: a header-only message.
	flush()
	body = nil
done:
	if dropped > 0 {
		problems = append(problems, fmt.Sprintf("dropped %d malformed header line(s)", dropped))
	}
	if overflow {
		problems = append(problems, fmt.Sprintf("more than %d header fields; the rest were ignored", maxHeaderFields))
	}
	if fields == 0 {
		return nil, nil, problems, false
	}
	return h, body, problems, true
}

// parseFieldLine splits "Name: value" and reports whether line is a field.
// name is the field name as written, without trailing white space.
func parseFieldLine(line []byte) (name, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, false
	}
	key := bytes.TrimRight(line[:colon], " \t")
	if len(key) == 0 {
		return nil, nil, false
	}
	for _, c := range key {
		if c < 33 || c > 126 {
			return nil, nil, false
		}
	}
	return key, bytes.TrimSpace(line[colon+1:]), true
}

// cutLine returns the first line of b without its line ending, and the rest.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return bytes.TrimSuffix(b, []byte("\r")), nil
	}
	return bytes.TrimSuffix(b[:i], []byte("\r")), b[i+1:]
}

// looksLikeMessage reports whether h has at least one field that email
// messages carry.
func looksLikeMessage(h header) bool {
	for _, f := range h {
		if knownFields[f.name] {
			return true
		}
	}
	return false
}
