package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/codedesk/codedesk/internal/store"
	"github.com/riverqueue/river"
)

// CopyFinder looks for a message by its Message-ID (without <>) in the
// desk's IMAP folders; mailbox.Copies implements it.
type CopyFinder interface {
	FindMessageID(ctx context.Context, messageID string) (found bool, folder string, err error)
}

// SentFiler files a sent reply in the desk's Sent folder; mailbox.Copies
// implements it.
type SentFiler interface {
	AppendSent(ctx context.Context, messageID string, raw []byte) error
}

// Delivery configures how replies go out beyond the SMTP server itself.
// The zero value sends without copies, limits or a Sent folder.
type Delivery struct {
	// CopyTo, when set, is BCC'd on every reply (normally the desk's own
	// address). The SMTP server accepting a reply and delivering that copy
	// are one step on its side, so the copy is the evidence a retry looks
	// for when the previous attempt's outcome was never recorded.
	CopyTo string
	// Copies finds such copies over IMAP (nil: only copies the poller
	// already stored are found).
	Copies CopyFinder
	// ServerFilesCopies says the mail server itself files what codedesk
	// submits in a folder Copies searches (Exchange Online's Sent Items,
	// Gmail's Sent Mail), which is evidence like CopyTo's copy.
	ServerFilesCopies bool
	// CopyGrace is how long after an attempt of unknown outcome a retry
	// keeps waiting for the copy before sending again (default 2 min).
	CopyGrace time.Duration
	// Sent, when set, files each sent reply in the Sent folder.
	Sent SentFiler
	// ReplyLimitPerSender and ReplyLimitPerThread cap the automatic
	// replies sent to one address, and in one case, within
	// ReplyLimitWindow (default 1 h); 0 disables a limit. A reply over a
	// limit waits for review instead.
	ReplyLimitPerSender int
	ReplyLimitPerThread int
	ReplyLimitWindow    time.Duration

	// afterAccept, when set (tests), runs after the SMTP server accepted a
	// reply and before it is recorded; an error stands for a crash there.
	afterAccept func(draftID int64) error
}

func (dl *Delivery) copyGrace() time.Duration {
	if dl.CopyGrace > 0 {
		return dl.CopyGrace
	}
	return 2 * time.Minute
}

func (dl *Delivery) window() time.Duration {
	if dl.ReplyLimitWindow > 0 {
		return dl.ReplyLimitWindow
	}
	return time.Hour
}

// verifies reports whether a copy of each reply is made and can be looked
// for, so that waiting for it makes sense.
func (dl *Delivery) verifies() bool {
	return dl.CopyTo != "" || (dl.ServerFilesCopies && dl.Copies != nil)
}

// SentCopyWorker files a sent reply in the Sent folder. Filing is
// idempotent (mailbox.Copies skips a reply already there), so River's
// retries are safe; a failure never affects the case.
type SentCopyWorker struct {
	river.WorkerDefaults[SentCopyArgs]
	w *Workers
}

// Work implements river.Worker.
func (scw *SentCopyWorker) Work(ctx context.Context, job *river.Job[SentCopyArgs]) error {
	d := scw.w.deps
	if d.Delivery.Sent == nil {
		return river.JobCancel(errors.New("no Sent folder configured"))
	}
	m, err := store.GetMessage(ctx, d.DB, job.Args.MessageID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return river.JobCancel(err)
		}
		return err
	}
	if m.Direction != store.Outbound || len(m.Raw) == 0 {
		return river.JobCancel(fmt.Errorf("message %d is not a sent reply with its text", m.ID))
	}
	if err := d.Delivery.Sent.AppendSent(ctx, m.MessageID, m.Raw); err != nil {
		d.Metrics.sentCopy(false)
		d.Logger.WarnContext(ctx, "filing a reply in the Sent folder failed", "job_id", job.ID, "message_id", m.ID,
			"attempt", job.Attempt, "error", err)
		return err
	}
	d.Metrics.sentCopy(true)
	d.Logger.InfoContext(ctx, "reply filed in the Sent folder", "job_id", job.ID, "message_id", m.ID)
	return nil
}
