// Package natstest runs real nats-server processes for tests, on free
// loopback ports, stopped when the test ends.
package natstest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const startTimeout = 10 * time.Second

// binary is the server's name on PATH; Debian installs it in /usr/sbin,
// which is not on every user's PATH.
func binary() (string, error) {
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p, nil
	}
	const debian = "/usr/sbin/nats-server"
	if _, err := os.Stat(debian); err == nil {
		return debian, nil
	}
	return "", errors.New("nats-server is not installed")
}

// Require fails the test under CI=true, or skips it otherwise, when
// nats-server is not installed.
func Require(t testing.TB) {
	t.Helper()
	if _, err := binary(); err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nats-server is not installed; CI must provide it")
	}
	t.Skip("nats-server is not installed")
}

// Server is one nats-server process. Its port stays the same across
// [Server.Restart], so clients reconnect to it.
type Server struct {
	// URL is "nats://127.0.0.1:<Port>".
	URL  string
	Port int

	bin     string
	args    []string
	logPath string

	// mu guards cmd and done, nil while no process runs.
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs nats-server on a free 127.0.0.1 port with the extra args,
// waits until it accepts clients and stops it when the test ends.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	Require(t)
	bin, _ := binary()
	dir := t.TempDir()
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("natstest: find a free port: %v", err)
		}
		s := &Server{
			URL:     "nats://127.0.0.1:" + strconv.Itoa(port),
			Port:    port,
			bin:     bin,
			args:    append([]string{"-a", "127.0.0.1", "-p", strconv.Itoa(port)}, args...),
			logPath: filepath.Join(dir, "nats.log"),
		}
		err = s.start()
		if err == nil {
			t.Cleanup(func() {
				s.stop()
				if t.Failed() {
					t.Logf("nats-server %s log:\n%s", s.URL, s.logTail())
				}
			})
			return s
		}
		if attempt < 3 && strings.Contains(s.logTail(), "address already in use") {
			continue
		}
		t.Fatalf("natstest: start nats-server: %v\n%s", err, s.logTail())
	}
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	log, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	deadline := time.Now().Add(startTimeout)
	for {
		if err := s.ready(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			s.killLocked()
			return fmt.Errorf("not ready after %v: %w", startTimeout, err)
		}
		select {
		case <-done:
			s.cmd, s.done = nil, nil
			return errors.New("nats-server exited")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ready checks that the server greets a client with its INFO line.
func (s *Server) ready() error {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.Port), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "INFO ") {
		return fmt.Errorf("unexpected greeting %q", line)
	}
	return nil
}

// Stop shuts the server down (SIGINT, its graceful stop) and waits for it
// to exit.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stop()
}

func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd, s.done = nil, nil
}

func (s *Server) killLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd, s.done = nil, nil
}

// Restart starts the server again on the same port.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.stop()
	if err := s.start(); err != nil {
		t.Fatalf("natstest: restart %s: %v\n%s", s.URL, err, s.logTail())
	}
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// freePort returns a port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
