package chaos

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/codedesk/codedesk/internal/smtptest"
)

// fakeIMAP answers "FETCH" lines with 4,000 bytes and "IDLE" with a
// continuation, and otherwise echoes an OK: enough to drive the proxy.
func fakeIMAP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch {
					case strings.Contains(line, "FETCH"):
						c.Write(bytes.Repeat([]byte("x"), 4000))
						c.Write([]byte("\r\na OK done\r\n"))
					case strings.Contains(line, "IDLE"):
						c.Write([]byte("+ idling\r\n"))
					default:
						c.Write([]byte("a OK\r\n"))
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestProxyCutsMidFetch(t *testing.T) {
	p, err := startProxy(fakeIMAP(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()

	// Not armed: the whole answer goes through.
	c, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("a1 UID FETCH 1:* (BODY.PEEK[])\r\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4000+len("\r\na OK done\r\n"))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("unarmed FETCH: %v", err)
	}
	c.Close()

	p.armFetch.Add(1)
	c, err = net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("a2 UID FETCH 1:* (BODY.PEEK[])\r\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("armed FETCH: %v (want the connection closed)", err)
	}
	if len(got) < 40 || len(got) > 1500 {
		t.Fatalf("armed FETCH passed %d bytes, want the cut after 40–1,500", len(got))
	}
	if p.fetchCuts.Load() != 1 || p.armFetch.Load() != 0 {
		t.Fatalf("fetch cuts = %d, still armed = %d; want 1, 0", p.fetchCuts.Load(), p.armFetch.Load())
	}
}

func TestProxyCutsMidIdleAndAll(t *testing.T) {
	p, err := startProxy(fakeIMAP(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	p.armIdle.Add(1)
	c, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("a1 IDLE\r\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "+ idling\r\n" {
		t.Fatalf("IDLE read %q, %v; want the continuation, then the cut", got, err)
	}
	if p.idleCuts.Load() != 1 {
		t.Fatalf("idle cuts = %d, want 1", p.idleCuts.Load())
	}

	c2, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.Write([]byte("a1 NOOP\r\n"))
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := bufio.NewReader(c2).ReadString('\n'); err != nil || line != "a OK\r\n" {
		t.Fatalf("NOOP = %q, %v", line, err)
	}
	p.cutAll(true)
	if _, err := c2.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read after cutAll succeeded, want the connection closed")
	}
	if p.allCuts.Load() != 1 {
		t.Fatalf("all cuts = %d, want 1", p.allCuts.Load())
	}
}

func TestQuestionsAreUniqueAndSynthetic(t *testing.T) {
	c := &Cluster{cfg: Config{Rejects: 2}.withDefaults(), rejected: map[string]bool{}}
	c.cfg.Nodes, c.cfg.SQLiteNode, c.cfg.SQLiteShare = 1, true, 0.3
	sink, err := newTestSink()
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	c.sink = sink
	qs := c.questions(newRand(7), "t", 200, true)
	ids := map[string]bool{}
	var rejects, lite int
	for _, q := range qs {
		if ids[q.ID] {
			t.Fatalf("Message-ID %s twice", q.ID)
		}
		ids[q.ID] = true
		if !bytes.Contains(q.Raw, []byte("Message-ID: <"+q.ID+">\r\n")) || !bytes.Contains(q.Raw, []byte("\r\n\r\nHello,")) {
			t.Fatalf("question %s is not a CRLF message with its Message-ID:\n%s", q.ID, q.Raw)
		}
		if q.Reject {
			rejects++
		}
		if q.Desk == sqliteDesk {
			lite++
		}
	}
	if rejects != 2 || len(c.rejected) != 2 {
		t.Fatalf("rejected questions = %d (%d recipients), want 2", rejects, len(c.rejected))
	}
	if lite < 30 || lite > 90 {
		t.Fatalf("%d of 200 questions to the SQLite desk, want about 30 %%", lite)
	}
}

func newTestSink() (*smtptest.Sink, error) { return smtptest.New(smtptest.Options{}) }
