package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/heraldhq/herald/internal/protocol"
)

// post sends one event to the backend and returns the body of a 200
// answer in a pooled buffer; give it back with putBuf once decoded
// (decoding copies everything it keeps).
//
// On a non-200 status matching a status transform, post returns the
// transform's [*protocol.Error] or [*protocol.Disconnect]. Every other
// failure wraps [ErrUnavailable] and is logged, rate-limited, unless the
// caller's context ended first: then the client is gone and nobody waits
// for the answer.
func (p *Proxy) post(ctx context.Context, ev string, c *Caller,
	body []byte) (*bytes.Buffer, error) {
	tctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(tctx, http.MethodPost, p.endpoint,
		bytes.NewReader(body))
	if err != nil {
		return nil, p.fail(ctx, ev, fmt.Errorf("build request: %w", err))
	}
	req.Header = p.requestHeader(c)

	resp, err := p.client.Do(req)
	if err != nil {
		return nil, p.fail(ctx, ev, p.cause(ctx, tctx, err))
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		// Drain a little so that the connection can be reused for the
		// next call; a large error page is not worth reading through.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		if perr := p.transform(resp.StatusCode); perr != nil {
			return nil, perr
		}
		return nil, p.fail(ctx, ev,
			fmt.Errorf("unexpected status %d", resp.StatusCode))
	}

	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, p.maxBody+1))
	if err != nil {
		putBuf(buf)
		return nil, p.fail(ctx, ev,
			fmt.Errorf("read body: %w", p.cause(ctx, tctx, err)))
	}
	if int64(buf.Len()) > p.maxBody {
		putBuf(buf)
		return nil, p.fail(ctx, ev,
			fmt.Errorf("answer larger than %d bytes", p.maxBody))
	}
	return buf, nil
}

// cause turns a transport error into the reason reported to the caller. A
// timeout of our own context becomes [context.DeadlineExceeded] with the
// configured timeout; *url.Error is unwrapped because its text repeats
// the endpoint URL, which may hold a secret.
func (p *Proxy) cause(ctx, tctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(tctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timeout %s: %w", p.timeout, context.DeadlineExceeded)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// transform returns the client error or disconnect configured for status,
// if any. The first entry for the status with a non-zero error code wins,
// then one with a non-zero disconnect code; entries with neither are
// skipped.
func (p *Proxy) transform(status int) error {
	for _, t := range p.transforms {
		if t.StatusCode != status {
			continue
		}
		if t.ToError.Code > 0 {
			return &protocol.Error{Code: t.ToError.Code, Message: t.ToError.Message,
				Temporary: t.ToError.Temporary}
		}
		if d := t.ToDisconnect; d.Code > 0 {
			return &protocol.Disconnect{Code: d.Code, Reason: d.Reason,
				Reconnect: protocol.ShouldReconnect(d.Code)}
		}
	}
	return nil
}

// fail wraps cause in [ErrUnavailable] for the event and logs it, unless
// the caller's context is done: the client left, so the failure is not
// the backend's and not worth a warning.
func (p *Proxy) fail(ctx context.Context, ev string, cause error) error {
	err := fmt.Errorf("%w: %s: %w", ErrUnavailable, ev, cause)
	if ctx.Err() == nil {
		p.warnf(ev, cause)
	}
	return err
}

// bufPool holds response buffers, saving the growing reads of io.ReadAll
// on every call (measured: about 500 of 8,100 bytes per connect). Answers
// are small, so a buffer that grew past maxPooledBuf for an unusual answer
// is left to the collector.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuf = 64 << 10

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuf {
		bufPool.Put(b)
	}
}
