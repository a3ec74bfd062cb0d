package metrics

import (
	"os"
	"testing"
	"time"
)

func TestProcessFigures(t *testing.T) {
	m := New(Config{})
	start := time.Now()

	// Burn a little CPU so that the figure has something to show.
	deadline := time.Now().Add(50 * time.Millisecond)
	for n := 0; time.Now().Before(deadline); n++ {
		_ = n * n
	}
	p := m.Process(start.Add(2 * time.Second))
	if p == nil {
		t.Fatal("no process figures on Linux")
	}
	if p.RSS < int64(os.Getpagesize()) {
		t.Errorf("rss = %d bytes", p.RSS)
	}
	if p.CPU <= 0 {
		t.Errorf("cpu = %v%% after busy work", p.CPU)
	}

	// A sample younger than a second is reused.
	if again := m.Process(start.Add(2*time.Second + time.Millisecond)); again != p {
		t.Error("process figures were sampled again within a second")
	}
}

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want float64
		ok   bool
	}{
		{"plain", "42 (herald) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9",
			3, true},
		{"name with spaces and parens", "42 (a b) c)) R 1 42 42 0 -1 0 0 0 0 0 " +
			"7 3 0 0 20 0 9", 0.1, true},
		{"truncated", "42 (herald) S 1 42", 0, false},
		{"no name", "42 herald S", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseStatCPU([]byte(tc.line))
			if ok != tc.ok || got != tc.want {
				t.Errorf("parseStatCPU = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	if n, ok := parseStatmRSS([]byte("1000 250 100 1 0 300 0\n")); !ok || n != 250 {
		t.Errorf("parseStatmRSS = %d, %v; want 250", n, ok)
	}
}
