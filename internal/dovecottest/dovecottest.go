// Package dovecottest runs a private Dovecot IMAP server for tests: a
// throwaway configuration in a temp dir, passwd-file users with PLAIN
// passwords, maildirs owned by nobody, one loopback port. Start skips the
// test when dovecot is not installed, unless CODEDESK_REQUIRE_DOVECOT=1 (CI
// sets it), in which case the test fails.
//
// The recipe and its gotchas (world-readable temp dirs for the auth process,
// a unique instance_name, running as root with mail owned by nobody) are in
// the team's stack notes. Dovecot runs in the foreground (dovecot -F) as a
// child of the test process and is stopped at cleanup.
package dovecottest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// EnvRequire is the environment variable that turns a missing dovecot binary
// from a skipped test into a failed one.
const EnvRequire = "CODEDESK_REQUIRE_DOVECOT"

// Binary is the dovecot executable Start runs; a bare name is looked up in
// PATH and then in /usr/sbin (which is not in every PATH).
var Binary = "dovecot"

// startTimeout bounds how long Start waits for the port to accept.
const startTimeout = 15 * time.Second

// User is one mail account.
type User struct {
	Name     string
	Password string
}

// Options configures a Dovecot instance. The zero value gives one user,
// DefaultUser with DefaultPassword.
type Options struct {
	// Users to create; each gets an INBOX. Default: DefaultUser.
	Users []User
	// ExtraConfig is appended to dovecot.conf, e.g.
	// "mail_max_userip_connections = 1".
	ExtraConfig string
}

// Default account created when Options.Users is empty.
const (
	DefaultUser     = "desk"
	DefaultPassword = "desk-secret"
)

// Server is a running (or stopped, between Stop and Restart) Dovecot
// instance.
type Server struct {
	dir   string
	port  int
	bin   string
	users map[string]string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd exits
}

// Start writes a configuration under a temp dir, starts dovecot on a free
// loopback port and waits until the port accepts connections. The server is
// stopped at the test's cleanup.
func Start(t testing.TB, opts *Options) *Server {
	t.Helper()
	requireBinary(t, Binary, os.Geteuid())
	dir := t.TempDir()
	// t.TempDir makes 0700 dirs; Dovecot's auth process (user dovecot) must
	// traverse them to read the passwd file.
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatalf("dovecottest: %v", err)
	}
	s, err := New(dir, opts)
	if err != nil {
		t.Fatalf("dovecottest: %v", err)
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("dovecottest: log tail:\n%s", s.logTail())
		}
	})
	return s
}

// Available reports why a private Dovecot cannot run here (no binary, or
// not root), or nil when it can. Programs outside tests (the chaos harness)
// check it before New.
func Available() error {
	_, err := usableBinary(Binary, os.Geteuid())
	return err
}

// New is Start for programs outside tests: it writes the configuration
// under dir (an existing, empty directory whose parents Dovecot's
// unprivileged processes can traverse), starts dovecot on a free loopback
// port and waits until it greets. Call Close to stop it.
func New(dir string, opts *Options) (*Server, error) {
	bin, err := usableBinary(Binary, os.Geteuid())
	if err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &Options{}
	}
	users := opts.Users
	if len(users) == 0 {
		users = []User{{Name: DefaultUser, Password: DefaultPassword}}
	}

	s := &Server{dir: dir, bin: bin, users: map[string]string{}}
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return nil, err
	}
	for _, d := range []string{"run", "state", "mail"} {
		if err := os.Mkdir(filepath.Join(s.dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	const nobody = 65534
	if err := os.Chown(filepath.Join(s.dir, "mail"), nobody, nobody); err != nil {
		return nil, err
	}
	var passwd strings.Builder
	for _, u := range users {
		if u.Name == "" || strings.ContainsAny(u.Name+u.Password, ":\n") {
			return nil, fmt.Errorf("user name %q or its password is not usable in a passwd-file", u.Name)
		}
		s.users[u.Name] = u.Password
		fmt.Fprintf(&passwd, "%s:{PLAIN}%s:%d:%d::%s\n", u.Name, u.Password, nobody, nobody,
			filepath.Join(s.dir, "mail", u.Name))
	}
	if err := os.WriteFile(filepath.Join(s.dir, "passwd"), []byte(passwd.String()), 0o644); err != nil {
		return nil, err
	}

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s.port, lastErr = freePort()
		if lastErr != nil {
			continue
		}
		if lastErr = s.writeConfig(opts.ExtraConfig); lastErr != nil {
			break
		}
		if lastErr = s.start(); lastErr == nil {
			break
		}
		// Most likely someone else took the port between freePort and
		// dovecot's bind: try another one.
		s.stop()
	}
	if lastErr != nil {
		return nil, fmt.Errorf("starting dovecot: %w\n%s", lastErr, s.logTail())
	}
	return s, nil
}

// Close stops Dovecot (as Stop); the directory stays.
func (s *Server) Close() {
	s.stop()
}

// LogTail returns the end of Dovecot's log, for failure reports.
func (s *Server) LogTail() string {
	return s.logTail()
}

// Addr returns the server's host:port; it stays the same across Restart.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Password returns a user's password.
func (s *Server) Password(user string) string {
	return s.users[user]
}

// Dir returns the instance's directory (config, log, maildirs under mail/).
func (s *Server) Dir() string {
	return s.dir
}

// Stop stops Dovecot and waits until all its processes are gone, which
// closes every client connection; the maildirs stay. Restart brings it back on the same port. Stopping
// a stopped server does nothing.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stop()
}

// Restart stops Dovecot if it runs and starts it again on the same port with
// the same configuration and maildirs, then waits until the port accepts.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.RestartErr(); err != nil {
		t.Fatalf("dovecottest: %v", err)
	}
}

// RestartErr is Restart for programs outside tests and other goroutines.
func (s *Server) RestartErr() error {
	s.stop()
	var err error
	// The old listener's port is free again at once (Dovecot sets
	// SO_REUSEADDR), but retry briefly in case the kernel disagrees.
	for attempt := 0; attempt < 5; attempt++ {
		if err = s.start(); err == nil {
			return nil
		}
		s.stop()
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("restarting dovecot: %w\n%s", err, s.logTail())
}

// Dial returns a client logged in as user; it is logged out and closed at
// the test's cleanup.
func (s *Server) Dial(t testing.TB, user string) *imapclient.Client {
	t.Helper()
	c, err := s.dial(user)
	if err != nil {
		t.Fatalf("dovecottest: %v", err)
	}
	t.Cleanup(func() {
		c.Logout().Wait()
		c.Close()
	})
	return c
}

func (s *Server) dial(user string) (*imapclient.Client, error) {
	pass, ok := s.users[user]
	if !ok {
		return nil, fmt.Errorf("no user %q on this server", user)
	}
	c, err := imapclient.DialInsecure(s.Addr(), &imapclient.Options{
		Dialer: &net.Dialer{Timeout: 5 * time.Second},
	})
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", s.Addr(), err)
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("logging in: %w", err)
	}
	return c, nil
}

// Append stores raw in the user's mailbox (created when missing) over a
// fresh IMAP connection and returns the UID the server gave it. raw should
// use CRLF line endings, as mail on the wire does.
func (s *Server) Append(t testing.TB, user, mailbox string, raw []byte) imap.UID {
	t.Helper()
	uid, err := s.AppendErr(user, mailbox, raw)
	if err != nil {
		t.Fatalf("dovecottest: %v", err)
	}
	return uid
}

// AppendErr is Append for callers that must not stop the test from another
// goroutine (t.Fatal may only be called from the test's own goroutine).
func (s *Server) AppendErr(user, mailbox string, raw []byte) (imap.UID, error) {
	c, err := s.dial(user)
	if err != nil {
		return 0, err
	}
	defer func() {
		c.Logout().Wait()
		c.Close()
	}()
	data, err := appendOnce(c, mailbox, raw)
	var imapErr *imap.Error
	if errors.As(err, &imapErr) && imapErr.Code == imap.ResponseCodeTryCreate {
		if err := c.Create(mailbox, nil).Wait(); err != nil {
			return 0, fmt.Errorf("creating mailbox %s: %w", mailbox, err)
		}
		data, err = appendOnce(c, mailbox, raw)
	}
	if err != nil {
		return 0, fmt.Errorf("appending to %s: %w", mailbox, err)
	}
	return data.UID, nil
}

func appendOnce(c *imapclient.Client, mailbox string, raw []byte) (*imap.AppendData, error) {
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		cmd.Close()
		cmd.Wait()
		return nil, err
	}
	if err := cmd.Close(); err != nil {
		return nil, err
	}
	return cmd.Wait()
}

// requireBinary returns the path of name, or skips the test (fails it when
// CODEDESK_REQUIRE_DOVECOT=1) when it is missing or euid is not root.
func requireBinary(t testing.TB, name string, euid int) string {
	t.Helper()
	bin, err := usableBinary(name, euid)
	if err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("dovecottest: %v (%s=1 requires it)", err, EnvRequire)
		}
		t.Skipf("dovecottest: %v; install dovecot-imapd and run as root, or set %s=1 to make this a failure", err, EnvRequire)
	}
	return bin
}

// usableBinary returns the path of name, or why it cannot be run.
func usableBinary(name string, euid int) (string, error) {
	bin, err := findBinary(name)
	if err == nil && euid != 0 {
		// Dovecot switches to the mail user (nobody) and its own service
		// users; that needs root.
		err = errors.New("the private Dovecot must run as root")
	}
	return bin, err
}

func findBinary(name string) (string, error) {
	if filepath.IsAbs(name) {
		if _, err := os.Stat(name); err != nil {
			return "", fmt.Errorf("dovecot not found at %s", name)
		}
		return name, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found in PATH or /usr/sbin", name)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) writeConfig(extra string) error {
	d := s.dir
	conf := fmt.Sprintf(`# Written by dovecottest for one test; not the system configuration.
protocols = imap
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = codedesk-dovecottest-%[2]d
log_path = %[1]s/dovecot.log
info_log_path = %[1]s/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%n %[1]s/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%%n %[1]s/passwd
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]d
  }
  inet_listener imaps {
    port = 0
  }
}
%[3]s
`, d, s.port, extra)
	if err := os.WriteFile(filepath.Join(d, "dovecot.conf"), []byte(conf), 0o644); err != nil {
		return fmt.Errorf("writing dovecot.conf: %w", err)
	}
	return nil
}

// start runs dovecot -F and waits until the port accepts.
func (s *Server) start() error {
	cmd := exec.Command(s.bin, "-F", "-c", filepath.Join(s.dir, "dovecot.conf"))
	// Output goes to a file, not a pipe: Dovecot's children inherit it, and
	// a pipe would keep cmd.Wait waiting for them after the master exited.
	outPath := filepath.Join(s.dir, "dovecot.out")
	outFile, err := os.Create(outPath)
	if err != nil {
		return fmt.Errorf("creating %s: %w", outPath, err)
	}
	defer outFile.Close()
	cmd.Stdout = outFile
	cmd.Stderr = outFile
	// Its own process group, so a terminal's ^C reaches only the test and
	// cleanup decides how Dovecot stops; and a test binary that dies
	// without cleanup (a timeout panic) takes Dovecot with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	output := func() string {
		b, _ := os.ReadFile(outPath)
		return strings.TrimSpace(string(b))
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		select {
		case <-done:
			return fmt.Errorf("dovecot exited at start: %s", output())
		default:
		}
		if ok := greets(s.Addr()); ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("port %d did not greet within %v", s.port, startTimeout)
		case <-done:
			return fmt.Errorf("dovecot exited at start: %s", output())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// greets reports whether an IMAP server on addr sends its "* OK" greeting:
// an accepted connection alone is not enough, the port is taken early.
func greets(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4)
	n, _ := conn.Read(buf)
	return n >= 4 && string(buf[:4]) == "* OK"
}

// stop sends SIGTERM to Dovecot's process group (SIGKILL after 10 s), waits
// for the master, then ends the processes it may leave behind: with a
// client connected, the imap, log and stats processes can outlive the
// master. Clients see their connections close, as in a real restart.
func (s *Server) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	pgid := cmd.Process.Pid
	// The whole group at once: children that die while the master still
	// runs are reaped by it, rather than left as zombies of PID 1.
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if !groupAlive(pgid) || syscall.Kill(-pgid, sig) != nil {
			return
		}
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
			if !groupAlive(pgid) {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// groupAlive reports whether a process of group pgid still runs. Zombies
// do not count: the orphans are re-parented to PID 1, which in some
// containers never reaps them, so kill(-pgid, 0) would succeed forever.
func groupAlive(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return syscall.Kill(-pgid, 0) == nil
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may contain spaces.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "dovecot.log"))
	if err != nil {
		return "(no dovecot.log)"
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
