package redistest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// sentinelConf is the configuration of a sentinel, filled with its port,
// directory, log file and the monitored master. A quorum of one lets a
// single sentinel fail over; the short timeouts let a test see a failover
// within seconds.
const sentinelConf = `port %d
bind 127.0.0.1
daemonize no
dir %q
logfile %q
sentinel monitor %s 127.0.0.1 %d 1
sentinel down-after-milliseconds %[4]s 1000
sentinel failover-timeout %[4]s 3000
`

// StartSentinel runs a sentinel (redis-server <conf> --sentinel) that
// monitors master under name, and waits until it has reached the master
// and seen it in the master role. It stops when the test ends.
func StartSentinel(t testing.TB, master *Server, name string) *Server {
	t.Helper()
	Require(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")

	// The sentinel rewrites its configuration file as it learns the
	// deployment, so the file lives in its directory and is written
	// only here, before the first start.
	build := func(port int) ([]string, error) {
		text := fmt.Sprintf(sentinelConf, port, dir, filepath.Join(dir, "redis.log"),
			name, master.Port)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return nil, fmt.Errorf("redistest: write sentinel config: %w", err)
		}
		return []string{conf, "--sentinel"}, nil
	}
	ready := func(s *Server) error { return sentinelReady(s, name) }
	return launch(t, dir, build, ready)
}

// sentinelReady checks that the sentinel is connected to the master of
// name and has had an INFO reply from it (info-refresh stays 0 until then).
func sentinelReady(s *Server, name string) error {
	r, err := call(s.Addr, "SENTINEL", "MASTER", name)
	if err != nil {
		return err
	}
	fields, _ := r.([]any)
	state := map[string]any{}
	for i := 0; i+1 < len(fields); i += 2 {
		if k, ok := fields[i].(string); ok {
			state[k] = fields[i+1]
		}
	}
	if state["flags"] != "master" || state["info-refresh"] == "0" {
		return fmt.Errorf("redistest: sentinel sees master %s with flags %v, "+
			"info-refresh %v", name, state["flags"], state["info-refresh"])
	}
	return nil
}
