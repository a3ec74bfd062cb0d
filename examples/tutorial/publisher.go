package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// publisher sends the server time to a channel through Herald's server API
// at a fixed interval, in the request style of the tutorial: the method in
// the body, POSTed to /api.
type publisher struct {
	client   *http.Client
	url      string // Herald's /api
	apiKey   string
	channel  string
	interval time.Duration
}

// publishRequest is the body of one publish call.
type publishRequest struct {
	Method string        `json:"method"`
	Params publishParams `json:"params"`
}

// publishParams are the parameters of the publish method.
type publishParams struct {
	Channel string      `json:"channel"`
	Data    timeMessage `json:"data"`
}

// timeMessage is what subscribers receive: {"time": <unix seconds>}.
type timeMessage struct {
	Time int64 `json:"time"`
}

// run publishes every interval until ctx ends; failures are logged and the
// next tick tries again.
func (p *publisher) run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := p.publish(ctx, now); err != nil && ctx.Err() == nil {
				slog.Error("publish", "channel", p.channel, "err", err)
			}
		}
	}
}

// publish sends one publication with the time of now.
func (p *publisher) publish(ctx context.Context, now time.Time) error {
	body, err := json.Marshal(publishRequest{
		Method: "publish",
		Params: publishParams{
			Channel: p.channel,
			Data:    timeMessage{Time: now.Unix()},
		},
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url,
		bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "apikey "+p.apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(reply))
	}
	var answer struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	// The first JSON value is the reply to the one command sent.
	if err := json.NewDecoder(bytes.NewReader(reply)).Decode(&answer); err != nil {
		return fmt.Errorf("reply %q: %w", reply, err)
	}
	if answer.Error != nil {
		return fmt.Errorf("error %d: %s", answer.Error.Code, answer.Error.Message)
	}
	slog.Info("published", "channel", p.channel, "time", now.Unix())
	return nil
}
