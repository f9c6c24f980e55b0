// Command codedesk-chaos is the fault harness of issue #7 (make chaos): it
// runs several codedesk nodes on one PostgreSQL and one on SQLite against
// a private Dovecot and a recording SMTP sink, delivers questions while it
// kills nodes, restarts them all in turn, cuts IMAP connections, restarts
// Dovecot and makes the sink
// fail, then checks that every question was answered exactly once.
// docs/chaos.md explains it. Exit status: 0 when the promise held, 1 when
// it did not, 2 when the harness could not run.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/codedesk/codedesk/internal/chaos"
)

type cli struct {
	Nodes       int           `name:"nodes" default:"3" help:"codedesk nodes sharing the PostgreSQL database."`
	SQLiteNode  bool          `name:"sqlite-node" default:"true" negatable:"" help:"Also run one node on its own SQLite file and mailbox."`
	Questions   int           `name:"questions" default:"1000" help:"Questions to deliver."`
	Kills       int           `name:"kills" default:"25" help:"SIGKILLs during the run (at least 20 for 1000 questions); a fifth of them land between the SMTP server accepting a reply and the node recording it."`
	IMAPCuts    int           `name:"imap-cuts" default:"0" help:"IMAP connection cuts (mid-IDLE, mid-FETCH, all at once; 0: questions/50)."`
	SMTPBursts  int           `name:"smtp-bursts" default:"0" help:"421/451 bursts at the SMTP sink (0: questions/60)."`
	Rolling     int           `name:"rolling-restarts" default:"1" help:"Rolling restarts mid-run: every node in turn gets SIGTERM, must exit 0 in time, and is started again."`
	Rejects     int           `name:"rejects" default:"3" help:"Recipients the sink answers 550 for (one question each)."`
	Pace        time.Duration `name:"pace" default:"200ms" help:"Time between two deliveries."`
	Seed        int64         `name:"seed" default:"1" help:"Seed of the fault schedule and the questions."`
	DatabaseURL string        `name:"database-url" env:"CODEDESK_TEST_DATABASE_URL" help:"PostgreSQL server URL (a schema of the run's own is made in it and dropped at the end)."`
	Binary      string        `name:"binary" type:"path" help:"A built codedesk binary (default: go build ./cmd/codedesk into the run directory)."`
	Workers     int           `name:"workers" default:"8" help:"Workers per node (a quarter of them, at least 2, send)."`
	Timeout     time.Duration `name:"timeout" default:"5m" help:"How long to wait, after the last delivery, for every case and job to settle."`
	RunDir      string        `name:"run-dir" type:"path" help:"Directory for node logs, Dovecot's files and the SQLite file (default: a temp dir, removed after a passing run)."`
	Keep        bool          `name:"keep" help:"Keep the run directory after a passing run."`
	Verbose     bool          `name:"verbose" short:"v" help:"Log the harness's progress to stderr."`
}

func main() {
	var c cli
	kong.Parse(&c, kong.Description("The codedesk fault harness (issue #7): no question lost, none answered twice."))
	level := slog.LevelWarn
	if c.Verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.Nodes > 0 && c.DatabaseURL == "" {
		fmt.Fprintln(os.Stderr, "codedesk-chaos: set --database-url or CODEDESK_TEST_DATABASE_URL (PostgreSQL), or run --nodes 0")
		os.Exit(2)
	}
	res, err := chaos.Run(ctx, chaos.Config{
		Nodes: c.Nodes, SQLiteNode: c.SQLiteNode, Questions: c.Questions, Kills: c.Kills,
		IMAPCuts: c.IMAPCuts, SMTPBursts: c.SMTPBursts, RollingRestarts: c.Rolling, Rejects: c.Rejects, Pace: c.Pace, Seed: c.Seed,
		DatabaseURL: c.DatabaseURL, Binary: c.Binary, Workers: c.Workers, Timeout: c.Timeout,
		RunDir: c.RunDir, KeepRunDir: c.Keep, Logger: log,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "codedesk-chaos: %v\n", err)
		os.Exit(2)
	}
	res.Print(os.Stdout)
	if !res.OK() {
		os.Exit(1)
	}
}
