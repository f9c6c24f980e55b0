package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/codedesk/codedesk/queue"
)

// reviewCmd works the review queue from a terminal.
type reviewCmd struct {
	List    reviewListCmd    `cmd:"" help:"List cases (default: those awaiting review)."`
	Show    reviewShowCmd    `cmd:"" help:"Show a case: its messages, the analysis and the current draft."`
	Approve reviewApproveCmd `cmd:"" help:"Approve a case's draft and send it."`
	Reject  reviewRejectCmd  `cmd:"" help:"Reject a case's draft with a reason; nothing is sent."`
}

type reviewListCmd struct {
	config.Database
	Status []string `name:"status" help:"Case states to list (repeatable); 'all' for every state." default:"awaiting_review"`
	Limit  int      `name:"limit" default:"50" help:"At most this many cases."`
	JSON   bool     `name:"json" help:"Print JSON."`
}

// Run implements the command.
func (c *reviewListCmd) Run(ctx context.Context, io stdio) error {
	db, err := openDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	var statuses []store.CaseStatus
	all := false
	for _, s := range c.Status {
		for _, part := range strings.Split(s, ",") {
			all = all || part == "all"
			statuses = append(statuses, store.CaseStatus(strings.TrimSpace(part)))
		}
	}
	if all {
		statuses = nil
	}
	cases, err := store.ListCases(ctx, db, store.CaseFilter{Statuses: statuses, Limit: c.Limit})
	if err != nil {
		return err
	}
	if c.JSON {
		type row struct {
			Case       int64    `json:"case"`
			Status     string   `json:"status"`
			Reason     string   `json:"reason,omitempty"`
			Kind       string   `json:"kind,omitempty"`
			Confidence *float64 `json:"confidence,omitempty"`
			Subject    string   `json:"subject"`
			From       string   `json:"from"`
			Updated    string   `json:"updated"`
		}
		out := []row{}
		for _, k := range cases {
			out = append(out, row{k.ID, string(k.Status), k.StatusReason, k.Kind, k.Confidence, k.Subject, k.Requester, k.UpdatedAt.Format(time.RFC3339)})
		}
		return json.NewEncoder(io.Out).Encode(map[string]any{"cases": out})
	}
	if len(cases) == 0 {
		fmt.Fprintln(io.Out, "no cases")
		return nil
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tSTATUS\tKIND\tCONF\tAGE\tFROM\tSUBJECT")
	for _, k := range cases {
		conf := "-"
		if k.Confidence != nil {
			conf = fmt.Sprintf("%.2f", *k.Confidence)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Status, dash(k.Kind), conf,
			age(time.Since(k.CreatedAt)), k.Requester, clip(k.Subject, 50))
	}
	return tw.Flush()
}

type reviewShowCmd struct {
	config.Database
	Case int64 `arg:"" help:"Case number."`
}

// Run implements the command.
func (c *reviewShowCmd) Run(ctx context.Context, io stdio) error {
	db, err := openDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	k, err := store.GetCase(ctx, db, c.Case)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "Case #%d  %s", k.ID, k.Status)
	if k.StatusReason != "" {
		fmt.Fprintf(io.Out, " (%s)", k.StatusReason)
	}
	fmt.Fprintf(io.Out, "\nSubject: %s\nFrom:    %s\nKind:    %s\n", k.Subject, k.Requester, dash(k.Kind))
	if k.Confidence != nil {
		fmt.Fprintf(io.Out, "Confidence: %.2f\n", *k.Confidence)
	}
	msgs, err := store.CaseMessages(ctx, db, k.ID)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		dir := "from " + m.From
		if m.Direction == store.Outbound {
			dir = "reply to the requester"
		}
		fmt.Fprintf(io.Out, "\n--- message %d, %s, %s (%s) ---\n", m.ID, dir, m.ReceivedAt.Local().Format("2006-01-02 15:04"), m.Status)
		if m.StatusReason != "" {
			fmt.Fprintf(io.Out, "[%s]\n", m.StatusReason)
		}
		text := m.BodyText
		if text == "" && len(m.Raw) > 0 && m.Status != store.MessageParsed {
			text = "(not parsed)"
		}
		fmt.Fprintln(io.Out, strings.TrimSpace(text))
	}
	d, err := store.LatestDraft(ctx, db, k.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		fmt.Fprintln(io.Out, "\n(no draft)")
	case err != nil:
		return err
	default:
		fmt.Fprintf(io.Out, "\n=== draft %d (%s) ===\nTo: %s\nSubject: %s\n\n%s", d.ID, d.Status, d.To, d.Subject, d.BodyText)
		if d.Error != "" {
			fmt.Fprintf(io.Out, "\nLast send error: %s\n", d.Error)
		}
	}
	return nil
}

type reviewApproveCmd struct {
	config.Database
	Case int64  `arg:"" help:"Case number."`
	As   string `name:"as" env:"CODEDESK_REVIEWER" help:"Reviewer recorded in the audit trail (default: $USER)."`
}

// Run implements the command.
func (c *reviewApproveCmd) Run(ctx context.Context, io stdio) error {
	return withPendingDraft(ctx, c.Database, c.Case, func(q *queue.Queue, d store.Draft) error {
		if err := q.Approve(ctx, d.ID, reviewer(c.As)); err != nil {
			return err
		}
		fmt.Fprintf(io.Out, "case #%d: draft %d approved; the reply is queued for sending\n", c.Case, d.ID)
		return nil
	})
}

type reviewRejectCmd struct {
	config.Database
	Case   int64  `arg:"" help:"Case number."`
	Reason string `name:"reason" required:"" help:"Why the draft is not sent (kept in the audit trail)."`
	As     string `name:"as" env:"CODEDESK_REVIEWER" help:"Reviewer recorded in the audit trail (default: $USER)."`
}

// Run implements the command.
func (c *reviewRejectCmd) Run(ctx context.Context, io stdio) error {
	return withPendingDraft(ctx, c.Database, c.Case, func(q *queue.Queue, d store.Draft) error {
		if err := q.Reject(ctx, d.ID, reviewer(c.As), c.Reason); err != nil {
			return err
		}
		fmt.Fprintf(io.Out, "case #%d: draft %d rejected\n", c.Case, d.ID)
		return nil
	})
}

// withPendingDraft opens the database and an insert-only queue and calls fn
// with the case's draft that waits for review.
func withPendingDraft(ctx context.Context, dbc config.Database, caseID int64, fn func(*queue.Queue, store.Draft) error) error {
	db, err := openDB(ctx, dbc)
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := store.LatestDraft(ctx, db, caseID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("case #%d has no draft", caseID)
	}
	if err != nil {
		return err
	}
	if d.Status != store.DraftPending {
		return fmt.Errorf("case #%d: its draft is %s, not waiting for review", caseID, d.Status)
	}
	q, err := queue.New(db, nil, queue.Config{})
	if err != nil {
		return err
	}
	return fn(q, d)
}

func reviewer(as string) string {
	if as != "" {
		return as
	}
	if u := os.Getenv("USER"); u != "" {
		return u + " (cli)"
	}
	return "cli"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
