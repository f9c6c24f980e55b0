// Package mailparse turns a raw RFC 5322 message into what codedesk's workers
// need: threading identifiers, decoded headers, the best body text, the HTML
// as received, attachments (with the text of text and CSV attachments),
// forwarded messages, and a verdict on whether the message must not be
// answered (auto-replies, bounces, list and bulk mail, our own mail).
//
// Parsing is lenient: Parse returns an error only for input that is not an
// email message at all. Every other defect (unknown charsets, broken base64
// or quoted-printable, malformed or duplicate headers, a missing Message-ID,
// truncated multiparts) is repaired as well as it can be and described in
// Message.Problems, so text that could be read is never lost.
//
// MIME is read with github.com/emersion/go-message: its header reader
// (textproto.ReadHeader), its multipart reader (textproto.MultipartReader)
// and its decoding (message.New and Entity.Body, with go-message/charset for
// charsets), and mail.Header for Message-ID, References, Date and Subject.
// Where go-message fails on a header or a body part, lenient in-house
// readers read that one header or part instead, go-message carries on with
// the next part, and a problem says so; see docs/mail.md. HTML-only mail is
// turned into text with the HTML5 parser of golang.org/x/net/html.
//
// NewText separates the new text of a reply from quoted history and the
// signature; ContentHash identifies a message's content across deliveries.
//
// All text returned uses "\n" line endings.
package mailparse
