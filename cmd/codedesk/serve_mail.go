package main

import (
	"fmt"
	"log/slog"

	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/mailbox"
	"github.com/codedesk/codedesk/queue"
)

// deliveryConfig builds the send worker's delivery settings: the reply
// rate limits, the BCC copy that makes a retried send safe, and the IMAP
// account used to look for that copy and to file replies in Sent.
func deliveryConfig(c config.Serve, log *slog.Logger) (queue.Delivery, error) {
	dl := queue.Delivery{
		CopyTo:              c.SMTP.CopyTo,
		CopyGrace:           c.SMTP.CopyGrace,
		ReplyLimitPerSender: c.Policy.ReplyLimitPerSender,
		ReplyLimitPerThread: c.Policy.ReplyLimitPerThread,
		ReplyLimitWindow:    c.Policy.ReplyLimitWindow,
	}
	if c.IMAP.Disabled || (c.SMTP.CopyTo == "" && c.IMAP.SentFolder == "") {
		return dl, nil
	}
	pass, err := config.Secret(c.IMAP.Password, c.IMAP.PasswordFile)
	if err != nil {
		return dl, err
	}
	folders := []string{c.IMAP.Mailbox}
	if c.IMAP.SentFolder != "" {
		folders = append(folders, c.IMAP.SentFolder)
	}
	cp, err := mailbox.NewCopies(mailbox.Config{Addr: c.IMAP.Addr, Security: c.IMAP.Security, Username: c.IMAP.Username,
		Password: pass, Timeout: c.IMAP.Timeout, Logger: log.With("component", "copies")}, folders, c.IMAP.SentFolder)
	if err != nil {
		return dl, fmt.Errorf("configuring reply copies: %w", err)
	}
	dl.Copies = cp
	if c.IMAP.SentFolder != "" {
		dl.Sent = cp
	}
	return dl, nil
}
