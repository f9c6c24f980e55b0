package queue

import (
	"context"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dbtest"
	"github.com/codedesk/codedesk/internal/store"
	"github.com/riverqueue/river"
)

type noopArgs struct {
	N int `json:"n"`
}

func (noopArgs) Kind() string { return "bench_noop" }

func (noopArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueMail} }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// BenchmarkRiverBare is the yardstick for the pipeline benchmark: trivial
// jobs worked and completed by River on the same database, with the same
// settings codedesk uses (50 workers, 5 ms fetch cooldown, 50 ms poll).
// Jobs are inserted before the client starts, then timed from start until
// the last completes.
func BenchmarkRiverBare(b *testing.B) {
	const jobs = 10000
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				var db *store.DB
				if engine == "sqlite" {
					db = dbtest.SQLite(b, Migrate)
				} else {
					db = dbtest.Postgres(b, Migrate)
				}
				ctx := context.Background()
				workers := river.NewWorkers()
				river.AddWorker(workers, &noopWorker{})
				q, err := New(db, workers, Config{Workers: 50, FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond})
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < jobs; i += 1000 {
					batch := make([]river.JobArgs, 1000)
					for j := range batch {
						batch[j] = noopArgs{N: i + j}
					}
					if err := db.WithTx(ctx, func(tx *store.Tx) error { return q.InsertManyTx(ctx, tx, batch) }); err != nil {
						b.Fatal(err)
					}
				}
				start := time.Now()
				if err := q.Start(ctx); err != nil {
					b.Fatal(err)
				}
				deadline := start.Add(2 * time.Minute)
				for {
					var n int
					if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM river_job WHERE state = 'completed'").Scan(&n); err != nil {
						b.Fatal(err)
					}
					if n == jobs {
						break
					}
					if time.Now().After(deadline) {
						b.Fatalf("only %d of %d jobs completed", n, jobs)
					}
					time.Sleep(5 * time.Millisecond)
				}
				total += time.Since(start)
				sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
				_ = q.Stop(sctx)
				scancel()
			}
			b.ReportMetric(float64(jobs*b.N)/total.Seconds(), "jobs/s")
		})
	}
}
