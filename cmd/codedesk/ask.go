package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/devmail"
)

// askCmd emails a question to the desk as the demo coder and prints the
// threaded reply.
type askCmd struct {
	Question   []string      `arg:"" name:"question" help:"The question (several words are joined with spaces)."`
	From       string        `name:"from" env:"CODEDESK_ASK_FROM" default:"coder@clinic.test" help:"Asker's address (also the SMTP and IMAP login)."`
	Password   string        `name:"password" env:"CODEDESK_ASK_PASSWORD" default:"coder" help:"Asker's password."`
	To         string        `name:"to" env:"CODEDESK_ASK_TO" default:"desk@codedesk.test" help:"The desk's address."`
	SMTPAddr   string        `name:"smtp-addr" env:"CODEDESK_ASK_SMTP_ADDR" default:"127.0.0.1:1025" help:"SMTP server host:port (plain text on loopback, STARTTLS required elsewhere)."`
	IMAPAddr   string        `name:"imap-addr" env:"CODEDESK_ASK_IMAP_ADDR" default:"127.0.0.1:1143" help:"IMAP server host:port of the asker's mailbox (plain text on loopback, TLS elsewhere)."`
	Subject    string        `name:"subject" env:"CODEDESK_ASK_SUBJECT" help:"Subject (default: the question's first words)."`
	Timeout    time.Duration `name:"timeout" env:"CODEDESK_ASK_TIMEOUT" default:"60s" help:"How long to wait for the reply."`
	Raw        bool          `name:"raw" env:"CODEDESK_ASK_RAW" help:"Print the raw reply message instead of its decoded text."`
	config.Log `embed:""`
}

// Run sends the question, waits for the reply and prints it.
func (c *askCmd) Run(ctx context.Context, io stdio) error {
	question := strings.TrimSpace(strings.Join(c.Question, " "))
	if question == "" {
		return exitError{code: 2, err: fmt.Errorf("ask: the question is empty")}
	}
	if c.Timeout <= 0 {
		return exitError{code: 2, err: fmt.Errorf("ask: --timeout %v must be positive", c.Timeout)}
	}
	r, err := devmail.Ask(ctx, devmail.AskOptions{
		Question: question,
		Subject:  c.Subject,
		From:     c.From,
		Password: c.Password,
		To:       c.To,
		SMTPAddr: c.SMTPAddr,
		IMAPAddr: c.IMAPAddr,
		Timeout:  c.Timeout,
		Logger:   newLogger(c.Log, io.Err),
	})
	if err != nil {
		return err
	}
	if c.Raw {
		_, err := io.Out.Write(r.Raw)
		return err
	}
	date := ""
	if !r.Date.IsZero() {
		date = r.Date.Format(time.RFC1123Z)
	}
	text := r.Text
	if text == "" {
		text = "(the reply has no text/plain part; use --raw to see it)\n"
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	_, err = fmt.Fprintf(io.Out, "Subject: %s\nFrom: %s\nDate: %s\n\n%s", r.Subject, r.From, date, text)
	return err
}
