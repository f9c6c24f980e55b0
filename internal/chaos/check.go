package chaos

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/codedesk/codedesk/internal/store"
)

// activeJobStates are River states that mean work is left.
const activeJobStates = "'available','running','retryable','scheduled','pending'"

// dbs returns the databases in use with their desk.
func (c *Cluster) dbs() map[string]*store.DB {
	out := map[string]*store.DB{}
	if c.pg != nil {
		out[pgDesk] = c.pg
	}
	if c.lite != nil {
		out[sqliteDesk] = c.lite
	}
	return out
}

// snapshot is one look at a database.
type snapshot struct {
	stored      int // distinct inbound Message-IDs
	activeJobs  int
	nonTerminal int // cases not sent, failed or ignored
}

func look(ctx context.Context, db *store.DB) (snapshot, error) {
	var s snapshot
	if err := db.QueryRow(ctx, "SELECT COUNT(DISTINCT message_id) FROM messages WHERE direction = 'in'").Scan(&s.stored); err != nil {
		return s, fmt.Errorf("counting stored questions: %w", err)
	}
	if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM river_job WHERE state IN ("+activeJobStates+")").Scan(&s.activeJobs); err != nil {
		return s, fmt.Errorf("counting River jobs: %w", err)
	}
	if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM cases WHERE status NOT IN ('sent','failed','ignored')").Scan(&s.nonTerminal); err != nil {
		return s, fmt.Errorf("counting cases: %w", err)
	}
	return s, nil
}

// waitQuiescent waits until, in every database, all delivered questions
// are stored, no River job is left to run and every case is terminal —
// twice in a row, a second apart. It reports false when ctx ends first.
func (c *Cluster) waitQuiescent(ctx context.Context, qs []question) bool {
	want := map[string]int{}
	for _, q := range qs {
		want[q.Desk]++
	}
	stable := 0
	last := time.Now()
	for {
		quiet := true
		var state []string
		for desk, db := range c.dbs() {
			s, err := look(ctx, db)
			if err != nil {
				quiet = false
				state = append(state, desk+": "+err.Error())
				continue
			}
			if s.stored < want[desk] || s.activeJobs > 0 || s.nonTerminal > 0 {
				quiet = false
			}
			state = append(state, fmt.Sprintf("%s: stored %d/%d, active jobs %d, open cases %d", desk, s.stored, want[desk], s.activeJobs, s.nonTerminal))
		}
		if quiet {
			stable++
			if stable >= 2 {
				return true
			}
		} else {
			stable = 0
		}
		if time.Since(last) > 5*time.Second {
			c.log.Info("chaos: waiting for quiescence", "state", strings.Join(state, "; "))
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			c.log.Warn("chaos: not quiescent", "state", strings.Join(state, "; "))
			return false
		case <-time.After(time.Second):
		}
	}
}

// check fills the result from the sink and the databases, and lists the
// broken promises.
func (c *Cluster) check(ctx context.Context, qs []question, r *Result) error {
	byQ := map[string]int{}
	for _, m := range c.sink.Messages() {
		r.Accepted++
		irt, _ := m.Header.MsgIDList("In-Reply-To")
		if len(irt) == 0 {
			r.StrayReplies++
			continue
		}
		byQ[irt[0]]++
	}
	known := map[string]bool{}
	for _, q := range qs {
		known[q.ID] = true
		n := byQ[q.ID]
		switch {
		case q.Reject && n > 0:
			r.RejectedAnswer++
		case !q.Reject && n == 0:
			r.AnsweredZero++
		case n > 1:
			r.AnsweredTwice++
		}
	}
	for id := range byQ {
		if !known[id] {
			r.StrayReplies += byQ[id]
		}
	}

	r.NonTerminal = map[string]int{}
	r.Jobs = map[string]int{}
	for desk, db := range c.dbs() {
		var n int
		if err := db.QueryRow(ctx, "SELECT COUNT(DISTINCT message_id) FROM messages WHERE direction = 'in'").Scan(&n); err != nil {
			return err
		}
		r.Stored += n
		rows, err := db.Query(ctx, "SELECT status, COUNT(*) FROM cases WHERE status NOT IN ('sent','failed') GROUP BY status")
		if err != nil {
			return err
		}
		for rows.Next() {
			var st string
			var k int
			if err := rows.Scan(&st, &k); err != nil {
				rows.Close()
				return err
			}
			r.NonTerminal[desk+":"+st] += k
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = db.Query(ctx, "SELECT state, COUNT(*) FROM river_job GROUP BY state")
		if err != nil {
			return err
		}
		for rows.Next() {
			var st string
			var k int
			if err := rows.Scan(&st, &k); err != nil {
				rows.Close()
				return err
			}
			r.Jobs[st] += k
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM drafts WHERE smtp_reply LIKE 'not sent again%'").Scan(&n); err != nil {
			return err
		}
		r.CopyRecovered += n
		for addr := range c.rejected {
			var status, reason string
			err := db.QueryRow(ctx, "SELECT status, status_reason FROM cases WHERE LOWER(requester) = ? ORDER BY id DESC LIMIT 1",
				strings.ToLower(addr)).Scan(&status, &reason)
			if err != nil {
				continue // this recipient asked the other desk
			}
			if status == "failed" && strings.Contains(reason, "550") {
				r.RejectsFailed++
			}
		}
	}
	r.Discarded = r.Jobs["discarded"]

	p := &r.Problems
	if !r.Quiescent {
		*p = append(*p, "not quiescent before the timeout")
	}
	if r.Stored != r.Delivered {
		*p = append(*p, fmt.Sprintf("%d questions stored, %d delivered", r.Stored, r.Delivered))
	}
	if r.AnsweredZero > 0 {
		*p = append(*p, fmt.Sprintf("%d questions never answered", r.AnsweredZero))
	}
	if r.AnsweredTwice > 0 {
		*p = append(*p, fmt.Sprintf("%d questions answered more than once", r.AnsweredTwice))
	}
	if r.RejectedAnswer > 0 {
		*p = append(*p, fmt.Sprintf("%d replies accepted for 550 recipients", r.RejectedAnswer))
	}
	if r.StrayReplies > 0 {
		*p = append(*p, fmt.Sprintf("%d accepted messages answer no delivered question", r.StrayReplies))
	}
	if open := sumMap(r.NonTerminal); open > 0 {
		*p = append(*p, fmt.Sprintf("%d cases not sent or failed: %v", open, r.NonTerminal))
	}
	if r.Discarded > 0 {
		*p = append(*p, fmt.Sprintf("%d River jobs discarded", r.Discarded))
	}
	if r.RejectsFailed != len(c.rejected) {
		*p = append(*p, fmt.Sprintf("%d of %d 550 recipients' cases failed with the server's reply", r.RejectsFailed, len(c.rejected)))
	}
	if len(r.Unexpected) > 0 {
		*p = append(*p, fmt.Sprintf("nodes exited without being killed: %v", r.Unexpected))
	}
	if len(r.MissingFlags) > 0 {
		*p = append(*p, "the codedesk binary lacks "+strings.Join(r.MissingFlags, " ")+" (issue #7's lease and River timing)")
	}
	return nil
}

func sumMap(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Print writes the result table.
func (r *Result) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "  %s\t%v\n", k, v) }
	fmt.Fprintf(tw, "codedesk chaos: seed %d, %d PostgreSQL node(s)%s\n", r.Seed, r.Nodes, map[bool]string{true: " + 1 SQLite node", false: ""}[r.SQLiteNode])
	row("questions delivered", r.Delivered)
	row("  of them to 550 recipients", r.ToRejected)
	row("questions stored", r.Stored)
	row("replies accepted at the sink", r.Accepted)
	row("questions answered 0 times", r.AnsweredZero)
	row("questions answered >1 time", r.AnsweredTwice)
	row("replies to 550 recipients accepted", r.RejectedAnswer)
	row("accepted, answering no question", r.StrayReplies)
	row("cases left non-terminal", sumMap(r.NonTerminal))
	row("River jobs discarded", r.Discarded)
	row("River jobs by state", fmtMap(r.Jobs))
	row("550 recipients' cases failed (server reply)", fmt.Sprintf("%d/%d", r.RejectsFailed, r.ToRejected))
	row("kills (SIGKILL)", r.Kills)
	row("  in the accepted-not-recorded window", r.WindowKills)
	row("  sends recorded from the Sent copy", r.CopyRecovered)
	row("IMAP cuts mid-IDLE / mid-FETCH / all", fmt.Sprintf("%d / %d / %d", r.IMAPIdleCuts, r.IMAPFetchCuts, r.IMAPAllCuts))
	row("Dovecot restarts", r.DovecotRest)
	row("SMTP 421/451 answers programmed", r.SMTPFaults)
	row("  451 while Sent was unreachable", r.SentFileFails)
	row("rolling restarts (SIGTERM each node in turn)", fmt.Sprintf("%d: %d/%d nodes exited 0 in time", r.Rolling, r.RollingClean, r.RollingNodes))
	row("graceful stops at the end (exit 0)", r.GracefulStops)
	row("delivery / wall time", fmt.Sprintf("%s / %s", r.DeliverIn.Round(100*time.Millisecond), r.Wall.Round(100*time.Millisecond)))
	if len(r.Problems) == 0 {
		row("result", "PASS: every question answered exactly once")
	} else {
		row("result", "FAIL")
	}
	tw.Flush()
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "  run directory: %s\n", r.RunDir)
		for _, l := range r.Logs {
			fmt.Fprintf(w, "  node log: %s\n", l)
		}
	}
}

func fmtMap(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	return b.String()
}
