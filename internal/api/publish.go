package api

import (
	"context"
	"encoding/base64"
	"sync"

	"github.com/heraldhq/herald/internal/channel"
	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/jsonwire"
	"github.com/heraldhq/herald/internal/protocol"
)

// broadcastConcurrency caps the publications of one broadcast in flight,
// as the reference server does: enough to keep a distributed engine's
// pipeline full, bounded so one request cannot start unlimited goroutines.
const broadcastConcurrency = 1024

// publish publishes data into one channel.
//
// Validation order: a missing channel or data, or bad base64, is 107; an
// invalid channel name is 107; an unknown namespace is 102; data that does
// not fit the namespace's publication_data_format is 107. Nothing is
// published unless every check passes.
func (h *Handler) publish(ctx context.Context, r *publishRequest) (result,
	*protocol.Error) {
	if r.channel == "" {
		return nil, h.reject("publish", errBadRequest, "channel required")
	}
	data, e := h.payloadData("publish", &r.payload)
	if e != nil {
		return nil, e
	}
	rep := h.publishOne(ctx, "publish", r.channel, data, &r.payload)
	if rep.err != nil {
		return nil, rep.err
	}
	return rep.res, nil
}

// broadcast publishes the same data into several channels concurrently.
// Only a request that is wrong as a whole (no channels, no data, bad
// base64) fails; otherwise each channel gets its own reply, in request
// order.
func (h *Handler) broadcast(ctx context.Context, r *broadcastRequest) (result,
	*protocol.Error) {
	if len(r.channels) == 0 {
		return nil, h.reject("broadcast", errBadRequest, "channels required")
	}
	data, e := h.payloadData("broadcast", &r.payload)
	if e != nil {
		return nil, e
	}
	if len(data) == 0 && !h.anyBinary(r.channels) {
		return nil, h.reject("broadcast", errBadRequest, "data required")
	}

	replies := make(broadcastResult, len(r.channels))
	if len(r.channels) == 1 {
		replies[0] = h.publishOne(ctx, "broadcast", r.channels[0], data, &r.payload)
		return replies, nil
	}
	sem := make(chan struct{}, min(len(r.channels), broadcastConcurrency))
	var wg sync.WaitGroup
	for i, ch := range r.channels {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			replies[i] = h.publishOne(ctx, "broadcast", ch, data, &r.payload)
		})
	}
	wg.Wait()
	return replies, nil
}

// anyBinary reports whether one of channels is in a namespace that takes
// binary data, where empty data is allowed.
func (h *Handler) anyBinary(channels []string) bool {
	for _, ch := range channels {
		if o, ok := h.cfg.Rules.Options(ch); ok && o.PublicationDataFormat == "binary" {
			return true
		}
	}
	return false
}

// payloadData returns the bytes to publish: decoded b64data when given,
// else the raw JSON of data.
func (h *Handler) payloadData(method string, p *payload) ([]byte, *protocol.Error) {
	if p.b64data == "" {
		return p.data, nil
	}
	b, err := base64.StdEncoding.DecodeString(p.b64data)
	if err != nil {
		return nil, h.reject(method, errBadRequest, "b64data is not base64")
	}
	return b, nil
}

// publishOne validates ch for data and publishes into it.
func (h *Handler) publishOne(ctx context.Context, method, ch string, data []byte,
	p *payload) publishReply {
	opts, e := h.publishChannel(method, ch, data)
	if e != nil {
		return publishReply{err: e}
	}
	// Each channel gets its own publication: the broker assigns its offset.
	// Data and tags are shared read-only.
	pub := &protocol.Publication{Data: data, Tags: p.tags}
	res, err := h.cfg.Node.Publish(ctx, ch, pub, publishOptions(opts, p))
	if err != nil {
		return publishReply{err: h.fail(method, err, "channel", ch)}
	}
	return publishReply{res: publishResult(res.Position)}
}

// publishChannel checks that data may be published into ch and returns the
// channel's options.
func (h *Handler) publishChannel(method, ch string, data []byte) (*channel.Options,
	*protocol.Error) {
	if ch == "" {
		return nil, h.reject(method, errBadRequest, "channel required")
	}
	if err := h.cfg.Rules.Validate(ch); err != nil {
		return nil, h.reject(method, errBadRequest, err.Error())
	}
	opts, ok := h.cfg.Rules.Options(ch)
	// Missing data is a missing required field, reported before an unknown
	// namespace, except in binary namespaces, which accept empty data.
	if len(data) == 0 && (!ok || opts.PublicationDataFormat != "binary") {
		return nil, h.reject(method, errBadRequest, "data required")
	}
	if !ok {
		return nil, h.reject(method, errUnknownChan, "unknown namespace")
	}
	if why := checkDataFormat(data, opts.PublicationDataFormat); why != "" {
		return nil, h.reject(method, errBadRequest, why)
	}
	return opts, nil
}

// checkDataFormat applies a namespace's publication_data_format and returns
// why data does not fit it, or "".
func checkDataFormat(data []byte, format string) string {
	switch format {
	case "json":
		if !jsonwire.Valid(data) {
			return "data is not JSON"
		}
	case "json_object":
		d := decoder{b: data}
		if !jsonwire.Valid(data) || !d.more() || data[d.i] != '{' {
			return "data is not a JSON object"
		}
	}
	return ""
}

// publishOptions builds the engine options of one publication. A namespace
// with delta_publish sends every publication as a delta, asked for or not.
// version and version_epoch are accepted but not acted on: the engines do
// not implement version filtering yet.
func publishOptions(o *channel.Options, p *payload) engine.PublishOptions {
	opts := engine.PublishOptions{
		HistoryMetaTTL: o.HistoryMetaTTL,
		IdempotencyKey: p.idempotencyKey,
		Delta:          p.delta || o.DeltaPublish,
	}
	if !p.skipHistory {
		opts.HistorySize, opts.HistoryTTL = o.HistorySize, o.HistoryTTL
	}
	return opts
}
