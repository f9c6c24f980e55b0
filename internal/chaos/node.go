package chaos

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// node is one codedesk serve process the harness starts, kills and
// restarts. Its log (JSON, appended across restarts) is in the run dir.
type node struct {
	name    string // pg1, pg2, …, sqlite
	sqlite  bool
	bin     string
	args    []string
	logPath string
	port    int // HTTP port (/healthz), the same across restarts

	mu        sync.Mutex
	cmd       *exec.Cmd
	done      chan struct{}
	killing   bool // the harness is stopping it: its exit is expected
	starts    int
	unexpect  []string // exits the harness did not cause
	lastExit  string
	stoppedOK int // exits with status 0 after SIGTERM
}

// start runs the process; it is a no-op when it already runs.
func (n *node) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		return nil
	}
	f, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("opening %s: %w", n.logPath, err)
	}
	defer f.Close()
	n.starts++
	fmt.Fprintf(f, "{\"chaos\":\"start %d of %s\",\"time\":%q}\n", n.starts, n.name, time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(n.bin, append([]string{"serve"}, n.args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "CODEDESK_SMTP_PASSWORD=", "CODEDESK_IMAP_PASSWORD_FILE=")
	// Its own process group (a ^C reaches only the harness, which decides
	// how nodes stop), and killed with the harness if that dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", n.name, err)
	}
	done := make(chan struct{})
	n.cmd, n.done, n.killing = cmd, done, false
	go func() {
		err := cmd.Wait()
		n.mu.Lock()
		defer n.mu.Unlock()
		desc := "exit 0"
		if err != nil {
			desc = err.Error()
		}
		n.lastExit = desc
		if !n.killing {
			n.unexpect = append(n.unexpect, desc)
		}
		if n.cmd == cmd {
			n.cmd = nil
		}
		close(done)
	}()
	return nil
}

// pid is the running process's ID, or 0.
func (n *node) pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

func (n *node) running() bool { return n.pid() != 0 }

// kill sends SIGKILL and waits for the process to be gone. It reports
// whether there was a process to kill.
func (n *node) kill() bool {
	return n.signal(syscall.SIGKILL, 10*time.Second)
}

// stop sends SIGTERM (graceful shutdown) and waits up to timeout, then
// SIGKILL. It reports whether the process exited with status 0 on its own.
func (n *node) stop(timeout time.Duration) bool {
	n.mu.Lock()
	cmd := n.cmd
	n.mu.Unlock()
	if cmd == nil {
		return false
	}
	if !n.signal(syscall.SIGTERM, timeout) {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	ok := n.lastExit == "exit 0"
	if ok {
		n.stoppedOK++
	}
	return ok
}

func (n *node) signal(sig syscall.Signal, wait time.Duration) bool {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	if cmd == nil {
		n.mu.Unlock()
		return false
	}
	n.killing = true
	n.mu.Unlock()
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
		return true
	case <-time.After(wait):
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
	return sig == syscall.SIGKILL
}

// unexpectedExits are the exits the harness did not cause (crashes).
func (n *node) unexpectedExits() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.unexpect...)
}

// matches reports whether a River client ID (attempted_by) is this node's:
// its --node-id, or the default hostname-pid.
func (n *node) matches(clientID string) bool {
	if clientID == n.name {
		return true
	}
	pid := n.pid()
	return pid != 0 && strings.HasSuffix(clientID, "-"+strconv.Itoa(pid))
}

// waitHealthy waits until /healthz answers (any status: a node whose
// mailbox is held by another is still up).
func (n *node) waitHealthy(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", n.port)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if !n.running() {
			return fmt.Errorf("node %s exited at start (%s); log: %s", n.name, n.exitDesc(), n.logPath)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s: /healthz did not answer: %w; log: %s", n.name, ctx.Err(), n.logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (n *node) exitDesc() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lastExit
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
