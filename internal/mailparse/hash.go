package mailparse

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// hashedFields are the header fields that identify a message's content.
// Trace fields (Received, Delivered-To, Return-Path, X-*) are left out: they
// differ between two deliveries of the same message.
var hashedFields = []string{"From", "To", "Cc", "Subject", "Date", "Message-Id"}

// ContentHash returns the hex SHA-256 of what identifies a message's
// content: its From, To, Cc, Subject, Date and Message-ID fields (unfolded,
// whitespace collapsed) and its body (line endings normalised to "\n",
// trailing white space dropped). Two deliveries of one message hash alike
// even when their trace headers or line endings differ. Input that is not
// a message is hashed the same way as a body.
func ContentHash(raw []byte) string {
	s := sha256.New()
	h, body, _, ok := splitHeader(raw, true)
	if !ok {
		body = raw
	} else {
		for _, name := range hashedFields {
			for _, v := range h.all(name) {
				s.Write([]byte(strings.ToLower(name)))
				s.Write([]byte{':'})
				s.Write([]byte(strings.Join(strings.Fields(v), " ")))
				s.Write([]byte{'\n'})
			}
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

// SynthesizedMessageID is the stand-in Message-ID (without <>) given to a
// message that has none, derived from its ContentHash so that a re-fetch of
// the same message gets the same one.
func SynthesizedMessageID(contentHash string) string {
	if len(contentHash) > 32 {
		contentHash = contentHash[:32]
	}
	return contentHash + "@synthesized.codedesk.invalid"
}
