package mailbox

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/dovecottest"
)

// benchBacklog measures how fast a backlog of b.N messages is fetched and
// delivered (to an in-memory sink, so the IMAP side is what is measured).
func benchBacklog(b *testing.B, addr, user, pass string, appendMsg func(raw []byte)) {
	for i := 0; i < b.N; i++ {
		appendMsg(question(fmt.Sprintf("bench%d-%d", time.Now().UnixNano(), i)))
	}
	sink := newMemSink()
	cfg := testConfig(addr)
	cfg.Username, cfg.Password = user, pass
	p, err := New(cfg, sink)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ResetTimer()
	start := time.Now()
	go func() { done <- p.Run(ctx) }()
	for sink.storedCount() < b.N {
		select {
		case <-sink.changed:
		case <-time.After(10 * time.Millisecond):
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("stored %d of %d in 5 min", sink.storedCount(), b.N)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	cancel()
	<-done
}

func BenchmarkBacklogMemServer(b *testing.B) {
	srv := startMem(b, nil)
	benchBacklog(b, srv.addr, testUser, testPass, func(raw []byte) { srv.appendMsg(b, raw) })
}

func BenchmarkBacklogDovecot(b *testing.B) {
	s := dovecottest.Start(b, nil)
	c := s.Dial(b, dovecottest.DefaultUser)
	benchBacklog(b, s.Addr(), dovecottest.DefaultUser, dovecottest.DefaultPassword, func(raw []byte) {
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		cmd.Write(raw)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
	})
}
