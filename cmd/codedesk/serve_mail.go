package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/mailauth"
	"github.com/codedesk/codedesk/internal/mailbox"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/queue"
	"github.com/prometheus/client_golang/prometheus"
)

// deliveryConfig builds the send worker's delivery settings: the reply
// rate limits, the BCC copy that makes a retried send safe, and the IMAP
// account used to look for that copy and to file replies in Sent.
func deliveryConfig(c config.Serve, imapToken func(context.Context) (string, error), log *slog.Logger) (queue.Delivery, error) {
	dl := queue.Delivery{
		CopyTo:              c.SMTP.CopyTo,
		CopyGrace:           c.SMTP.CopyGrace,
		ReplyLimitPerSender: c.Policy.ReplyLimitPerSender,
		ReplyLimitPerThread: c.Policy.ReplyLimitPerThread,
		ReplyLimitWindow:    c.Policy.ReplyLimitWindow,
	}
	dl.ServerFilesCopies = c.IMAP.VerifyFolder != "" && !c.IMAP.Disabled
	if c.IMAP.Disabled || (c.SMTP.CopyTo == "" && c.IMAP.VerifyFolder == "") {
		// Without a copy to look for, a send whose outcome is unknown (the
		// node stopped after the server accepted it, before the database
		// recorded it) is sent again under the same Message-ID.
		log.Warn("replies cannot be verified after a crash: set smtp-copy-to (normally the desk address) or imap-verify-folder so a retried send never goes out twice")
	}
	if c.IMAP.Disabled || (c.SMTP.CopyTo == "" && c.IMAP.SentFolder == "" && c.IMAP.VerifyFolder == "") {
		return dl, nil
	}
	pass, err := config.Secret(c.IMAP.Password, c.IMAP.PasswordFile)
	if err != nil {
		return dl, err
	}
	folders := []string{c.IMAP.Mailbox}
	for _, f := range []string{c.IMAP.VerifyFolder, c.IMAP.SentFolder} {
		if f != "" && f != c.IMAP.Mailbox {
			folders = append(folders, f)
		}
	}
	cp, err := mailbox.NewCopies(mailbox.Config{Addr: c.IMAP.Addr, Security: c.IMAP.Security, Username: c.IMAP.Username,
		Password: pass, Timeout: c.IMAP.Timeout, Logger: log.With("component", "copies"), TokenSource: imapToken}, folders, c.IMAP.SentFolder)
	if err != nil {
		return dl, fmt.Errorf("configuring reply copies: %w", err)
	}
	dl.Copies = cp
	if c.IMAP.SentFolder != "" {
		dl.Sent = cp
	}
	return dl, nil
}

// oauthSource builds the XOAUTH2 token source when IMAP or SMTP logs in
// with it (nil otherwise). Tokens are refreshed lazily, at the first login.
func oauthSource(c config.Serve, db *store.DB, reg prometheus.Registerer, log *slog.Logger) (*mailauth.Source, error) {
	if (c.IMAP.Auth != config.AuthXOAuth2 || c.IMAP.Disabled) && c.SMTP.Auth != config.AuthXOAuth2 {
		return nil, nil
	}
	secret, err := config.Secret(c.OAuth.ClientSecret, c.OAuth.ClientSecretFile)
	if err != nil {
		return nil, err
	}
	refresh, err := config.Secret(c.OAuth.RefreshToken, c.OAuth.RefreshTokenFile)
	if err != nil {
		return nil, err
	}
	src, err := mailauth.New(mailauth.Config{Name: "desk", ClientID: c.OAuth.ClientID, ClientSecret: secret,
		TokenURL: c.OAuth.TokenURL, Scopes: c.OAuth.ScopeList(), RefreshToken: refresh, WarnBefore: c.OAuth.WarnBefore,
		Logger: log.With("component", "oauth"), Metrics: mailauth.NewMetrics(reg)}, db)
	if err != nil {
		return nil, fmt.Errorf("configuring XOAUTH2: %w", err)
	}
	return src, nil
}

// keepOAuth refreshes the XOAUTH2 token in the background until the poller
// context ends (a no-op without XOAUTH2).
func (n *node) keepOAuth(ctx context.Context) {
	if n.oauth == nil {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.oauth.Keep(ctx, 5*time.Minute)
	}()
}

// tokenSource is the XOAUTH2 token source for a login using auth, or nil
// for password login.
func (n *node) tokenSource(auth string) func(context.Context) (string, error) {
	if auth != config.AuthXOAuth2 || n.oauth == nil {
		return nil
	}
	return n.oauth.Token
}

// ownAddresses are the desk's own addresses: mail from them is never
// answered (the reply copy address included).
func ownAddresses(c config.Serve) []string {
	own := []string{c.SMTP.From, c.IMAP.Username}
	if c.SMTP.CopyTo != "" {
		own = append(own, c.SMTP.CopyTo)
	}
	return own
}
