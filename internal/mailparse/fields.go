package mailparse

import (
	"errors"
	"fmt"
	netmail "net/mail"
	"regexp"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"
)

// idList collects message identifiers without duplicates, dropping
// empty and over-long ones.
type idList struct {
	ids  []string
	seen map[string]bool
}

func (l *idList) add(id string) {
	id = strings.Join(strings.Fields(id), "")
	id = strings.Trim(id, "<>\"',;")
	if id == "" || len(id) > maxIDLength || l.seen[id] {
		return
	}
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	l.seen[id] = true
	l.ids = append(l.ids, id)
}

// messageID returns the Message-ID without angle brackets, "" when there
// is none or it cannot be read. go-message's msg-id parser
// (mail.Header.MessageID) reads it when go-message read the header; the
// lenient parseMsgIDs reads what that parser rejects (an ID without angle
// brackets, with spaces inside) and headers read leniently.
func messageID(mh *gomail.Header, h header) string {
	if mh != nil {
		if id, err := mh.MessageID(); err == nil && id != "" {
			var l idList
			l.add(id)
			if len(l.ids) == 1 {
				return l.ids[0]
			}
		}
	}
	if ids := parseMsgIDs(h.get("Message-Id")); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// msgIDList returns the identifiers of an In-Reply-To or References field
// (RFC 5322 section 3.6.4) without angle brackets or duplicates. A single
// field is read with go-message's parser (mail.Header.MsgIDList) when
// go-message read the header; repeated fields, headers read leniently and
// lists that parser rejects (commas, IDs without brackets) are read by the
// lenient parseMsgIDs.
func msgIDList(mh *gomail.Header, h header, name string) []string {
	vals := h.all(name)
	if len(vals) == 0 {
		return nil
	}
	if mh != nil && len(vals) == 1 {
		if ids, err := mh.MsgIDList(name); err == nil {
			var l idList
			for _, id := range ids {
				l.add(id)
			}
			return l.ids
		}
	}
	return parseMsgIDs(strings.Join(vals, " "))
}

// parseMsgIDs extracts message identifiers (RFC 5322 section 3.6.4) without
// their angle brackets. It tolerates comments, commas, missing brackets and
// folding whitespace inside brackets.
func parseMsgIDs(v string) []string {
	v = stripComments(v)
	var l idList
	if strings.Contains(v, "<") {
		for {
			i := strings.IndexByte(v, '<')
			if i < 0 {
				break
			}
			j := strings.IndexByte(v[i:], '>')
			if j < 0 {
				l.add(v[i+1:])
				break
			}
			l.add(v[i+1 : i+j])
			v = v[i+j+1:]
		}
		return l.ids
	}
	for _, tok := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
		if strings.Contains(tok, "@") {
			l.add(tok)
		}
	}
	return l.ids
}

// headerDate reads a Date field: with go-message (mail.Header.Date, which
// is net/mail's RFC 5322 parser) when go-message read the header, and with
// parseDate's fallbacks for common deviations when that fails.
func headerDate(mh *gomail.Header, v string) (time.Time, error) {
	if mh != nil {
		if t, err := mh.Date(); err == nil && !t.IsZero() {
			return t, nil
		}
		return parseDateLenient(v)
	}
	return parseDate(v)
}

// decodeSubject returns the Subject with RFC 2047 encoded-words decoded:
// by go-message (mail.Header.Subject) when it read the header and every
// encoded-word is in a charset the standard library's word decoder reads
// itself (UTF-8, ISO-8859-1, US-ASCII: almost all mail). Otherwise, or
// when go-message fails, or for raw 8-bit or ISO-2022-JP bytes in the
// field, headerDecoder decodes it with decodeCharset's fallbacks. (For
// other charsets go-message/charset's readers would give the same text
// where they agree with decodeCharset, but through the word decoder's
// 32 KiB copy buffer and x/text's 8 KiB transform buffers per word.)
func decodeSubject(mh *gomail.Header, h header, dec headerDecoder) string {
	v := h.get("Subject")
	if mh != nil && isASCII(v) && !looksISO2022JP([]byte(v)) && nativeWords(v) {
		if s, err := mh.Subject(); err == nil {
			return clean(s)
		}
	}
	return dec.decode(v)
}

// encodedWordCharset finds the charset labels of RFC 2047 encoded-words.
var encodedWordCharset = regexp.MustCompile(`=\?([^?*]+)(?:\*[^?]*)?\?[bBqQ]\?`)

// nativeWords reports whether every encoded-word in v is in a charset the
// standard library's mime.WordDecoder decodes without a CharsetReader.
func nativeWords(v string) bool {
	if !strings.Contains(v, "=?") {
		return true
	}
	words := encodedWordCharset.FindAllStringSubmatch(v, 101)
	if len(words) > 100 {
		return false
	}
	for _, m := range words {
		switch strings.ToLower(m[1]) {
		case "utf-8", "iso-8859-1", "us-ascii":
		default:
			return false
		}
	}
	return true
}

// stripComments removes RFC 5322 comments ("(…)", nested) outside quotes
// and angle brackets.
func stripComments(v string) string {
	if !strings.Contains(v, "(") {
		return v
	}
	var b strings.Builder
	depth, inQuote, inAngle := 0, false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case depth > 0:
			if c == '\\' {
				i++
			} else if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
			continue
		case c == '"' && !inAngle:
			inQuote = !inQuote
		case c == '<' && !inQuote:
			inAngle = true
		case c == '>' && !inQuote:
			inAngle = false
		case c == '(' && !inQuote && !inAngle:
			depth = 1
			b.WriteByte(' ')
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// parseReturnPath returns the address in a Return-Path field, "" for <>.
func parseReturnPath(v string) string {
	v = strings.TrimSpace(stripComments(v))
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j >= 0 {
			v = v[i+1 : i+j]
		} else {
			v = v[i+1:]
		}
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// addrSpec finds bare addresses when a field cannot be parsed strictly.
var addrSpec = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9.-]+|[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@\[[0-9.:A-Fa-f]+\]`)

// addressList reads an address field (all its occurrences), strictly with
// go-message's parser first and leniently when that fails.
func (p *parser) addressList(h header, name string, dec headerDecoder, problems *[]string) []Address {
	vals := h.all(name)
	if len(vals) == 0 {
		return nil
	}
	v := strings.TrimSpace(strings.Join(vals, ", "))
	if v == "" || v == "," {
		return nil
	}
	if !isASCII(v) {
		// Raw 8-bit in an address field: decode the bytes as text first.
		v = dec.decode(v)
	}
	var out []Address
	list, err := gomail.ParseAddressList(v)
	if err == nil {
		for _, a := range list {
			out = append(out, Address{Name: clean(a.Name), Addr: strings.TrimSpace(a.Address)})
		}
	} else {
		out = lenientAddresses(v, dec)
		if len(out) == 0 {
			if !isGroupOnly(v) {
				*problems = append(*problems, fmt.Sprintf("no address could be read from the %s field", name))
			}
			return nil
		}
		*problems = append(*problems, fmt.Sprintf("malformed %s field; addresses read leniently", name))
	}
	if len(out) > maxAddresses {
		*problems = append(*problems, fmt.Sprintf("%d addresses in %s; kept the first %d", len(out), name, maxAddresses))
		out = out[:maxAddresses]
	}
	return out
}

// isGroupOnly reports whether v is an empty group such as
// "undisclosed-recipients:;".
func isGroupOnly(v string) bool {
	v = strings.TrimSpace(v)
	return strings.HasSuffix(v, ";") && strings.Contains(v, ":") && !strings.Contains(v, "@")
}

// lenientAddresses splits an address list at commas and semicolons outside
// quotes and angle brackets and picks the address out of each piece.
func lenientAddresses(v string, dec headerDecoder) []Address {
	var pieces []string
	var cur strings.Builder
	inQuote, inAngle := false, false
	for _, r := range v {
		switch {
		case r == '"' && !inAngle:
			inQuote = !inQuote
		case r == '<' && !inQuote:
			inAngle = true
		case r == '>' && !inQuote:
			inAngle = false
		case (r == ',' || r == ';') && !inQuote && !inAngle:
			pieces = append(pieces, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	pieces = append(pieces, cur.String())
	var out []Address
	for _, piece := range pieces {
		piece = strings.TrimSpace(stripComments(piece))
		addr := ""
		name := piece
		if i := strings.LastIndexByte(piece, '<'); i >= 0 {
			end := strings.IndexByte(piece[i:], '>')
			inner := piece[i+1:]
			if end >= 0 {
				inner = piece[i+1 : i+end]
			}
			addr = addrSpec.FindString(inner)
			name = piece[:i]
		} else {
			addr = addrSpec.FindString(piece)
			name = strings.Replace(piece, addr, "", 1)
		}
		if addr == "" {
			continue
		}
		if k := strings.IndexByte(name, ':'); k >= 0 && !strings.Contains(name[:k], `"`) {
			name = name[k+1:] // group display name "team: a@b"
		}
		name = strings.Trim(strings.TrimSpace(name), `"' `)
		out = append(out, Address{Name: dec.decode(name), Addr: addr})
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// dateLayouts are tried, in order, when net/mail cannot read a Date field.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 2006 15:04:05",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon, Jan 2 2006 15:04:05 -0700",
	"Monday, January 2, 2006 3:04 PM",
	"January 2, 2006 3:04:05 PM MST",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02T15:04:05Z07:00",
	"02.01.2006 15:04:05",
}

// gmtOffset matches zones such as "GMT+0100" or "UTC-05:00".
var gmtOffset = regexp.MustCompile(`(?i)\b(?:GMT|UTC)\s*([+-]\d{2}):?(\d{2})\b`)

// parseDate reads a Date field (RFC 5322 section 3.3), with fallbacks for
// common deviations.
func parseDate(v string) (time.Time, error) {
	if t, err := netmail.ParseDate(strings.TrimSpace(v)); err == nil {
		return t, nil
	}
	return parseDateLenient(v)
}

// parseDateLenient reads a Date field that net/mail's RFC 5322 parser
// rejected.
func parseDateLenient(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	s := strings.Join(strings.Fields(stripComments(v)), " ")
	s = gmtOffset.ReplaceAllString(s, "$1$2")
	s = strings.TrimSuffix(s, ".")
	if t, err := netmail.ParseDate(s); err == nil {
		return t, nil
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	// Without the weekday (which is sometimes wrong or misspelt).
	if i := strings.IndexByte(s, ','); i >= 0 && i < 12 {
		rest := strings.TrimSpace(s[i+1:])
		if t, err := netmail.ParseDate(rest); err == nil {
			return t, nil
		}
		for _, layout := range dateLayouts {
			if t, err := time.Parse(layout, rest); err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, errors.New("unrecognised date")
}
