package mailbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// metaBatch is how many messages one FETCH of sizes and dates covers.
const metaBatch = 200

// deliverBatch and deliverBatchBytes bound how many fetched messages (and
// bytes) are handed to the sink in one transaction. A backlog then costs
// one commit per batch instead of one per message; a single new message is
// still delivered at once, alone.
const (
	deliverBatch      = 64
	deliverBatchBytes = 16 << 20
)

// meta is what the poller learns about a message before fetching it.
type meta struct {
	uid          imap.UID
	size         int64
	internalDate time.Time
}

// sync is one fetch cycle: find every message above the checkpoint and, in
// UID order, fetch it, deliver it, and only then mark it \Seen. It stops
// at the first failure, so the checkpoint never passes a message that was
// not delivered; a sink failure is returned as *sinkError.
func (p *Poller) sync(ctx context.Context, c *imapclient.Client, dc *deadlineConn, uidValidity uint32) error {
	cpValidity, lastUID, ok, err := p.sink.Checkpoint(ctx, p.cfg.Mailbox)
	if err != nil {
		p.m.deliveryErrors.Inc()
		return &sinkError{fmt.Errorf("reading checkpoint: %w", err)}
	}
	switch {
	case !ok:
		lastUID = 0
	case cpValidity != uidValidity:
		// RFC 9051 section 2.3.1.1: UIDs from another UIDVALIDITY mean
		// nothing now. Read everything again; the sink's dedupe (by
		// Message-ID) absorbs what was already stored.
		p.mu.Lock()
		first := p.warnedUV != uidValidity
		p.warnedUV = uidValidity
		p.mu.Unlock()
		if first {
			p.log.Warn("mailbox UIDVALIDITY changed; rescanning from UID 1",
				"old_uid_validity", cpValidity, "uid_validity", uidValidity)
			p.m.uidValidityChanges.Inc()
		}
		lastUID = 0
	}

	uids, err := p.search(c, dc, lastUID)
	if err != nil {
		return err
	}
	p.setPending(len(uids))
	var (
		pending      []*Fetched
		pendingBytes int64
	)
	// flush hands the fetched messages to the sink in one transaction and
	// only then marks them \Seen.
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := p.sink.Deliver(ctx, pending); err != nil {
			p.m.deliveryErrors.Inc()
			if len(pending) == 1 {
				return &sinkError{fmt.Errorf("delivering UID %d: %w", pending[0].UID, err)}
			}
			// One bad message must not hold back the good ones before it:
			// deliver one at a time up to the one that fails.
			p.log.Warn("batch delivery failed; delivering one by one", "messages", len(pending), "error", err)
			for i, f := range pending {
				if err := p.sink.Deliver(ctx, pending[i:i+1]); err != nil {
					p.m.deliveryErrors.Inc()
					return &sinkError{fmt.Errorf("delivering UID %d: %w", f.UID, err)}
				}
				p.delivered(f)
				if err := p.markSeen(c, dc, imap.UID(f.UID)); err != nil {
					return err
				}
			}
			pending, pendingBytes = pending[:0], 0
			return nil
		}
		set := make([]imap.UID, 0, len(pending))
		for _, f := range pending {
			p.delivered(f)
			set = append(set, imap.UID(f.UID))
		}
		pending, pendingBytes = pending[:0], 0
		return p.markSeen(c, dc, set...)
	}
	for len(uids) > 0 {
		batch := uids[:min(len(uids), metaBatch)]
		metas, err := p.fetchMeta(c, dc, batch)
		if err != nil {
			return err
		}
		for _, uid := range batch {
			m, ok := metas[uid]
			if !ok {
				continue // expunged since the search
			}
			f, err := p.fetchMessage(c, dc, uidValidity, m)
			if err != nil {
				return err
			}
			if f == nil {
				continue // expunged since the size fetch
			}
			pending = append(pending, f)
			pendingBytes += int64(len(f.Raw))
			if len(pending) >= deliverBatch || pendingBytes >= deliverBatchBytes {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		uids = uids[len(batch):]
	}
	p.recordSuccess()
	return nil
}

func (p *Poller) delivered(f *Fetched) {
	p.m.fetched.Inc()
	if f.Truncated {
		p.m.oversized.Inc()
	}
	if !f.InternalDate.IsZero() {
		p.m.fetchLag.Observe(max(0, time.Since(f.InternalDate).Seconds()))
	}
	p.mu.Lock()
	p.status.Delivered++
	if p.status.Pending > 0 {
		p.status.Pending--
	}
	pending := p.status.Pending
	p.mu.Unlock()
	p.m.pending.Set(float64(pending))
	p.log.Debug("message stored", "uid_validity", f.UIDValidity, "uid", f.UID, "size", f.Size,
		"truncated", f.Truncated)
}

// search returns the UIDs above lastUID in ascending order. "UID n:*"
// always matches the highest message even when its UID is below n (RFC
// 9051 section 6.4.4: "*" is the largest UID in use), so the result is
// filtered.
func (p *Poller) search(c *imapclient.Client, dc *deadlineConn, lastUID uint32) ([]imap.UID, error) {
	if lastUID == math.MaxUint32 {
		return nil, nil
	}
	dc.arm(p.cfg.Timeout)
	defer dc.disarm()
	criteria := &imap.SearchCriteria{UID: []imap.UIDSet{{{Start: imap.UID(lastUID + 1), Stop: 0}}}}
	data, err := c.UIDSearch(criteria, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("searching UIDs above %d: %w", lastUID, err)
	}
	set, ok := data.All.(imap.UIDSet)
	if !ok {
		return nil, nil // no matches
	}
	all, ok := set.Nums()
	if !ok {
		return nil, errors.New("searching: the server returned a dynamic UID set")
	}
	uids := make([]imap.UID, 0, len(all))
	for _, u := range all {
		if uint32(u) > lastUID {
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	return slices.Compact(uids), nil
}

// fetchMeta fetches RFC822.SIZE and INTERNALDATE of uids.
func (p *Poller) fetchMeta(c *imapclient.Client, dc *deadlineConn, uids []imap.UID) (map[imap.UID]meta, error) {
	dc.arm(p.cfg.Timeout)
	defer dc.disarm()
	bufs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{
		UID: true, RFC822Size: true, InternalDate: true,
	}).Collect()
	if err != nil {
		return nil, fmt.Errorf("fetching sizes of %d messages: %w", len(uids), err)
	}
	out := make(map[imap.UID]meta, len(bufs))
	for _, b := range bufs {
		if b.UID != 0 {
			out[b.UID] = meta{uid: b.UID, size: b.RFC822Size, internalDate: b.InternalDate}
		}
	}
	return out, nil
}

// fetchMessage fetches one message with BODY.PEEK[] (never BODY[], which
// would set \Seen before the message is stored), or only BODY.PEEK[HEADER]
// when it is larger than MaxMessageSize. It returns nil when the message
// is gone.
func (p *Poller) fetchMessage(c *imapclient.Client, dc *deadlineConn, uidValidity uint32, m meta) (*Fetched, error) {
	f := &Fetched{
		Mailbox:      p.cfg.Mailbox,
		UIDValidity:  uidValidity,
		UID:          uint32(m.uid),
		Size:         m.size,
		InternalDate: m.internalDate,
	}
	key := [2]uint32{uidValidity, uint32(m.uid)}
	p.mu.Lock()
	headerOnly := p.headerOnly[key]
	p.mu.Unlock()
	if m.size <= p.cfg.MaxMessageSize && !headerOnly {
		raw, over, found, err := p.fetchSection(c, dc, m.uid, &imap.FetchItemBodySection{Peek: true}, p.cfg.MaxMessageSize, false)
		if err != nil && dc.capExceeded() {
			// The body is far larger than the server said; the connection
			// is gone. Next time fetch only its header.
			p.mu.Lock()
			if p.headerOnly == nil {
				p.headerOnly = map[[2]uint32]bool{}
			}
			p.headerOnly[key] = true
			p.mu.Unlock()
			p.log.Warn("message body far larger than the server's RFC822.SIZE; will store its header only",
				"uid_validity", uidValidity, "uid", uint32(m.uid), "size", m.size)
		}
		if err != nil || !found {
			return nil, err
		}
		if !over {
			f.Raw = raw
			return f, nil
		}
		// RFC822.SIZE understated the message; treat it as oversized.
	}
	limit := min(p.cfg.MaxMessageSize, maxHeaderSize)
	raw, over, found, err := p.fetchSection(c, dc, m.uid,
		&imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}, limit, true)
	if err != nil || !found {
		return nil, err
	}
	if over {
		// Keep whole header lines only.
		if i := bytes.LastIndex(raw, []byte("\r\n")); i >= 0 {
			raw = raw[:i+2]
		}
	}
	f.Raw = raw
	f.Truncated = true
	p.log.Info("message over the size limit; storing its header only", "uid_validity", uidValidity,
		"uid", f.UID, "size", m.size, "limit", p.cfg.MaxMessageSize)
	return f, nil
}

// fetchSection streams one body section of uid, keeping at most limit
// bytes. over reports that the section was larger; then data holds its
// first limit bytes when keepPrefix is set and is nil otherwise. found is
// false when the server returned no such message.
func (p *Poller) fetchSection(c *imapclient.Client, dc *deadlineConn, uid imap.UID, section *imap.FetchItemBodySection,
	limit int64, keepPrefix bool) (data []byte, over, found bool, err error) {
	dc.arm(p.cfg.Timeout)
	defer dc.disarm()
	cmd := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var (
			gotUID   imap.UID
			body     []byte
			bodyOver bool
			hasBody  bool
		)
		for {
			item := msg.Next()
			if item == nil {
				break
			}
			switch item := item.(type) {
			case imapclient.FetchItemDataUID:
				gotUID = item.UID
			case imapclient.FetchItemDataBodySection:
				if item.Literal == nil {
					continue
				}
				hasBody = true
				body, bodyOver, err = readLimited(item.Literal, limit, keepPrefix)
				if err != nil {
					// The stream is broken: drop the connection and leave
					// the command alone. Closing it would drain the literal
					// that imapclient's reader, having seen the error, has
					// already let go of (a data race in beta.8); the session
					// ends and closes the client.
					dc.Close()
					return nil, false, false, fmt.Errorf("reading UID %d: %w", uid, err)
				}
			}
		}
		if gotUID == uid && hasBody {
			data, over, found = body, bodyOver, true
		}
	}
	// Close drains whatever was not read (the rest of an oversized
	// literal) so the connection stays usable.
	if err := cmd.Close(); err != nil {
		return nil, false, false, fmt.Errorf("fetching UID %d: %w", uid, err)
	}
	return data, over, found, nil
}

// readLimited reads at most limit bytes of a literal. over reports that it
// is longer; its announced size is checked first, so an oversized body is
// not read at all unless keepPrefix asks for its first limit bytes.
func readLimited(r imap.LiteralReader, limit int64, keepPrefix bool) (data []byte, over bool, err error) {
	size := r.Size()
	if size > limit && !keepPrefix {
		return nil, true, nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(max(size, 0), limit)+1))
	if _, err := io.Copy(buf, io.LimitReader(r, limit+1)); err != nil {
		return nil, false, err
	}
	if n := int64(buf.Len()); n <= limit && n < size {
		// The connection ended inside the literal (a peer that closes
		// reads as EOF, which io.Copy takes for the end): the body is
		// incomplete, and imapclient's reader has already moved on.
		return nil, false, fmt.Errorf("literal ended after %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
	}
	if int64(buf.Len()) > limit {
		if !keepPrefix {
			return nil, true, nil
		}
		return buf.Bytes()[:limit], true, nil
	}
	return buf.Bytes(), false, nil
}

// markSeen sets \Seen on delivered messages (one STORE +FLAGS.SILENT). A
// refusal by the server is logged, not fatal: the checkpoint, not \Seen,
// records what was stored.
func (p *Poller) markSeen(c *imapclient.Client, dc *deadlineConn, uids ...imap.UID) error {
	dc.arm(p.cfg.Timeout)
	defer dc.disarm()
	err := c.Store(imap.UIDSetNum(uids...), &imap.StoreFlags{
		Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen},
	}, nil).Close()
	var ie *imap.Error
	if errors.As(err, &ie) {
		p.log.Warn("server refused to set \\Seen", "uids", len(uids), "first_uid", uint32(uids[0]), "error", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("setting \\Seen on %d messages from UID %d: %w", len(uids), uids[0], err)
	}
	return nil
}
