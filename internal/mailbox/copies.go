package mailbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Copies looks for, and files, copies of the desk's own replies in its IMAP
// account. The send worker uses it to close the window between the SMTP
// server accepting a reply and the database recording it: the reply is
// BCC'd to the desk, and before a retry sends again it asks FindMessageID
// whether a copy with the reply's Message-ID already arrived. AppendSent
// files a reply in the Sent folder (IMAP APPEND).
//
// Each call opens its own short connection (connect, log in, one or two
// commands, log out), separate from the poller's, so a slow search never
// holds up intake. Every call is bounded by the Config's Timeout per
// command and by ctx.
type Copies struct {
	cfg     Config
	folders []string
	sent    string
	// sem bounds the connections Copies holds at once, so a burst of
	// replies never runs into the server's per-user connection limit
	// (Dovecot: 10 per user and IP, one of them the poller's).
	sem chan struct{}
}

// maxCopySessions is how many connections Copies opens at once.
const maxCopySessions = 2

// NewCopies returns a Copies over the account in cfg (only Addr, Security,
// TLSConfig, Username, Password, Timeout and Logger are used). folders are
// searched by FindMessageID, in order (typically the mailbox the poller
// reads, where BCC copies land, and the Sent folder); sent is the folder
// AppendSent files replies in ("" disables AppendSent).
func NewCopies(cfg Config, folders []string, sent string) (*Copies, error) {
	cfg.Mailbox = "INBOX" // only to pass validation: Copies names its folders
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var fs []string
	for _, f := range folders {
		if f = strings.TrimSpace(f); f != "" {
			fs = append(fs, f)
		}
	}
	return &Copies{cfg: c, folders: fs, sent: strings.TrimSpace(sent), sem: make(chan struct{}, maxCopySessions)}, nil
}

// SentFolder is the folder AppendSent files replies in ("" when disabled).
func (cp *Copies) SentFolder() string { return cp.sent }

// session connects and logs in, runs fn, and logs out.
func (cp *Copies) session(ctx context.Context, fn func(c *imapclient.Client) error) error {
	select {
	case cp.sem <- struct{}{}:
		defer func() { <-cp.sem }()
	case <-ctx.Done():
		return ctx.Err()
	}
	c, dc, err := dial(ctx, &cp.cfg, &imapclient.Options{})
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { dc.Close() })
	defer stop()
	dc.arm(cp.cfg.Timeout)
	if err := c.WaitGreeting(); err != nil {
		return fmt.Errorf("waiting for the greeting of %s: %w", cp.cfg.Addr, err)
	}
	if err := login(ctx, c, &cp.cfg); err != nil {
		return err
	}
	if err := fn(c); err != nil {
		return err
	}
	_ = c.Logout().Wait()
	return nil
}

// FindMessageID reports whether a message with the given Message-ID
// (without <>) is in one of the folders. A folder that does not exist is
// skipped.
func (cp *Copies) FindMessageID(ctx context.Context, messageID string) (found bool, folder string, err error) {
	err = cp.session(ctx, func(c *imapclient.Client) error {
		for _, f := range cp.folders {
			ok, err := searchMessageID(c, f, messageID)
			if err != nil {
				return err
			}
			if ok {
				found, folder = true, f
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return false, "", fmt.Errorf("looking for a copy of a reply: %w", err)
	}
	return found, folder, nil
}

// searchMessageID examines folder (read-only) and searches it for the
// Message-ID header. A missing folder is not an error.
func searchMessageID(c *imapclient.Client, folder, messageID string) (bool, error) {
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return false, nil // no such folder
		}
		return false, fmt.Errorf("examining %s: %w", folder, err)
	}
	res, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{
		{Key: "Message-ID", Value: "<" + messageID + ">"},
	}}, nil).Wait()
	if err != nil {
		return false, fmt.Errorf("searching %s: %w", folder, err)
	}
	return len(res.AllUIDs()) > 0, nil
}

// ErrNoSentFolder is returned by AppendSent when no Sent folder is set.
var ErrNoSentFolder = errors.New("no Sent folder configured")

// AppendSent files raw (a reply with the given Message-ID) in the Sent
// folder, marked \Seen, creating the folder when it does not exist. It is
// idempotent: a reply already there (a retried job) is not filed twice.
func (cp *Copies) AppendSent(ctx context.Context, messageID string, raw []byte) error {
	if cp.sent == "" {
		return ErrNoSentFolder
	}
	err := cp.session(ctx, func(c *imapclient.Client) error {
		if ok, err := searchMessageID(c, cp.sent, messageID); err != nil || ok {
			return err
		}
		err := appendRaw(c, cp.sent, raw)
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Code == imap.ResponseCodeTryCreate {
			if err := c.Create(cp.sent, nil).Wait(); err != nil {
				return fmt.Errorf("creating %s: %w", cp.sent, err)
			}
			err = appendRaw(c, cp.sent, raw)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("filing a reply in the Sent folder: %w", err)
	}
	return nil
}

func appendRaw(c *imapclient.Client, folder string, raw []byte) error {
	cmd := c.Append(folder, int64(len(raw)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
	if _, err := cmd.Write(raw); err != nil {
		_ = cmd.Close()
		return fmt.Errorf("appending to %s: %w", folder, err)
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("appending to %s: %w", folder, err)
	}
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("appending to %s: %w", folder, err)
	}
	return nil
}
