package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// it is 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuSeconds returns the user plus system CPU time of process pid so far
// (pid 0: this process).
func cpuSeconds(pid int) (float64, error) {
	path := "/proc/self/stat"
	if pid > 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; fields are counted after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: too few fields", path)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: bad utime or stime", path)
	}
	return float64(ut+st) / clockTicks, nil
}

// rssBytes returns VmRSS of process pid.
func rssBytes(pid int) (int64, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		v, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(
			strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("%s: no VmRSS", path)
}

// pidList is the value of -pid: the server processes of a run. Figures
// are summed over the list, so that a cluster of nodes on one machine is
// measured as one server.
type pidList []int

// String returns the list as the flag takes it.
func (l *pidList) String() string {
	s := make([]string, len(*l))
	for i, pid := range *l {
		s[i] = strconv.Itoa(pid)
	}
	return strings.Join(s, ",")
}

// Set parses a comma-separated list of process IDs.
func (l *pidList) Set(v string) error {
	var out pidList
	for f := range strings.SplitSeq(v, ",") {
		pid, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || pid <= 0 {
			return fmt.Errorf("bad process ID %q", f)
		}
		out = append(out, pid)
	}
	*l = out
	return nil
}

// rss returns the sum of the processes' VmRSS.
func (l pidList) rss() (int64, error) {
	var sum int64
	for _, pid := range l {
		n, err := rssBytes(pid)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// cpuMeter measures the CPU time of the server processes and of this tool
// over an interval. Without pids only the tool is measured.
type cpuMeter struct {
	pids   pidList
	server []float64
	client float64
}

func startCPU(pids pidList) *cpuMeter {
	m := &cpuMeter{pids: pids, server: make([]float64, len(pids))}
	for i, pid := range pids {
		m.server[i], _ = cpuSeconds(pid)
	}
	m.client, _ = cpuSeconds(0)
	return m
}

// stop records in r the servers' and the tool's CPU seconds since
// startCPU; with several servers, each one's share too. A process that has
// gone away counts as zero.
func (m *cpuMeter) stop(r *Result) {
	var total float64
	by := make([]float64, len(m.pids))
	for i, pid := range m.pids {
		if s, err := cpuSeconds(pid); err == nil {
			// Whole clock ticks, without the float noise of the subtraction.
			by[i] = math.Round((s-m.server[i])*clockTicks) / clockTicks
		}
		total += by[i]
	}
	c, _ := cpuSeconds(0)
	r.ServerCPUS, r.ClientCPUS = total, c-m.client
	if len(by) > 1 {
		r.ServerCPUByPID = by
	}
}

// runtimeStats is what Herald's debug endpoint reports about its runtime.
type runtimeStats struct {
	HeapBytes  int64 `json:"heap_bytes"`
	StackBytes int64 `json:"stack_bytes"`
	Goroutines int64 `json:"goroutines"`
}

// readRuntime fetches the runtime figures after a garbage collection, so
// that the heap holds live objects only.
func readRuntime(ctx context.Context, url string) (*runtimeStats, error) {
	if url == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"?gc=1", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var s runtimeStats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return &s, nil
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	sleepUntil(ctx, time.Now().Add(d))
}
