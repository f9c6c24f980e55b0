package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"
)

// benchQuestions is how many questions each scale-out iteration delivers.
const benchQuestions = 300

// BenchmarkScaleOut delivers the same number of questions through 1, 2 and
// 3 nodes on one PostgreSQL and reports emails/s (append → reply accepted
// by the sink).
//   - relay=200ms: the sink answers each DATA after 200 ms, like a real
//     relay, and each node sends with 2 workers (--workers 8), so a node's
//     throughput is bounded by its send concurrency × the relay's latency,
//     not by this 2-core machine: the figure that shows whether nodes add
//     capacity.
//   - relay=0: no delay and codedesk's default 50 workers (12 sending): the
//     CPU-bound figure, where every node shares the same two cores (with
//     PostgreSQL, Dovecot and the harness).
func BenchmarkScaleOut(b *testing.B) {
	url := requireServers(b)
	for _, v := range []struct {
		name    string
		lat     time.Duration
		workers int
	}{{"relay=200ms", 200 * time.Millisecond, 8}, {"relay=0", 0, 50}} {
		for _, nodes := range []int{1, 2, 3} {
			b.Run(fmt.Sprintf("%s/nodes=%d", v.name, nodes), func(b *testing.B) {
				benchScaleOut(b, url, nodes, v.lat, v.workers)
			})
		}
	}
}

func benchScaleOut(b *testing.B, url string, nodes int, lat time.Duration, workers int) {
	ctx := context.Background()
	c, err := Start(ctx, Config{Nodes: nodes, NoFaults: true, SMTPDelay: lat, Workers: workers, DatabaseURL: url,
		Seed: 1, Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	// Warm up: one question through, so every node has connected.
	if _, err := c.throughput(ctx, c.questions(rng, "warm-"+randomHex(3), 3, false)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		qs := c.questions(rng, fmt.Sprintf("b%d-%s", i, randomHex(3)), benchQuestions, false)
		d, err := c.throughput(ctx, qs)
		if err != nil {
			b.Fatal(err)
		}
		total += d
	}
	b.StopTimer()
	b.ReportMetric(float64(benchQuestions*b.N)/total.Seconds(), "emails/s")
}

// throughput appends qs (4 at a time) and waits until the sink has
// accepted one reply per question; it returns the time from the first
// append to the last reply.
func (c *Cluster) throughput(ctx context.Context, qs []question) (time.Duration, error) {
	before := len(c.sink.Messages())
	start := time.Now()
	work := make(chan question)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q := range work {
				if err := c.deliver(ctx, q); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for _, q := range qs {
		work <- q
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if _, err := c.sink.Wait(wctx, before+len(qs)); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// BenchmarkFailover kills (SIGKILL) the node holding the mailbox lease,
// appends a question at once and measures the time until the question is
// stored on a case by the node that took over; several trials per
// iteration, reporting the median and the max. ttl=3s is the harness's
// lease, ttl=6s codedesk's default.
func BenchmarkFailover(b *testing.B) {
	url := requireServers(b)
	for _, ttl := range []time.Duration{3 * time.Second, 6 * time.Second} {
		b.Run("ttl="+ttl.String(), func(b *testing.B) { benchFailover(b, url, ttl) })
	}
}

func benchFailover(b *testing.B, url string, ttl time.Duration) {
	ctx := context.Background()
	c, err := Start(ctx, Config{Nodes: 2, NoFaults: true, DatabaseURL: url, Seed: 1, LeaseTTL: ttl, Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if len(c.missing) > 0 {
		b.Skipf("the codedesk binary lacks %v: no mailbox lease to fail over", c.missing)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const trials = 5
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := 0; k < trials; k++ {
			d, err := c.failover(ctx, c.questions(rng, fmt.Sprintf("fo%d-%d-%s", i, k, randomHex(3)), 1, false)[0])
			if err != nil {
				b.Fatal(err)
			}
			times = append(times, d)
		}
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(times[len(times)/2].Seconds(), "s-median")
	b.ReportMetric(times[len(times)-1].Seconds(), "s-max")
	b.Logf("failover times: %v", times)
}

// leader is the node holding the PostgreSQL desk's mailbox lease.
func (c *Cluster) leader(ctx context.Context) (*node, error) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var holder string
		err := c.pg.QueryRow(ctx, "SELECT holder FROM leases WHERE expires_at > CURRENT_TIMESTAMP ORDER BY acquired_at DESC LIMIT 1").Scan(&holder)
		if err == nil {
			for _, n := range c.pgNodes() {
				if n.matches(holder) {
					return n, nil
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil, fmt.Errorf("no node holds the mailbox lease")
}

// failover kills the leader, appends q, and returns the time from the kill
// until q is stored on a case; then it restarts the killed node.
func (c *Cluster) failover(ctx context.Context, q question) (time.Duration, error) {
	n, err := c.leader(ctx)
	if err != nil {
		return 0, err
	}
	n.kill()
	start := time.Now()
	if err := c.deliver(ctx, q); err != nil {
		return 0, err
	}
	for {
		var k int
		if err := c.pg.QueryRow(ctx, "SELECT COUNT(*) FROM messages WHERE message_id = ? AND case_id IS NOT NULL", q.ID).Scan(&k); err != nil {
			return 0, err
		}
		if k > 0 {
			break
		}
		if time.Since(start) > time.Minute {
			return 0, fmt.Errorf("question %s not stored a minute after the leader %s was killed", q.ID, n.name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	d := time.Since(start)
	if err := n.start(); err != nil {
		return 0, err
	}
	if err := n.waitHealthy(ctx, 30*time.Second); err != nil {
		return 0, err
	}
	return d, nil
}
