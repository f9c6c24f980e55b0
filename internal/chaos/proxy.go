package chaos

import (
	"bytes"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// imapProxy forwards the nodes' IMAP connections to Dovecot and cuts them
// on demand: mid-IDLE (a connection that has just sent IDLE is cut after a
// short random delay) and mid-FETCH (a connection that has just sent a
// FETCH is cut once a chosen number of bytes of the server's answer went
// through, even in the middle of a literal).
type imapProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns map[*proxyConn]struct{}
	rng   *rand.Rand

	armIdle   atomic.Int32 // IDLE cuts wanted
	armFetch  atomic.Int32 // FETCH cuts wanted
	idleCuts  atomic.Int32
	fetchCuts atomic.Int32
	allCuts   atomic.Int32
}

type proxyConn struct {
	c, s     net.Conn
	down     atomic.Int64 // server → client bytes so far
	cutAt    atomic.Int64 // > 0: cut when down reaches it
	closed   atomic.Bool
	closeOne sync.Once
}

func (pc *proxyConn) close() {
	pc.closeOne.Do(func() {
		pc.closed.Store(true)
		pc.c.Close()
		pc.s.Close()
	})
}

func startProxy(target string, seed uint64) (*imapProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &imapProxy{ln: ln, target: target, conns: map[*proxyConn]struct{}{},
		rng: rand.New(rand.NewPCG(seed, 0x1dc0))}
	go p.serve()
	return p, nil
}

func (p *imapProxy) addr() string { return p.ln.Addr().String() }

func (p *imapProxy) close() {
	p.ln.Close()
	p.cutAll(false)
}

func (p *imapProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close() // the server is down (restarting): the client retries
			continue
		}
		pc := &proxyConn{c: c, s: s}
		p.mu.Lock()
		p.conns[pc] = struct{}{}
		p.mu.Unlock()
		go p.up(pc)
		go p.downstream(pc)
	}
}

func (p *imapProxy) forget(pc *proxyConn) {
	pc.close()
	p.mu.Lock()
	delete(p.conns, pc)
	p.mu.Unlock()
}

func (p *imapProxy) intn(lo, hi int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return lo + p.rng.IntN(hi-lo+1)
}

// up copies client → server and watches the command lines.
func (p *imapProxy) up(pc *proxyConn) {
	defer p.forget(pc)
	buf := make([]byte, 16<<10)
	var line []byte
	for {
		k, err := pc.c.Read(buf)
		if k > 0 {
			for _, b := range buf[:k] {
				if b == '\n' {
					p.command(pc, line)
					line = line[:0]
				} else if len(line) < 200 {
					line = append(line, b)
				}
			}
			if _, werr := pc.s.Write(buf[:k]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// command looks at one client line: "tag IDLE" or "tag [UID] FETCH …".
func (p *imapProxy) command(pc *proxyConn, line []byte) {
	f := bytes.Fields(bytes.ToUpper(line))
	if len(f) < 2 {
		return
	}
	verb := f[1]
	if bytes.Equal(verb, []byte("UID")) && len(f) > 2 {
		verb = f[2]
	}
	switch {
	case bytes.Equal(verb, []byte("IDLE")):
		if takeArm(&p.armIdle) {
			d := time.Duration(p.intn(50, 600)) * time.Millisecond
			time.AfterFunc(d, func() {
				if !pc.closed.Load() {
					p.idleCuts.Add(1)
					pc.close()
				} else {
					p.armIdle.Add(1) // closed anyway: try another
				}
			})
		}
	case bytes.Equal(verb, []byte("FETCH")):
		if takeArm(&p.armFetch) {
			pc.cutAt.Store(pc.down.Load() + int64(p.intn(40, 1500)))
		}
	}
}

func takeArm(a *atomic.Int32) bool {
	for {
		v := a.Load()
		if v <= 0 {
			return false
		}
		if a.CompareAndSwap(v, v-1) {
			return true
		}
	}
}

// downstream copies server → client, cutting at cutAt.
func (p *imapProxy) downstream(pc *proxyConn) {
	defer p.forget(pc)
	buf := make([]byte, 32<<10)
	for {
		k, err := pc.s.Read(buf)
		if k > 0 {
			chunk := buf[:k]
			if at := pc.cutAt.Load(); at > 0 {
				sent := pc.down.Load()
				if sent+int64(k) >= at {
					_, _ = pc.c.Write(chunk[:at-sent])
					p.fetchCuts.Add(1)
					return
				}
			}
			pc.down.Add(int64(k))
			if _, werr := pc.c.Write(chunk); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cutAll drops every connection at once (as a network blip does).
func (p *imapProxy) cutAll(count bool) {
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for pc := range p.conns {
		conns = append(conns, pc)
	}
	p.mu.Unlock()
	for _, pc := range conns {
		pc.close()
	}
	if count {
		p.allCuts.Add(1)
	}
}
