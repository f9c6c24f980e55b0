package mailbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/mail"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	testUser = "desk@codedesk.test"
	testPass = "desk-pass"
)

// crlf turns a readable literal into wire form.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

// question is a synthetic coding question with a unique Message-ID.
func question(id string) []byte {
	return crlf(fmt.Sprintf("From: Coder <coder@example.test>\n"+
		"To: desk@codedesk.test\n"+
		"Subject: Is E11.9 billable? (%s)\n"+
		"Date: Mon, 02 Mar 2026 10:00:00 +0000\n"+
		"Message-ID: <%s@example.test>\n"+
		"\n"+
		"Synthetic question %s: can E11.9 be billed with 99213?\n", id, id, id))
}

// memServer is go-imap's in-memory server on a loopback port.
type memServer struct {
	addr string
	user *imapmemserver.User
}

// startMem starts an in-memory IMAP server without TLS; caps nil means
// IMAP4rev1 + IMAP4rev2 (both with IDLE).
func startMem(t testing.TB, caps imap.CapSet) *memServer {
	t.Helper()
	return startMemOpts(t, memOpts{caps: caps})
}

// memOpts configures startMemOpts.
type memOpts struct {
	caps imap.CapSet
	// tls, when set, offers STARTTLS (or, with implicit, wraps the
	// listener) and refuses LOGIN without TLS.
	tls      *tls.Config
	implicit bool
}

func startMemOpts(t testing.TB, o memOpts) *memServer {
	t.Helper()
	caps := o.caps
	if caps == nil {
		caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
	}
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(testUser, testPass)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatalf("Create(INBOX) error = %v", err)
	}
	mem.AddUser(u)
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: o.tls == nil,
		Logger:       log.New(io.Discard, "", 0),
	}
	if !o.implicit {
		opts.TLSConfig = o.tls
	}
	srv := imapserver.New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen() error = %v", err)
	}
	if o.implicit {
		ln = tls.NewListener(ln, o.tls)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &memServer{addr: ln.Addr().String(), user: u}
}

// selfSigned returns a server TLS config for 127.0.0.1 and a client pool
// that trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("GenerateKey() error = %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "codedesk test IMAP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("CreateCertificate() error = %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("ParseCertificate() error = %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

type literal struct {
	*bytes.Reader
}

func (l literal) Size() int64 { return l.Reader.Size() }

// appendMsg stores raw in INBOX (as a delivery agent would) and returns its
// UID.
func (s *memServer) appendMsg(t testing.TB, raw []byte) uint32 {
	t.Helper()
	data, err := s.user.Append("INBOX", literal{bytes.NewReader(raw)}, &imap.AppendOptions{})
	if err != nil {
		t.Fatalf("Append() error = %v", err)
	}
	return uint32(data.UID)
}

// flags returns the flags of uid in INBOX, read over a fresh connection
// with FETCH FLAGS (which does not change them).
func flagsOf(addr, user, pass string, uid uint32) ([]imap.Flag, error) {
	c, err := imapclient.DialInsecure(addr, &imapclient.Options{Dialer: &net.Dialer{Timeout: 5 * time.Second}})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		return nil, err
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return nil, err
	}
	msgs, err := c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("FETCH FLAGS of UID %d: %d messages", uid, len(msgs))
	}
	c.Logout().Wait()
	return msgs[0].Flags, nil
}

func hasSeen(flags []imap.Flag) bool {
	for _, f := range flags {
		if strings.EqualFold(string(f), string(imap.FlagSeen)) {
			return true
		}
	}
	return false
}

// sinkKey identifies a message the way the database does.
type sinkKey struct {
	mailbox     string
	uidValidity uint32
	uid         uint32
}

// memSink is an in-memory Sink with the database's semantics: a message
// and its checkpoint advance commit together; duplicates by (mailbox,
// UIDVALIDITY, UID) or Message-ID are absorbed; a failing hook rolls back.
type memSink struct {
	mu         sync.Mutex
	cp         map[string][2]uint32
	byKey      map[sinkKey]*Fetched
	byMsgID    map[string]sinkKey
	stored     []*Fetched      // new rows, in commit order
	calls      map[sinkKey]int // Deliver calls, failed ones included
	duplicates int
	failed     int

	// before, when set, runs at the start of Deliver; an error it returns
	// fails the delivery (the transaction "rolls back").
	before func(f *Fetched) error
	// cpErr, when set, fails Checkpoint.
	cpErr error

	changed chan struct{} // signalled after every successful Deliver
}

func newMemSink() *memSink {
	return &memSink{
		cp:      map[string][2]uint32{},
		byKey:   map[sinkKey]*Fetched{},
		byMsgID: map[string]sinkKey{},
		calls:   map[sinkKey]int{},
		changed: make(chan struct{}, 1),
	}
}

func (s *memSink) Checkpoint(ctx context.Context, mailbox string) (uint32, uint32, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cpErr != nil {
		return 0, 0, false, s.cpErr
	}
	cp, ok := s.cp[mailbox]
	return cp[0], cp[1], ok, nil
}

func (s *memSink) Deliver(ctx context.Context, batch []*Fetched) error {
	s.mu.Lock()
	before := s.before
	for _, f := range batch {
		s.calls[sinkKey{f.Mailbox, f.UIDValidity, f.UID}]++
	}
	s.mu.Unlock()
	if before != nil {
		for _, f := range batch {
			if err := before(f); err != nil {
				// The whole batch "rolls back".
				s.mu.Lock()
				s.failed++
				s.mu.Unlock()
				return err
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range batch {
		k := sinkKey{f.Mailbox, f.UIDValidity, f.UID}
		msgID := messageID(f.Raw)
		_, dupKey := s.byKey[k]
		_, dupID := s.byMsgID[msgID]
		if dupKey || (msgID != "" && dupID) {
			s.duplicates++
		} else {
			c := *f
			c.Raw = bytes.Clone(f.Raw)
			s.byKey[k] = &c
			if msgID != "" {
				s.byMsgID[msgID] = k
			}
			s.stored = append(s.stored, &c)
		}
		// Like store.SaveCheckpoint: within one UIDVALIDITY never backwards.
		cp, ok := s.cp[f.Mailbox]
		if !ok || cp[0] != f.UIDValidity || cp[1] < f.UID {
			s.cp[f.Mailbox] = [2]uint32{f.UIDValidity, f.UID}
		}
	}
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return nil
}

func messageID(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	return strings.Trim(m.Header.Get("Message-Id"), "<> ")
}

func (s *memSink) storedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.stored)
}

func (s *memSink) storedSnapshot() []*Fetched {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Fetched(nil), s.stored...)
}

func (s *memSink) checkpoint() (uint32, uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := s.cp[DefaultMailbox]
	return cp[0], cp[1]
}

// waitStored waits until at least n messages are stored.
func (s *memSink) waitStored(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for s.storedCount() < n {
		if time.Now().After(deadline) {
			t.Fatalf("stored %d messages within %v, want %d", s.storedCount(), within, n)
		}
		select {
		case <-s.changed:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// waitFor polls cond until it holds or fails the test.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testConfig is a config for addr with short, test-friendly timings.
func testConfig(addr string) Config {
	return Config{
		Addr:         addr,
		Username:     testUser,
		Password:     testPass,
		PollInterval: 5 * time.Second,
		Timeout:      2 * time.Second,
		ReconnectMin: 10 * time.Millisecond,
		ReconnectMax: 200 * time.Millisecond,
		Logger:       testLogger(),
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("MAILBOX_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// running is a poller started in the background.
type running struct {
	p      *Poller
	cancel context.CancelFunc
	done   chan error
	idles  atomic.Int64
}

// startPoller runs a poller until the test ends (or stop is called).
func startPoller(t *testing.T, cfg Config, sink Sink) *running {
	t.Helper()
	p, err := New(cfg, sink)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	r := &running{p: p, done: make(chan error, 1)}
	p.onIdle = func() { r.idles.Add(1) }
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- p.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the poller and checks that Run returns nil promptly.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run() = %v, want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("Run() did not return within 5s of cancel")
	}
}

// waitIdle waits until the poller has entered IDLE more than since times
// (pass r.idles.Load() taken before the event of interest).
func (r *running) waitIdle(t *testing.T, since int64, within time.Duration) {
	t.Helper()
	waitFor(t, within, "the poller to enter IDLE", func() bool { return r.idles.Load() > since })
}

// metricValue reads one sample (counter or gauge) for mailbox INBOX.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather() error = %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "mailbox" && l.GetValue() == DefaultMailbox {
					switch {
					case m.Counter != nil:
						return m.GetCounter().GetValue()
					case m.Gauge != nil:
						return m.GetGauge().GetValue()
					case m.Histogram != nil:
						return float64(m.GetHistogram().GetSampleCount())
					}
				}
			}
		}
	}
	return 0
}

// proxy is a TCP proxy in front of an IMAP server that a test can freeze
// (stop forwarding, keep connections open), thaw, or cut.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	// rewrite, when set, edits each line the server sends (see stripIdle).
	rewrite func(line []byte) []byte

	mu       sync.Mutex
	gate     chan struct{} // closed while forwarding is allowed
	conns    map[net.Conn]struct{}
	accepted atomic.Int64
	sawIdle  atomic.Bool // the client sent an IDLE command
}

// stripIdle removes IDLE and IMAP4rev2 from capability lines, making the
// server look like one without IDLE.
func stripIdle(line []byte) []byte {
	if !bytes.Contains(line, []byte("CAPABILITY")) {
		return line
	}
	line = bytes.ReplaceAll(line, []byte(" IDLE"), nil)
	return bytes.ReplaceAll(line, []byte(" IMAP4rev2"), nil)
}

func startProxy(t *testing.T, target string, rewrite func([]byte) []byte) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen() error = %v", err)
	}
	open := make(chan struct{})
	close(open)
	p := &proxy{t: t, ln: ln, target: target, rewrite: rewrite, gate: open, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.thaw()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			down.Close()
			continue
		}
		p.mu.Lock()
		p.conns[down] = struct{}{}
		p.conns[up] = struct{}{}
		p.mu.Unlock()
		go p.pipe(down, up, nil)
		go p.pipe(up, down, p.rewrite)
	}
}

// pipe copies src to dst, waiting while the proxy is frozen.
func (p *proxy) pipe(src, dst net.Conn, rewrite func([]byte) []byte) {
	defer src.Close()
	defer dst.Close()
	r := bufio.NewReader(src)
	for {
		var chunk []byte
		if rewrite != nil {
			line, err := r.ReadSlice('\n')
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return
			}
			chunk = rewrite(bytes.Clone(line))
		} else {
			buf := make([]byte, 32<<10)
			n, err := r.Read(buf)
			if err != nil {
				return
			}
			chunk = buf[:n]
			if bytes.Contains(chunk, []byte(" IDLE\r\n")) {
				p.sawIdle.Store(true)
			}
		}
		p.mu.Lock()
		gate := p.gate
		p.mu.Unlock()
		<-gate
		if _, err := dst.Write(chunk); err != nil {
			return
		}
	}
}

// freeze stops all forwarding (existing and new connections) until thaw.
func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
		p.gate = make(chan struct{})
	default:
	}
}

func (p *proxy) thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
	default:
		close(p.gate)
	}
}

// cut closes every open connection, as a dropped network would.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

var _ io.Reader = literal{}
