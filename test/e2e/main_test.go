package e2e

import (
	"fmt"
	"os"
	"testing"
)

// TestMain builds Herald once for the whole run, or takes the binary named
// by HERALD_BIN. A binary that does not build fails the run: these tests
// never skip.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if bin := os.Getenv("HERALD_BIN"); bin != "" {
		Binary = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "herald-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin, err := Build(dir, raceEnabled)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	Binary = bin
	return m.Run()
}
