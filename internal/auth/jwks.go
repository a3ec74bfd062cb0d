package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// JWKS fetch policy.
const (
	// jwksTTL is how long a fetched key set is trusted. After it, a token
	// triggers a refetch; keys removed from the endpoint stop verifying.
	jwksTTL = time.Hour
	// jwksMinRefetch spaces fetches, so tokens with made-up kids, or an
	// endpoint that is down, cost the endpoint at most one request per
	// interval however many clients connect.
	jwksMinRefetch = 5 * time.Second
	// jwksTimeout bounds each GET; a fetch makes at most jwksAttempts.
	jwksTimeout  = time.Second
	jwksAttempts = 2
	// jwksMaxBody stops a hostile or broken endpoint from filling memory.
	jwksMaxBody = 1 << 20
	// jwksWarnEvery rate-limits the warning about a failing endpoint.
	jwksWarnEvery = time.Minute
)

var (
	errMissingKid  = errors.New("auth: token has no kid header")
	errUnknownKid  = errors.New("auth: no JWKS key with the token's kid")
	errJWKSFailing = errors.New("auth: JWKS endpoint unavailable")
)

// jwksSet is an immutable snapshot of the endpoint's keys.
type jwksSet struct {
	keys      map[string]jwk
	fetchedAt time.Time
}

// jwksCache fetches the key set lazily and caches it by kid. Readers take
// the current snapshot without locking; the mutex only coordinates fetches.
type jwksCache struct {
	endpoint    string
	logEndpoint string // endpoint without credentials, for logs
	client      *http.Client
	logger      *slog.Logger
	now         func() time.Time
	ttl         time.Duration
	minRefetch  time.Duration

	set atomic.Pointer[jwksSet]

	// mu guards the fetch state below.
	mu          sync.Mutex
	attemptedAt time.Time     // end of the last fetch, successful or not
	lastErr     error         // result of the last fetch
	inflight    chan struct{} // closed when the running fetch ends; nil if none
	failing     bool          // the last fetch failed
	warnedAt    time.Time     // last warning about the failing endpoint
}

// key returns the key for kid, fetching the key set when kid is unknown or
// the set is stale, unless a fetch ran less than minRefetch ago. Concurrent
// callers share one fetch.
func (c *jwksCache) key(ctx context.Context, kid string) (jwk, error) {
	if k, ok := c.lookup(kid); ok {
		return k, nil
	}

	c.mu.Lock()
	if done := c.inflight; done != nil {
		c.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return jwk{}, context.Cause(ctx)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.resultLocked(kid)
	}
	recent := !c.attemptedAt.IsZero() && c.now().Sub(c.attemptedAt) < c.minRefetch
	if recent {
		defer c.mu.Unlock()
		return c.resultLocked(kid)
	}
	done := make(chan struct{})
	c.inflight = done
	c.mu.Unlock()

	// The result is shared with every waiter, so one caller giving up must
	// not turn it into an error for the others; timeouts still bound it.
	keys, err := c.fetch(context.WithoutCancel(ctx))

	c.mu.Lock()
	defer c.mu.Unlock()
	c.storeLocked(keys, err)
	c.inflight = nil
	close(done)
	return c.resultLocked(kid)
}

// lookup finds kid in the current key set if the set is still fresh.
func (c *jwksCache) lookup(kid string) (jwk, bool) {
	s := c.set.Load()
	if s == nil || c.now().Sub(s.fetchedAt) >= c.ttl {
		return jwk{}, false
	}
	k, ok := s.keys[kid]
	return k, ok
}

// resultLocked answers a caller after a fetch, or instead of one.
func (c *jwksCache) resultLocked(kid string) (jwk, error) {
	if k, ok := c.lookup(kid); ok {
		return k, nil
	}
	if c.lastErr != nil {
		return jwk{}, fmt.Errorf("%w: %w", errJWKSFailing, c.lastErr)
	}
	return jwk{}, errUnknownKid
}

func (c *jwksCache) storeLocked(keys map[string]jwk, err error) {
	now := c.now()
	c.attemptedAt, c.lastErr = now, err
	if err == nil {
		c.set.Store(&jwksSet{keys: keys, fetchedAt: now})
		if c.failing {
			c.failing = false
			c.logger.Info("JWKS endpoint reachable again", "endpoint", c.logEndpoint)
		}
		return
	}
	c.failing = true
	if c.warnedAt.IsZero() || now.Sub(c.warnedAt) >= jwksWarnEvery {
		c.warnedAt = now
		c.logger.Warn("JWKS fetch failed, tokens are rejected until it succeeds",
			"endpoint", c.logEndpoint, "error", err)
	}
}

// fetch GETs the key set, retrying once: a single dropped connection
// should not reject every token for minRefetch.
func (c *jwksCache) fetch(ctx context.Context) (map[string]jwk, error) {
	var err error
	for range jwksAttempts {
		var keys map[string]jwk
		if keys, err = c.fetchOnce(ctx); err == nil {
			return keys, nil
		}
	}
	return nil, err
}

func (c *jwksCache) fetchOnce(ctx context.Context) (map[string]jwk, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksTimeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("unexpected status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read key set: %w", err)
	}
	if len(body) > jwksMaxBody {
		return nil, fmt.Errorf("key set larger than %d bytes", jwksMaxBody)
	}

	keys, skipped, err := parseJWKS(body)
	if err != nil {
		return nil, err
	}
	for _, e := range skipped {
		c.logger.Debug("JWKS key skipped", "error", e)
	}
	return keys, nil
}
