package devmail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	_ "github.com/emersion/go-message/charset" // decode ISO-8859-x, windows-125x, … bodies
	gomail "github.com/emersion/go-message/mail"
	"github.com/wneessen/go-mail"
)

// Defaults for AskOptions, matching the dev mail server's demo accounts.
const (
	DefaultAskFrom     = "coder@clinic.test"
	DefaultAskPassword = "coder"
	DefaultAskTo       = "desk@codedesk.test"
	DefaultAskTimeout  = 60 * time.Second
	// DefaultAskRecheck is how often WaitReply searches again besides IDLE
	// pushes, which can be missed.
	DefaultAskRecheck = 2 * time.Second
)

// ErrNoReply is returned (wrapped) when no reply arrives in time.
var ErrNoReply = errors.New("no reply")

// AskOptions says who asks whom, where, and how long to wait. Empty fields
// take the Default* values and the devmail default addresses.
type AskOptions struct {
	// Question is the text to send; it must not be empty.
	Question string
	// Subject defaults to the question's first words.
	Subject string
	// From and Password are the asker's address and login (used for SMTP
	// AUTH and for IMAP); To is the desk.
	From, Password, To string
	// SMTPAddr and IMAPAddr are host:port. On loopback the connections are
	// plain text; elsewhere SMTP requires STARTTLS and IMAP uses TLS.
	SMTPAddr, IMAPAddr string
	// Timeout bounds the wait for the reply (not the send).
	Timeout time.Duration
	// Recheck is the interval of searches between IDLE pushes.
	Recheck time.Duration
	// Logger gets IDs and timings only. Nil discards.
	Logger *slog.Logger
}

func (o *AskOptions) defaults() {
	if o.From == "" {
		o.From = DefaultAskFrom
	}
	if o.Password == "" {
		o.Password = DefaultAskPassword
	}
	if o.To == "" {
		o.To = DefaultAskTo
	}
	if o.SMTPAddr == "" {
		o.SMTPAddr = DefaultSMTPAddr
	}
	if o.IMAPAddr == "" {
		o.IMAPAddr = DefaultIMAPAddr
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultAskTimeout
	}
	if o.Recheck <= 0 {
		o.Recheck = DefaultAskRecheck
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Subject == "" {
		o.Subject = SubjectFor(o.Question)
	}
}

// Reply is the desk's answer as found in the asker's INBOX.
type Reply struct {
	// UID is the message's IMAP UID in the INBOX.
	UID uint32
	// Subject, From and Date are decoded from the header.
	Subject, From string
	Date          time.Time
	// MessageID, InReplyTo and References are without angle brackets.
	MessageID, InReplyTo string
	References           []string
	// Text is the decoded text/plain body (UTF-8); empty when the message
	// has none.
	Text string
	// Raw is the whole message as stored.
	Raw []byte
}

// Ask sends the question (Send) and waits for the threaded reply
// (WaitReply). On timeout the error wraps ErrNoReply and says what to check.
func Ask(ctx context.Context, opts AskOptions) (*Reply, error) {
	opts.defaults()
	id, err := Send(ctx, opts)
	if err != nil {
		return nil, err
	}
	return WaitReply(ctx, opts, id)
}

// SubjectFor derives a subject from a question: its first line, cut at a
// word boundary to at most about 60 characters.
func SubjectFor(question string) string {
	line := strings.TrimSpace(question)
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	line = strings.Join(strings.Fields(line), " ")
	if line == "" {
		return "Coding question"
	}
	const maxLen = 60
	if utf8.RuneCountInString(line) <= maxLen {
		return line
	}
	var b strings.Builder
	for _, w := range strings.Fields(line) {
		if utf8.RuneCountInString(b.String())+1+utf8.RuneCountInString(w) > maxLen {
			break
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	if b.Len() == 0 { // one very long word
		b.WriteString(string([]rune(line)[:maxLen]))
	}
	return b.String() + "…"
}

// Send emails the question from opts.From to opts.To with go-mail and
// returns its Message-ID (without angle brackets).
func Send(ctx context.Context, opts AskOptions) (string, error) {
	opts.defaults()
	if strings.TrimSpace(opts.Question) == "" {
		return "", errors.New("sending question: the question is empty")
	}
	host, portStr, err := net.SplitHostPort(opts.SMTPAddr)
	if err != nil {
		return "", fmt.Errorf("sending question: smtp address %q: %w", opts.SMTPAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return "", fmt.Errorf("sending question: smtp port %q: %w", portStr, err)
	}

	m := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := m.From(opts.From); err != nil {
		return "", fmt.Errorf("sending question: from address: %w", err)
	}
	if err := m.To(opts.To); err != nil {
		return "", fmt.Errorf("sending question: to address: %w", err)
	}
	m.Subject(opts.Subject)
	id := newMessageID(opts.From)
	m.SetMessageIDWithValue(id)
	m.SetDate()
	m.SetBodyString(mail.TypeTextPlain, opts.Question)

	// go-mail defaults to TLSMandatory, which a plain-text loopback server
	// fails; loopback needs no TLS, anything else gets it mandatory.
	policy := mail.TLSMandatory
	if isLoopback(host) {
		policy = mail.NoTLS
	}
	copts := []mail.Option{
		mail.WithPort(port),
		mail.WithTLSPolicy(policy),
		mail.WithTimeout(30 * time.Second),
		mail.WithHELO("localhost"),
	}
	if opts.Password != "" {
		copts = append(copts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(opts.From), mail.WithPassword(opts.Password))
	}
	c, err := mail.NewClient(host, copts...)
	if err != nil {
		return "", fmt.Errorf("sending question: %w", err)
	}
	start := time.Now()
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return "", fmt.Errorf("sending question to %s: %w", opts.SMTPAddr, err)
	}
	opts.Logger.Debug("question sent", "message_id", id, "elapsed_ms", time.Since(start).Milliseconds())
	return id, nil
}

// newMessageID makes a unique Message-ID (without brackets) in the sender's
// domain.
func newMessageID(from string) string {
	domain := "codedesk.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok && d != "" {
		domain = strings.Trim(d, "<> ")
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("ask.%d.%s@%s", time.Now().Unix(), hex.EncodeToString(b[:]), domain)
}

// WaitReply logs in to opts.IMAPAddr as opts.From and waits, with IDLE and a
// search every opts.Recheck, for a message in INBOX whose In-Reply-To or
// References holds messageID. It returns the first such message; the reply
// may also have arrived before WaitReply was called.
func WaitReply(ctx context.Context, opts AskOptions, messageID string) (*Reply, error) {
	opts.defaults()
	messageID = strings.Trim(messageID, "<> ")
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	newMail := make(chan struct{}, 1)
	copts := &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case newMail <- struct{}{}:
					default:
					}
				}
			},
		},
		Dialer: &net.Dialer{Timeout: 10 * time.Second},
	}
	host, _, err := net.SplitHostPort(opts.IMAPAddr)
	if err != nil {
		return nil, fmt.Errorf("waiting for reply: imap address %q: %w", opts.IMAPAddr, err)
	}
	var c *imapclient.Client
	if isLoopback(host) {
		c, err = imapclient.DialInsecure(opts.IMAPAddr, copts)
	} else {
		c, err = imapclient.DialTLS(opts.IMAPAddr, copts)
	}
	if err != nil {
		return nil, fmt.Errorf("waiting for reply: connecting to IMAP %s: %w", opts.IMAPAddr, err)
	}
	defer c.Close()
	// Commands have no context: closing the connection unblocks them.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	timeoutErr := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("%w within %s: is `codedesk serve` running? It must read %s's mailbox on the same mail server (SMTP %s, IMAP %s; `make run` starts both); with auto-send off, the draft may be waiting for review in the staff desk",
				ErrNoReply, opts.Timeout, opts.To, opts.SMTPAddr, opts.IMAPAddr)
		}
		return err
	}

	if err := c.Login(opts.From, opts.Password).Wait(); err != nil {
		return nil, timeoutErr(fmt.Errorf("waiting for reply: logging in to IMAP as the asker: %w", err))
	}
	if _, err := c.Select(Inbox, nil).Wait(); err != nil {
		return nil, timeoutErr(fmt.Errorf("waiting for reply: selecting INBOX: %w", err))
	}
	canIdle := c.Caps().Has(imap.CapIdle) || c.Caps().Has(imap.CapIMAP4rev2)
	start := time.Now()
	criteria := &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{
		{Header: []imap.SearchCriteriaHeaderField{{Key: "In-Reply-To", Value: messageID}}},
		{Header: []imap.SearchCriteriaHeaderField{{Key: "References", Value: messageID}}},
	}}}
	for {
		data, err := c.UIDSearch(criteria, nil).Wait()
		if err != nil {
			return nil, timeoutErr(fmt.Errorf("waiting for reply: searching INBOX: %w", err))
		}
		for _, uid := range data.AllUIDs() {
			r, err := fetchReply(c, uid)
			if err != nil {
				return nil, timeoutErr(err)
			}
			if r.threadsOn(messageID) {
				opts.Logger.Debug("reply found", "message_id", messageID, "uid", uid, "elapsed_ms", time.Since(start).Milliseconds())
				_ = c.Logout().Wait()
				return r, nil
			}
		}

		var idle *imapclient.IdleCommand
		if canIdle {
			if idle, err = c.Idle(); err != nil {
				return nil, timeoutErr(fmt.Errorf("waiting for reply: starting IDLE: %w", err))
			}
		}
		t := time.NewTimer(opts.Recheck)
		select {
		case <-newMail:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		if ctx.Err() != nil {
			return nil, timeoutErr(ctx.Err())
		}
		if idle != nil {
			if err := idle.Close(); err != nil {
				return nil, timeoutErr(fmt.Errorf("waiting for reply: ending IDLE: %w", err))
			}
			if err := idle.Wait(); err != nil {
				return nil, timeoutErr(fmt.Errorf("waiting for reply: ending IDLE: %w", err))
			}
		}
	}
}

// threadsOn reports whether the reply's In-Reply-To or References name id.
func (r *Reply) threadsOn(id string) bool {
	if r.InReplyTo == id {
		return true
	}
	for _, ref := range r.References {
		if ref == id {
			return true
		}
	}
	return false
}

// fetchReply fetches one message by UID (without setting \Seen) and parses it.
func fetchReply(c *imapclient.Client, uid imap.UID) (*Reply, error) {
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return nil, fmt.Errorf("waiting for reply: fetching UID %d: %w", uid, err)
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("waiting for reply: UID %d vanished", uid)
	}
	r, err := ParseReply(msgs[0].FindBodySection(section))
	if err != nil {
		return nil, fmt.Errorf("waiting for reply: UID %d: %w", uid, err)
	}
	r.UID = uint32(uid)
	return r, nil
}

// ParseReply decodes a raw message into a Reply: header fields and the first
// text/plain part, converted to UTF-8 from its declared charset.
func ParseReply(raw []byte) (*Reply, error) {
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil && mr == nil {
		return nil, fmt.Errorf("parsing reply: %w", err)
	}
	defer mr.Close()
	h := mr.Header
	r := &Reply{Raw: raw}
	if r.Subject, err = h.Subject(); err != nil {
		r.Subject = h.Get("Subject")
	}
	r.From = h.Get("From")
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		r.From = from[0].String()
		if dec, err := new(mime.WordDecoder).DecodeHeader(r.From); err == nil {
			r.From = dec
		}
	}
	r.Date, _ = h.Date()
	r.MessageID, _ = h.MessageID()
	if ids, err := h.MsgIDList("In-Reply-To"); err == nil && len(ids) > 0 {
		r.InReplyTo = ids[0]
	}
	r.References, _ = h.MsgIDList("References")

	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return r, fmt.Errorf("parsing reply body: %w", err)
		}
		ih, ok := p.Header.(*gomail.InlineHeader)
		if !ok {
			continue
		}
		if ct, _, _ := ih.ContentType(); ct != "" && ct != "text/plain" {
			continue
		}
		b, err := io.ReadAll(p.Body)
		if err != nil {
			return r, fmt.Errorf("reading reply text: %w", err)
		}
		r.Text = strings.ReplaceAll(string(b), "\r\n", "\n")
		break
	}
	return r, nil
}
