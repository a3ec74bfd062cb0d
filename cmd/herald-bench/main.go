// Command herald-bench drives a server that speaks the Centrifugo client
// protocol v2 (JSON over WebSocket) and the v5+ HTTP server API, and
// measures it from the client side: Herald, or Centrifugo itself for a
// side-by-side comparison.
//
// Each scenario prints one JSON line on stdout and a readable summary on
// stderr. Scenarios:
//
//	idle          N connections, one channel each; server RSS (and, for
//	              Herald with -debug-url, heap and stack) per connection
//	fanout        N subscribers of one channel; M publications at rate R
//	manychannels  N subscribers of N channels; publications to random ones
//	connectstorm  N clients connecting at once; time until all are in
//	publish       P publishers sending API requests back to back for a
//	              while, no clients; publications per second, API latency
//
// Clients and publications may go to different nodes of a cluster (-url and
// -api), and -pid takes every node's process, so that CPU time is the
// cluster's. The tool shares the machine with the servers it measures; its
// own CPU time is reported next to theirs. Every run is bounded by -timeout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr,
		&slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(),
		os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, logger)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "herald-bench:", err)
		}
		os.Exit(1)
	}
}

// run parses args and runs the scenarios they name, in order.
func run(ctx context.Context, args []string, stdout, stderr io.Writer,
	logger *slog.Logger) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	for _, name := range strings.Split(opts.Scenarios, ",") {
		sc, ok := scenarios[strings.TrimSpace(name)]
		if !ok {
			return fmt.Errorf("unknown scenario %q", name)
		}
		res, err := sc(ctx, opts, logger)
		if res != nil {
			if werr := res.write(stdout, stderr); werr != nil {
				return werr
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}
