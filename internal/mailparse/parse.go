package mailparse

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultMaxSize is the default limit on the size of a message read.
const DefaultMaxSize = 25 << 20

// Defaults for the other limits in Options.
const (
	DefaultMaxTextSize       = 2 << 20
	DefaultMaxAttachmentText = 1 << 20
	DefaultMaxParts          = 1000
)

// maxNesting bounds how deep multiparts and forwarded messages may nest.
const (
	maxMultipartDepth = 30
	maxForwardDepth   = 5
	maxReferences     = 100
	maxIDLength       = 998
	maxSubjectRunes   = 2000
	maxAddresses      = 500
)

// ErrNotMessage is returned by Parse for input that is not an email message
// at all (empty input, binary data, text without any header field).
var ErrNotMessage = errors.New("input is not an email message")

// Options tunes Parse. The zero value uses the defaults.
type Options struct {
	// MaxSize is the most bytes of the message read (default 25 MiB).
	// Bytes beyond it are ignored and Message.Truncated is set.
	MaxSize int64
	// MaxTextSize caps Text and HTML (default 2 MiB each).
	MaxTextSize int
	// MaxAttachmentText caps the text read from one text or CSV
	// attachment (default 1 MiB).
	MaxAttachmentText int
	// MaxParts caps how many MIME parts are examined (default 1000).
	MaxParts int
	// OwnAddresses are the desk's own addresses: mail from them is never
	// answered (Auto.Kind "own"). Compared case-insensitively.
	OwnAddresses []string
	// AnswerLists makes mailing-list mail (List-Id, Precedence: list)
	// answerable; by default it is marked with Auto.Kind "list".
	AnswerLists bool
}

func (o Options) withDefaults() Options {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxTextSize <= 0 {
		o.MaxTextSize = DefaultMaxTextSize
	}
	if o.MaxAttachmentText <= 0 {
		o.MaxAttachmentText = DefaultMaxAttachmentText
	}
	if o.MaxParts <= 0 {
		o.MaxParts = DefaultMaxParts
	}
	return o
}

// Address is one mailbox: an optional display name and an address.
type Address struct {
	Name string `json:"name,omitempty"`
	Addr string `json:"addr"`
}

// String formats the address as `"Name" <addr>` or just addr.
func (a Address) String() string {
	if a.Name == "" {
		return a.Addr
	}
	return fmt.Sprintf("%q <%s>", a.Name, a.Addr)
}

// Attachment describes one attachment (or inline resource) of a message.
type Attachment struct {
	// Name is the file name given by the sender, reduced to its last path
	// element, or a generated "attachment-<part>.<ext>" when none could be
	// read (NameGenerated is then true).
	Name          string `json:"name"`
	NameGenerated bool   `json:"name_generated,omitempty"`
	ContentType   string `json:"content_type"`
	// Inline is true for parts with Content-Disposition: inline (images in
	// HTML mail, for instance).
	Inline bool `json:"inline,omitempty"`
	// Part is the IMAP-style part number ("2", "1.3") in the message.
	Part string `json:"part"`
	// Size is the decoded size in bytes.
	Size int64 `json:"size"`
	// Text is the decoded text of text and CSV attachments (at most
	// Options.MaxAttachmentText bytes; TextTruncated tells when cut).
	Text          string `json:"text,omitempty"`
	TextTruncated bool   `json:"text_truncated,omitempty"`
}

// Kinds of mail that must not be answered (AutoInfo.Kind).
const (
	KindAutoReply = "auto_reply" // vacation and other automatic replies
	KindBounce    = "bounce"     // delivery-status notifications, standard or not
	KindList      = "list"       // mailing-list traffic (unless Options.AnswerLists)
	KindBulk      = "bulk"       // newsletters, Precedence: bulk/junk
	KindOwn       = "own"        // sent from one of our own addresses
	KindNoReply   = "no_reply"   // sent from a no-reply, mailer-daemon or postmaster address
)

// AutoInfo says why a message must not be answered. The zero value (Kind
// "") means it may be answered.
type AutoInfo struct {
	Kind   string `json:"kind,omitempty"`
	Reason string `json:"reason,omitempty"`
	// OriginalMessageID is, for a bounce, the Message-ID (without <>) of
	// the message that could not be delivered, when the bounce reports it.
	OriginalMessageID string `json:"original_message_id,omitempty"`
}

// Ignore reports whether the message must not be answered.
func (a AutoInfo) Ignore() bool { return a.Kind != "" }

// Message is what Parse read from one email.
type Message struct {
	// MessageID is the Message-ID without angle brackets. When the message
	// has none, it is a deterministic stand-in derived from ContentHash
	// ("<hash>@synthesized.codedesk.invalid"), so a re-fetch is recognised,
	// and MessageIDSynthesized is true.
	MessageID            string   `json:"message_id"`
	MessageIDSynthesized bool     `json:"message_id_synthesized,omitempty"`
	InReplyTo            string   `json:"in_reply_to,omitempty"`
	References           []string `json:"references,omitempty"`
	// Subject is RFC 2047 decoded.
	Subject string    `json:"subject"`
	From    Address   `json:"from"`
	ReplyTo []Address `json:"reply_to,omitempty"`
	To      []Address `json:"to,omitempty"`
	Cc      []Address `json:"cc,omitempty"`
	// ReturnPath is the envelope sender from the topmost Return-Path
	// field; HasReturnPath tells an empty one (<>, a bounce or
	// auto-reply) from a missing one.
	ReturnPath    string    `json:"return_path,omitempty"`
	HasReturnPath bool      `json:"has_return_path,omitempty"`
	Date          time.Time `json:"date"`
	// Text is the best body text: text/plain when there is one, otherwise
	// the HTML converted to readable text.
	Text string `json:"text"`
	// HTML is the text/html body as received (decoded to UTF-8), if any.
	// It is not sanitised.
	HTML        string       `json:"html,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// Forwarded holds the messages attached as message/rfc822 parts.
	Forwarded []*Message `json:"forwarded,omitempty"`
	// Auto says why the message must not be answered, if so.
	Auto AutoInfo `json:"auto"`
	// ContentHash is ContentHash of the bytes parsed.
	ContentHash string `json:"content_hash"`
	// Size is the size of the input in bytes; Truncated is set when only
	// the first Options.MaxSize bytes were read.
	Size      int64 `json:"size"`
	Truncated bool  `json:"truncated,omitempty"`
	// Problems lists what was wrong with the message and how it was read
	// anyway, e.g. "unknown charset x-foo; decoded as windows-1252".
	Problems []string `json:"problems,omitempty"`
}

// Parse reads one RFC 5322 message. It returns an error wrapping
// ErrNotMessage only when raw is not an email message at all; every other
// defect is repaired as well as it can be and listed in Message.Problems.
func Parse(raw []byte, opts Options) (*Message, error) {
	opts = opts.withDefaults()
	size := int64(len(raw))
	truncated := false
	if size > opts.MaxSize {
		raw = raw[:opts.MaxSize]
		truncated = true
	}
	p := &parser{opts: opts, scratch: scratchPool.Get().(*scratch)}
	m, err := p.parseMessage(raw, 0)
	scratchPool.Put(p.scratch)
	p.scratch = nil
	if err != nil {
		return nil, err
	}
	m.Size = size
	if truncated {
		m.Truncated = true
		m.Problems = append([]string{fmt.Sprintf("message is %d bytes; only the first %d were read", size, opts.MaxSize)}, m.Problems...)
	}
	if p.partsCapped {
		m.Problems = append(m.Problems, fmt.Sprintf("more than %d MIME parts; the rest were not examined", opts.MaxParts))
	}
	return m, nil
}

// parser carries the limits shared by a message and the messages nested in
// it, and buffers reused while reading them.
type parser struct {
	opts        Options
	parts       int
	partsCapped bool

	scratch *scratch // buffers reused while reading, from scratchPool
}

// parseMessage parses one message (the top level or a forwarded one).
func (p *parser) parseMessage(raw []byte, depth int) (*Message, error) {
	h, gm, body, problems, ok := p.readHeader(raw, true)
	if !ok || !looksLikeMessage(h) {
		return nil, fmt.Errorf("reading message header: %w", ErrNotMessage)
	}
	m := &Message{Problems: problems}
	if gm != nil && hashableAsRead(raw, body) {
		m.ContentHash = contentHash(h, body)
	} else {
		m.ContentHash = ContentHash(raw)
	}
	dec := headerDecoder{problems: &m.Problems}
	mh := mailHeader(gm)

	for _, name := range []string{"From", "Subject", "Date", "Message-Id", "In-Reply-To", "Sender", "Reply-To", "To", "Cc"} {
		if n := h.count(name); n > 1 {
			m.Problems = append(m.Problems, fmt.Sprintf("%d %s fields; used the first", n, name))
		}
	}

	// Identifiers (RFC 5322 section 3.6.4).
	if id := messageID(mh, h); id != "" {
		m.MessageID = id
	} else {
		if h.has("Message-Id") {
			m.Problems = append(m.Problems, "unreadable Message-ID; a stand-in derived from the content is used")
		}
		m.MessageID = SynthesizedMessageID(m.ContentHash)
		m.MessageIDSynthesized = true
	}
	if ids := msgIDList(mh, h, "In-Reply-To"); len(ids) > 0 {
		m.InReplyTo = ids[0]
	}
	refs := msgIDList(mh, h, "References")
	if len(refs) > maxReferences {
		m.Problems = append(m.Problems, fmt.Sprintf("%d References; kept the first and the last %d", len(refs), maxReferences-1))
		refs = append(refs[:1:1], refs[len(refs)-(maxReferences-1):]...)
	}
	m.References = refs

	subject := strings.Join(strings.Fields(decodeSubject(mh, h, dec)), " ")
	if n := len([]rune(subject)); n > maxSubjectRunes {
		subject = truncateRunes(subject, maxSubjectRunes)
		m.Problems = append(m.Problems, fmt.Sprintf("subject of %d characters cut to %d", n, maxSubjectRunes))
	}
	m.Subject = subject

	// Originator and destination fields (RFC 5322 sections 3.6.2, 3.6.3).
	if from := p.addressList(h, "From", dec, &m.Problems); len(from) > 0 {
		m.From = from[0]
	} else if sender := p.addressList(h, "Sender", dec, &m.Problems); len(sender) > 0 {
		m.From = sender[0]
		m.Problems = append(m.Problems, "no readable From; used Sender")
	} else {
		m.Problems = append(m.Problems, "no readable From address")
	}
	m.ReplyTo = p.addressList(h, "Reply-To", dec, &m.Problems)
	m.To = p.addressList(h, "To", dec, &m.Problems)
	m.Cc = p.addressList(h, "Cc", dec, &m.Problems)
	if rp := h.all("Return-Path"); len(rp) > 0 {
		m.HasReturnPath = true
		m.ReturnPath = parseReturnPath(rp[0])
	}
	if d := h.get("Date"); d != "" {
		t, err := headerDate(mh, d)
		if err != nil {
			m.Problems = append(m.Problems, fmt.Sprintf("unreadable Date %q", truncateRunes(d, 80)))
		} else {
			m.Date = t
		}
	} else {
		m.Problems = append(m.Problems, "no Date field")
	}

	// Body.
	w := &walker{p: p, m: m, depth: depth}
	b := w.entity(part{h: h, gm: gm, body: body}, 0, "text/plain")
	w.finish(b)

	m.Auto = detectAuto(h, m, w, p.opts)
	return m, nil
}

// finish sets Text and HTML from the body content found.
func (w *walker) finish(c content) {
	limit := w.p.opts.MaxTextSize
	html := strings.Join(c.html, "\n")
	if len(html) > limit {
		w.problem("HTML body of %d bytes cut to %d", len(html), limit)
		html = cutUTF8(html, limit)
	}
	w.m.HTML = html
	var parts []string
	for _, p := range c.plain {
		if t := strings.TrimSpace(p); t != "" {
			parts = append(parts, strings.Trim(p, "\n"))
		}
	}
	text := strings.Join(parts, "\n\n")
	if text == "" && strings.TrimSpace(html) != "" {
		text = HTMLToText(html)
	}
	text = strings.TrimRight(strings.TrimLeft(text, "\n"), " \t\n")
	if len(text) > limit {
		w.problem("body text of %d bytes cut to %d", len(text), limit)
		text = cutUTF8(text, limit)
	}
	w.m.Text = text
}

// cutUTF8 shortens s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
