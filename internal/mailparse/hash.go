package mailparse

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

// hashedFields are the header fields that identify a message's content.
// Trace fields (Received, Delivered-To, Return-Path, X-*) are left out: they
// differ between two deliveries of the same message.
var hashedFields = []string{"From", "To", "Cc", "Subject", "Date", "Message-Id"}

// isHashedField reports whether a field name, as written, is one of
// hashedFields.
func isHashedField(name []byte) bool {
	for _, f := range hashedFields {
		if bytes.EqualFold(name, []byte(f)) {
			return true
		}
	}
	return false
}

// ContentHash returns the hex SHA-256 of what identifies a message's
// content: its From, To, Cc, Subject, Date and Message-ID fields (unfolded,
// whitespace collapsed) and its body (line endings normalised to "\n",
// trailing white space dropped). Two deliveries of one message hash alike
// even when their trace headers or line endings differ. Input that is not
// a message is hashed the same way as a body.
func ContentHash(raw []byte) string {
	h, body, _, ok := splitHeaderKeep(raw, true, isHashedField)
	if !ok {
		return contentHash(nil, raw)
	}
	return contentHash(h, body)
}

// contentHash hashes the hashed fields in h and the body.
func contentHash(h header, body []byte) string {
	s := sha256.New()
	var line []byte
	for _, name := range hashedFields {
		lower := strings.ToLower(name)
		for _, f := range h {
			if f.name != name {
				continue
			}
			// name ":" value with white space collapsed, as
			// strings.Join(strings.Fields(value), " ") would give.
			line = append(line[:0], lower...)
			line = append(line, ':')
			line = appendCollapsed(line, f.value)
			line = append(line, '\n')
			s.Write(line)
		}
	}
	s.Write([]byte{'\n'})
	body = bytes.TrimRight(body, " \t\r\n")
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\r')
		if i < 0 {
			s.Write(body)
			break
		}
		s.Write(body[:i])
		if i+1 < len(body) && body[i+1] == '\n' {
			body = body[i+1:] // drop the CR of a CRLF
		} else {
			s.Write([]byte{'\n'}) // a lone CR is a line break too
			body = body[i+1:]
		}
	}
	return hex.EncodeToString(s.Sum(nil))
}

// hashableAsRead reports whether the header go-message read from the start
// of raw (ending before body) is the one splitHeader would read, so that
// its fields can be hashed without reading the header again. They differ
// only where go-message reads a line of white space as folding (splitHeader
// ends the header there) or skips a field with an empty name (splitHeader
// drops the line as junk); values differ only in white space, which
// ContentHash collapses.
func hashableAsRead(raw, body []byte) bool {
	hdr := raw[:len(raw)-len(body)]
	if bytes.HasPrefix(hdr, []byte("From ")) {
		_, hdr = cutLine(hdr) // the mbox line, skipped by both
	}
	for len(hdr) > 0 {
		line, rest := cutLine(hdr)
		if len(line) == 0 {
			return len(rest) == 0 // only the empty line that ends the header
		}
		if line[0] == ':' || len(bytes.TrimRight(line, " \t")) == 0 {
			return false
		}
		hdr = rest
	}
	return true
}

// appendCollapsed appends s to b with leading and trailing white space
// removed and every run of white space inside replaced by one space: the
// same as strings.Join(strings.Fields(s), " "), without allocating.
func appendCollapsed(b []byte, s string) []byte {
	start := len(b)
	for i := 0; i < len(s); {
		// Skip white space (strings.Fields's definition: ASCII white space
		// and unicode.IsSpace).
		for i < len(s) {
			if c := s[i]; c < utf8.RuneSelf {
				if !asciiSpace[c] {
					break
				}
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if !unicode.IsSpace(r) {
				break
			}
			i += size
		}
		// Copy the word that follows.
		j := i
		for j < len(s) {
			if c := s[j]; c < utf8.RuneSelf {
				if asciiSpace[c] {
					break
				}
				j++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[j:])
			if unicode.IsSpace(r) {
				break
			}
			j += size
		}
		if j > i {
			if len(b) > start {
				b = append(b, ' ')
			}
			b = append(b, s[i:j]...)
		}
		i = j
	}
	return b
}

// asciiSpace is strings.Fields's set of ASCII white space.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// SynthesizedMessageID is the stand-in Message-ID (without <>) given to a
// message that has none, derived from its ContentHash so that a re-fetch of
// the same message gets the same one.
func SynthesizedMessageID(contentHash string) string {
	if len(contentHash) > 32 {
		contentHash = contentHash[:32]
	}
	return contentHash + "@synthesized.codedesk.invalid"
}
