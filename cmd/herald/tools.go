package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/heraldhq/herald/internal/app"
	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/config"
)

func genconfig(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("genconfig", flag.ContinueOnError)
	file := fs.String("c", "config.json", "file to write (.json, .yaml, .yml or .toml)")
	fs.StringVar(file, "config", "config.json", "file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := config.WriteGenerated(*file); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *file)
	return nil
}

// parseTTL accepts whole seconds, as earlier releases did, or a duration.
func parseTTL(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("-t: expected seconds or a duration like 24h, got %q", s)
	}
	return d, nil
}

func gentoken(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gentoken", flag.ContinueOnError)
	user := fs.String("u", "", "user ID (sub claim)")
	ttl := fs.String("t", "604800", "token lifetime: seconds or a duration; 0 = no expiry")
	cfg, err := loadConfig(fs, args, io.Discard)
	if err != nil {
		return err
	}
	secret := cfg.Client.Token.HMACSecretKey
	if secret == "" {
		return errors.New("gentoken: client.token.hmac_secret_key " +
			"(token_hmac_secret_key) is not set")
	}
	d, err := parseTTL(*ttl)
	if err != nil {
		return err
	}
	tok, err := auth.GenerateHMACToken(secret, *user, d, nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func checkconfig(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("checkconfig", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if _, err := loadConfig(fs, args, stderr); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "config is valid")
	return nil
}

func checktoken(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("checktoken", flag.ContinueOnError)
	cfg, err := loadConfig(fs, args, io.Discard)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("checktoken: expected exactly one TOKEN argument")
	}
	v, err := app.NewVerifier(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if v == nil {
		return errors.New("checktoken: no token key is configured")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tok, err := v.VerifyConnectToken(ctx, fs.Arg(0))
	if err != nil {
		return fmt.Errorf("token is not valid: %w", err)
	}
	out := map[string]any{"user": tok.UserID, "expire_at": tok.ExpireAt}
	if len(tok.Info) > 0 {
		out["info"] = json.RawMessage(tok.Info)
	}
	if len(tok.Channels) > 0 {
		out["channels"] = tok.Channels
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintf(stdout, "token is valid\n%s\n", b)
	return nil
}
