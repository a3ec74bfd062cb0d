package metrics

import (
	"bytes"
	"os"
	"strconv"
)

// userHZ is the clock tick of the CPU times in /proc/<pid>/stat. The
// kernel reports them in USER_HZ, which is 100 on every architecture Go
// supports on Linux.
const userHZ = 100

// readProcess returns the CPU seconds the process has used and its
// resident set size in bytes.
func readProcess() (cpu float64, rss int64, ok bool) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, false
	}
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, 0, false
	}

	cpu, ok = parseStatCPU(stat)
	if !ok {
		return 0, 0, false
	}
	pages, ok := parseStatmRSS(statm)
	if !ok {
		return 0, 0, false
	}
	return cpu, pages * int64(os.Getpagesize()), true
}

// parseStatCPU reads utime and stime, fields 14 and 15 of a stat line.
// The command name, field 2, is in parentheses and may hold spaces and
// parentheses itself, so fields are counted from the last ')'.
func parseStatCPU(stat []byte) (float64, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	// After the name come field 3 (the state) onwards.
	fields := bytes.Fields(stat[i+1:])
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, false
	}
	u, err1 := strconv.ParseUint(string(fields[utime]), 10, 64)
	s, err2 := strconv.ParseUint(string(fields[stime]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return float64(u+s) / userHZ, true
}

// parseStatmRSS reads the resident page count, the second field of statm.
func parseStatmRSS(statm []byte) (int64, bool) {
	fields := bytes.Fields(statm)
	if len(fields) < 2 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(fields[1]), 10, 64)
	return n, err == nil
}
