package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
	out, err := describeToken(fs.Arg(0), tok)
	if err != nil {
		return fmt.Errorf("checktoken: %w", err)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("checktoken: print claims: %w", err)
	}
	fmt.Fprintf(stdout, "token is valid\n%s\n", b)
	return nil
}

// describeToken shows a verified connection token two ways: what Herald
// takes from it (user, expiry, info, channels, subs, meta), and under
// "claims" every claim of its payload as signed, registered ones (aud, iss,
// iat, nbf, jti...) included.
func describeToken(raw string, tok auth.ConnectToken) (map[string]any, error) {
	claims, err := payloadClaims(raw)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"user": tok.UserID, "expire_at": tok.ExpireAt, "claims": claims}
	putBytes(out, "info", tok.Info)
	if len(tok.Channels) > 0 {
		out["channels"] = tok.Channels
	}
	if len(tok.Subs) > 0 {
		subs := make(map[string]any, len(tok.Subs))
		for ch, o := range tok.Subs {
			subs[ch] = describeSub(o)
		}
		out["subs"] = subs
	}
	putBytes(out, "meta", tok.Meta)
	return out, nil
}

// payloadClaims decodes the payload of a token whose signature was already
// verified. Values stay raw JSON so that numbers print as signed.
func payloadClaims(raw string) (map[string]json.RawMessage, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("token is not a signed JWT")
	}
	// RFC 7515 drops the padding; tolerate tokens that keep it.
	data, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("token payload: %w", err)
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(data, &claims); err != nil {
		return nil, fmt.Errorf("token payload: %w", err)
	}
	return claims, nil
}

// override is [auth.Override] with the claim names of the token.
type override struct {
	Presence           *bool `json:"presence,omitempty"`
	JoinLeave          *bool `json:"join_leave,omitempty"`
	ForcePushJoinLeave *bool `json:"force_push_join_leave,omitempty"`
	ForcePositioning   *bool `json:"force_positioning,omitempty"`
	ForceRecovery      *bool `json:"force_recovery,omitempty"`
}

func describeSub(o auth.SubscribeOptions) map[string]any {
	out := map[string]any{}
	putBytes(out, "info", o.Info)
	putBytes(out, "data", o.Data)
	if ov := o.Override; ov != nil {
		out["override"] = override{
			Presence: ov.Presence, JoinLeave: ov.JoinLeave,
			ForcePushJoinLeave: ov.ForcePushJoinLeave,
			ForcePositioning:   ov.ForcePositioning, ForceRecovery: ov.ForceRecovery,
		}
	}
	return out
}

// putBytes stores b under key when it is JSON. Bytes from b64info or
// b64data need not be: they go under key_text when they are UTF-8 text and
// under key_base64 otherwise, so the output stays valid JSON.
func putBytes(out map[string]any, key string, b []byte) {
	switch {
	case len(b) == 0:
	case json.Valid(b):
		out[key] = json.RawMessage(b)
	case utf8.Valid(b):
		out[key+"_text"] = string(b)
	default:
		out[key+"_base64"] = base64.StdEncoding.EncodeToString(b)
	}
}
