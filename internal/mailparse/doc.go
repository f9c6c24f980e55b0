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
// Decoding builds on github.com/emersion/go-message: its charset tables
// (go-message/charset, backed by golang.org/x/text) and its address parser.
// MIME structure is split in memory by this package so that one malformed
// boundary line or part header does not stop the walk (go-message's
// streaming reader gives up at the first such line). HTML-only mail is turned
// into text with the HTML5 parser of golang.org/x/net/html; see
// docs/mail.md for why.
//
// NewText separates the new text of a reply from quoted history and the
// signature; ContentHash identifies a message's content across deliveries.
//
// All text returned uses "\n" line endings.
package mailparse
