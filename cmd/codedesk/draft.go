package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/codedesk/codedesk/internal/analysis"
	"github.com/codedesk/codedesk/internal/codes"
	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/mailparse"
	"github.com/codedesk/codedesk/internal/reply"
	"github.com/codedesk/codedesk/queue"
)

// draftCmd runs parse + analyse + draft on one message from standard input,
// exactly as the workers do, without the queue.
type draftCmd struct {
	config.Database
	config.Log
	JSON          bool    `name:"json" help:"Print the analysis and the reply as one JSON object (docs/design.md)."`
	MinConfidence float64 `name:"min-confidence" env:"CODEDESK_MIN_CONFIDENCE" default:"0.6" help:"Confidence below which a draft would wait for review."`
	MaxSize       int64   `name:"max-size" default:"26214400" help:"Largest message read from standard input, in bytes."`
}

// draftJSON is the contract of "codedesk draft --json" (docs/design.md).
type draftJSON struct {
	Kind          string              `json:"kind"`
	Kinds         []string            `json:"kinds,omitempty"`
	Confidence    float64             `json:"confidence"`
	Codes         []draftCode         `json:"codes"`
	NCCI          []analysis.NCCIEdit `json:"ncci"`
	MUE           []analysis.MUE      `json:"mue"`
	Warnings      []string            `json:"warnings"`
	IgnoredReason string              `json:"ignored_reason,omitempty"`
	AutoSend      bool                `json:"auto_send"`
	Held          string              `json:"held_for_review,omitempty"`
	Subject       string              `json:"subject,omitempty"`
	ReplyText     string              `json:"reply_text"`
	ReplyHTML     string              `json:"reply_html"`
	Analysis      analysis.Result     `json:"analysis"`
}

type draftCode struct {
	System      string `json:"system"`
	Code        string `json:"code"`
	Description string `json:"description"`
	Role        string `json:"role"`
}

// Run implements the command.
func (c *draftCmd) Run(ctx context.Context, io stdio) error {
	raw, err := readLimited(io.In, c.MaxSize)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	log := newLogger(c.Log, io.Err)
	if err := migrateAll(ctx, db, log); err != nil {
		return err
	}
	kb, err := codes.Load(ctx, db)
	if err != nil {
		return err
	}
	renderer, err := reply.NewRenderer()
	if err != nil {
		return err
	}
	deps := &queue.Deps{
		Analyser:     analysis.NewEngine(func() analysis.Codebook { return kb }),
		Renderer:     renderer,
		Policy:       queue.Policy{AutoSend: true, MinConfidence: c.MinConfidence},
		Desk:         queue.Desk{Name: "codedesk coding desk"},
		Logger:       log,
		ParseOptions: mailparse.Options{},
	}
	out, err := queue.DraftMessage(ctx, deps, raw)
	if err != nil {
		return err
	}
	if !c.JSON {
		if out.Reply.Text == "" {
			fmt.Fprintf(io.Out, "(no reply: %s)\n%s\n", out.Held, out.Result.Answer)
			return nil
		}
		fmt.Fprintf(io.Out, "Subject: %s\n\n%s", out.Subject, out.Reply.Text)
		return nil
	}
	j := draftJSON{Kind: out.Result.Kind, Kinds: out.Result.Kinds, Confidence: out.Result.Confidence,
		Codes: []draftCode{}, NCCI: out.Result.NCCI, MUE: out.Result.MUE, Warnings: out.Result.Warnings,
		IgnoredReason: out.Result.IgnoredReason, AutoSend: out.AutoSend, Held: out.Held, Subject: out.Subject,
		ReplyText: out.Reply.Text, ReplyHTML: out.Reply.HTML, Analysis: out.Result}
	for _, code := range out.Result.Codes {
		j.Codes = append(j.Codes, draftCode{code.System, code.Code, code.Description, code.Role})
	}
	if j.NCCI == nil {
		j.NCCI = []analysis.NCCIEdit{}
	}
	if j.MUE == nil {
		j.MUE = []analysis.MUE{}
	}
	if j.Warnings == nil {
		j.Warnings = []string{}
	}
	enc := json.NewEncoder(io.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(j)
}

// readLimited reads all of r, refusing more than max bytes.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading standard input: %w", err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("the message on standard input is larger than %d bytes (--max-size)", max)
	}
	return b, nil
}
