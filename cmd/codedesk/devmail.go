package main

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/devmail"
)

// devmailCmd runs the development mail server until it is interrupted.
type devmailCmd struct {
	IMAPAddr    string            `name:"imap-addr" env:"CODEDESK_DEVMAIL_IMAP_ADDR" default:"127.0.0.1:1143" help:"IMAP listen address (host:port)."`
	SMTPAddr    string            `name:"smtp-addr" env:"CODEDESK_DEVMAIL_SMTP_ADDR" default:"127.0.0.1:1025" help:"SMTP listen address (host:port)."`
	Accounts    []devmail.Account `name:"account" env:"CODEDESK_DEVMAIL_ACCOUNTS" placeholder:"ADDRESS:PASSWORD" help:"A mail account; repeat the flag (or separate with commas; escape a comma in a password as \\,). Replaces the default accounts desk@codedesk.test:desk and coder@clinic.test:coder."`
	AllowRemote bool              `name:"allow-remote" env:"CODEDESK_DEVMAIL_ALLOW_REMOTE" help:"Allow listen addresses other than loopback (passwords travel in plain text)."`
	config.Log  `embed:""`
}

// Run starts the server, prints how to use it and serves until ctx ends.
func (c *devmailCmd) Run(ctx context.Context, io stdio) error {
	log := newLogger(c.Log, io.Err)
	srv, err := devmail.Start(ctx, devmail.Config{
		IMAPAddr:    c.IMAPAddr,
		SMTPAddr:    c.SMTPAddr,
		Accounts:    c.Accounts,
		Logger:      log,
		AllowRemote: c.AllowRemote,
	})
	if err != nil {
		return fmt.Errorf("starting dev mail server: %w", err)
	}
	printDevmailUsage(io, srv, len(c.Accounts) == 0)
	<-srv.Done()
	return srv.Close()
}

// printDevmailUsage says where the server listens and how to point a mail
// client at it. Passwords are printed only for the built-in demo accounts.
func printDevmailUsage(io stdio, srv *devmail.Server, defaults bool) {
	imapHost, imapPort, _ := net.SplitHostPort(srv.IMAPAddr())
	smtpHost, smtpPort, _ := net.SplitHostPort(srv.SMTPAddr())
	var b strings.Builder
	fmt.Fprintf(&b, "codedesk devmail: development mail server (mail is kept in memory only)\n")
	fmt.Fprintf(&b, "  IMAP  %s\n  SMTP  %s\n\n", srv.IMAPAddr(), srv.SMTPAddr())
	fmt.Fprintf(&b, "Accounts (log in with the address or its local part):\n")
	for _, a := range srv.Accounts() {
		if defaults {
			fmt.Fprintf(&b, "  %-28s password %s\n", a.Address, a.Password)
		} else {
			fmt.Fprintf(&b, "  %-28s password as given\n", a.Address)
		}
	}
	fmt.Fprintf(&b, "\nMail client (Thunderbird or any other):\n")
	fmt.Fprintf(&b, "  incoming IMAP  server %s  port %s  security none  normal password\n", imapHost, imapPort)
	fmt.Fprintf(&b, "  outgoing SMTP  server %s  port %s  security none  normal password (optional)\n", smtpHost, smtpPort)
	fmt.Fprintf(&b, "\nFailure tests: mail to temperror…@any.domain gets 451 4.3.0, permerror…@any.domain 550 5.7.1.\n")
	fmt.Fprintf(&b, "Try it: codedesk ask --imap-addr %s --smtp-addr %s \"Is E11.9 billable?\"\n", srv.IMAPAddr(), srv.SMTPAddr())
	fmt.Fprintf(&b, "Stop with Ctrl-C.\n")
	fmt.Fprint(io.Out, b.String())
}
