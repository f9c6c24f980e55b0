package devmail

import (
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// idleRecheck is how often an IDLE session looks for queued updates even
// without a change notification (a safety net; notifications are exact).
const idleRecheck = time.Second

// imapSession is one IMAP connection: imapmemserver's UserSession (set at
// login) with devmail's own login rules, change notifications and an IDLE
// loop that cannot miss updates.
type imapSession struct {
	*imapmemserver.UserSession // nil until login

	srv *Server
	acc *account
}

var (
	_ imapserver.SessionIMAP4rev2   = (*imapSession)(nil)
	_ imapserver.SessionAppendLimit = (*imapSession)(nil)
)

// Login accepts the account address or, when unambiguous, its local part.
func (s *imapSession) Login(username, password string) error {
	a := s.srv.lookup(username)
	if a == nil {
		s.srv.log.Info("imap login failed", "reason", "unknown user")
		return imapserver.ErrAuthFailed
	}
	if err := a.user.Login(a.Address, password); err != nil {
		s.srv.log.Info("imap login failed", "reason", "bad password")
		return imapserver.ErrAuthFailed
	}
	s.acc = a
	s.UserSession = imapmemserver.NewUserSession(a.user)
	return nil
}

// Close ends the session.
func (s *imapSession) Close() error {
	if s.UserSession == nil {
		return nil
	}
	return s.UserSession.Close()
}

// AppendLimit advertises APPENDLIMIT, the same cap as SMTP.
func (s *imapSession) AppendLimit() uint32 { return uint32(s.srv.maxBytes) }

// Append stores a message from the client and wakes idling sessions.
func (s *imapSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	if r.Size() > s.srv.maxBytes {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: "Message too large"}
	}
	data, err := s.UserSession.Append(mailbox, r, options)
	if err == nil {
		s.acc.changed.notify()
	}
	return data, err
}

// Store changes flags and wakes idling sessions.
func (s *imapSession) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	defer s.acc.changed.notify()
	return s.UserSession.Store(w, numSet, flags, options)
}

// Expunge removes deleted messages and wakes idling sessions.
func (s *imapSession) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	defer s.acc.changed.notify()
	return s.UserSession.Expunge(w, uids)
}

// Copy copies messages and wakes idling sessions.
func (s *imapSession) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	defer s.acc.changed.notify()
	return s.UserSession.Copy(numSet, dest)
}

// Move moves messages and wakes idling sessions.
func (s *imapSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	defer s.acc.changed.notify()
	return s.UserSession.Move(w, numSet, dest)
}

// Idle replaces imapserver's SessionTracker.Idle, which in beta.8 registers
// for updates only after "+ idling" has gone out and never drains updates
// queued before it registered: a message delivered in that gap was not
// pushed until the next one arrived. Here the loop takes the account's
// change channel first, then flushes whatever is queued, then waits; every
// delivery queues its update before it notifies, so each update is either
// flushed by the Poll or wakes the next round. A one-second recheck is a
// further safety net.
func (s *imapSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	t := time.NewTicker(idleRecheck)
	defer t.Stop()
	for {
		changed := s.acc.changed.wait()
		if err := s.UserSession.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-changed:
		case <-t.C:
		}
	}
}
