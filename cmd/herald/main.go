// Command herald runs the Herald real-time messaging server and its
// operator subcommands.
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

	"github.com/heraldhq/herald/internal/app"
	"github.com/heraldhq/herald/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage: herald [serve] [-c FILE] [flags]
       herald version
       herald genconfig [-c FILE]
       herald gentoken -u USER [-t TTL] [-c FILE]
       herald checkconfig -c FILE
       herald checktoken [-c FILE] TOKEN
`

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (!strings.HasPrefix(args[0], "-") ||
		args[0] == "-h" || args[0] == "--help") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(args, stderr)
	case "version":
		fmt.Fprintf(stdout, "herald %s\n", version)
	case "genconfig":
		err = genconfig(args, stdout)
	case "gentoken":
		err = gentoken(args, stdout)
	case "checkconfig":
		err = checkconfig(args, stdout, stderr)
	case "checktoken":
		err = checktoken(args, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "herald: unknown command %q\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			// -h after a command: the flag package printed its usage.
			return 0
		}
		fmt.Fprintf(stderr, "herald: %v\n", err)
		return 1
	}
	return 0
}

// loadConfig parses the command's flags and loads the config they name.
func loadConfig(fs *flag.FlagSet, args []string, stderr io.Writer) (
	*config.Config, error) {
	var file string
	fs.StringVar(&file, "c", "", "config file (JSON, YAML or TOML)")
	fs.StringVar(&file, "config", "", "config file (JSON, YAML or TOML)")
	config.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	cfg, warnings, err := config.Load(config.Source{
		File: file, Env: os.Environ(), Flags: fs,
	})
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "herald: warning: %s\n", w)
	}
	return cfg, nil
}

func serve(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, stderr)
	if err != nil {
		return err
	}
	logger, closeLog, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	slog.SetDefault(logger)

	a, err := app.New(cfg, version, logger)
	if err != nil {
		return err
	}
	if cfg.PIDFile != "" {
		pid := fmt.Appendf(nil, "%d\n", os.Getpid())
		if err := os.WriteFile(cfg.PIDFile, pid, 0o644); err != nil {
			return fmt.Errorf("pid_file: %w", err)
		}
		defer os.Remove(cfg.PIDFile)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger.Info("starting herald", "version", version, "engine", engineName(cfg))
	if err := a.Run(ctx); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

func engineName(cfg *config.Config) string {
	if cfg.Engine.Type == "" {
		return "memory"
	}
	return cfg.Engine.Type
}

func newLogger(cfg *config.Config, stderr io.Writer) (*slog.Logger, func(), error) {
	var level slog.Level
	switch strings.ToLower(cfg.Log.Level) {
	case "trace", "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error", "fatal":
		level = slog.LevelError
	case "none":
		level = slog.LevelError + 100
	default:
		level = slog.LevelInfo
	}

	out, closeFn := stderr, func() {}
	if cfg.Log.File != "" {
		f, err := os.OpenFile(cfg.Log.File, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("log.file: %w", err)
		}
		out, closeFn = f, func() { _ = f.Close() }
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cfg.Log.Format, "json") {
		return slog.New(slog.NewJSONHandler(out, opts)), closeFn, nil
	}
	return slog.New(slog.NewTextHandler(out, opts)), closeFn, nil
}
