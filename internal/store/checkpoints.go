package store

import (
	"context"
	"fmt"
	"time"
)

// Checkpoint is how far the poller has read a mailbox: every message with a
// UID up to LastUID under this UIDVALIDITY is stored.
type Checkpoint struct {
	Mailbox     string
	UIDValidity uint32
	LastUID     uint32
	UpdatedAt   time.Time
}

// GetCheckpoint loads a mailbox's checkpoint; ErrNotFound before the first
// fetch.
func GetCheckpoint(ctx context.Context, q Querier, mailbox string) (Checkpoint, error) {
	c := Checkpoint{Mailbox: mailbox}
	var uv, last int64
	err := q.QueryRow(ctx, "SELECT uid_validity, last_uid, updated_at FROM mailbox_checkpoints WHERE mailbox = ?", mailbox).
		Scan(&uv, &last, &c.UpdatedAt)
	if err != nil {
		return c, fmt.Errorf("loading checkpoint of %s: %w", mailbox, err)
	}
	c.UIDValidity, c.LastUID = uint32(uv), uint32(last)
	return c, nil
}

// SaveCheckpoint records a mailbox's checkpoint. Within one UIDVALIDITY the
// last UID never moves backwards.
func SaveCheckpoint(ctx context.Context, q Querier, c Checkpoint) error {
	_, err := q.Exec(ctx, `INSERT INTO mailbox_checkpoints (mailbox, uid_validity, last_uid, updated_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (mailbox) DO UPDATE SET
			last_uid = CASE WHEN mailbox_checkpoints.uid_validity = excluded.uid_validity
				AND mailbox_checkpoints.last_uid > excluded.last_uid
				THEN mailbox_checkpoints.last_uid ELSE excluded.last_uid END,
			uid_validity = excluded.uid_validity,
			updated_at = excluded.updated_at`,
		c.Mailbox, int64(c.UIDValidity), int64(c.LastUID), time.Now())
	if err != nil {
		return fmt.Errorf("saving checkpoint of %s: %w", c.Mailbox, err)
	}
	return nil
}
