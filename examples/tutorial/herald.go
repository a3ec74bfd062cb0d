package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// heraldProcess is a Herald server started as a child process.
type heraldProcess struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // why it exited; read after done
}

// startHerald starts bin with config file config; its output goes to this
// process's output. On Linux the child also gets SIGTERM if this process
// dies without stopping it.
func startHerald(bin, config string) (*heraldProcess, error) {
	cmd := exec.Command(bin, "-c", config)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start herald: %w", err)
	}
	slog.Info("herald started", "bin", bin, "config", config, "pid", cmd.Process.Pid)
	h := &heraldProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		if err == nil {
			err = errors.New("exited")
		}
		h.err = fmt.Errorf("herald: %w", err)
		close(h.done)
	}()
	return h, nil
}

// wait blocks until Herald exits and returns why.
func (h *heraldProcess) wait() error {
	<-h.done
	return h.err
}

// stop asks Herald to shut down gracefully and kills it if it has not
// exited within ten seconds.
func (h *heraldProcess) stop() {
	select {
	case <-h.done:
		return
	default:
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		slog.Warn("herald did not stop in 10s; killing it")
		_ = h.cmd.Process.Kill()
		<-h.done
	}
}

// waitHealthy polls Herald's /health until it answers 200, ctx ends or
// timeout passes.
func waitHealthy(ctx context.Context, base *url.URL, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	health := base.String() + "/health"
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if cause := context.Cause(ctx); !errors.Is(cause, context.DeadlineExceeded) {
				return cause
			}
			return fmt.Errorf("herald is not healthy at %s after %s", health, timeout)
		case <-tick.C:
		}
	}
}
