// Command codedesk is the coding-question desk: it reads questions from a
// mailbox, looks codes up in the official code sets, drafts expert replies,
// lets staff review them and answers in the same email thread.
//
// Run "codedesk --help" for the subcommands; docs/design.md has the flow.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
	"github.com/codedesk/codedesk/internal/config"
	"github.com/codedesk/codedesk/internal/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// cli is the command tree. Each command lives in its own file.
type cli struct {
	Serve   serveCmd         `cmd:"" help:"Run the mailbox poller, the workers and the staff desk (the normal deployment)."`
	Devmail devmailCmd       `cmd:"" help:"Run a development mail server (IMAP + SMTP on loopback) with demo accounts."`
	Migrate migrateCmd       `cmd:"" help:"Create or upgrade River's and codedesk's schema."`
	Codes   codesCmd         `cmd:"" help:"Import, fetch and list official code sets."`
	Lookup  lookupCmd        `cmd:"" help:"Everything known about codes: system, descriptor, status, notes, edits."`
	Search  searchCmd        `cmd:"" help:"Ranked code suggestions for a narrative."`
	Check   checkCmd         `cmd:"" help:"NCCI PTP, MUE and ICD-10-CM edit findings for codes billed together."`
	Draft   draftCmd         `cmd:"" help:"Parse, analyse and draft a reply to one RFC 5322 message read from standard input."`
	Eval    evalCmd          `cmd:"" help:"Answer an evaluation set of question emails and print accuracy, code recall and invented codes."`
	Ask     askCmd           `cmd:"" help:"Email a question to the desk as the demo coder and print the threaded reply."`
	Review  reviewCmd        `cmd:"" help:"Work the review queue from a terminal."`
	Users   usersCmd         `cmd:"" help:"Manage the staff accounts of the web desk."`
	Export  exportCmd        `cmd:"" help:"Write the whole database (cases, mail, drafts, audit trail, users, code sets) as one portable archive."`
	Import  importCmd        `cmd:"" help:"Load an archive written by export into an empty, migrated database (SQLite or PostgreSQL)."`
	Version kong.VersionFlag `help:"Print the version and exit."`
}

// stdio is where a command reads and writes; tests replace it.
type stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{os.Stdin, os.Stdout, os.Stderr})
	stop()
	os.Exit(code)
}

// run parses args and runs the chosen command; it returns the exit code.
func run(ctx context.Context, args []string, io stdio) int {
	var c cli
	exit := -1
	parser, err := kong.New(&c,
		kong.Name("codedesk"),
		kong.Description("codedesk answers medical-coding questions that arrive by email."),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Vars{"version": version},
		kong.Writers(io.Out, io.Err),
		kong.Exit(func(code int) { exit = code; panic(exitPanic{}) }),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(io),
	)
	if err != nil {
		fmt.Fprintln(io.Err, "codedesk:", err)
		return 2
	}
	code, done := func() (code int, done bool) {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(exitPanic); ok {
					code, done = exit, true
					return
				}
				panic(r)
			}
		}()
		kctx, err := parser.Parse(args)
		if err != nil {
			parser.Errorf("%s", err)
			return 2, true
		}
		if err := kctx.Run(); err != nil {
			var ee exitError
			if errors.As(err, &ee) {
				if ee.err != nil {
					fmt.Fprintln(io.Err, "codedesk:", ee.err)
				}
				return ee.code, true
			}
			fmt.Fprintln(io.Err, "codedesk:", err)
			return 1, true
		}
		return 0, false
	}()
	if done {
		return code
	}
	return 0
}

type exitPanic struct{}

// exitError makes a command exit with a given code.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// newLogger builds the process's structured logger.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openDB opens the configured database.
func openDB(ctx context.Context, c config.Database) (*store.DB, error) {
	return store.Open(ctx, c.URL, store.Options{MaxConns: c.MaxConns})
}
