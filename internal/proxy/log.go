package proxy

import (
	"sync/atomic"
	"time"
)

// warnLimiter lets through one warning per interval and counts the rest,
// so that a backend outage under load costs one log line per interval
// instead of one per client. It is lock-free because it sits on the
// failure path of every concurrent call.
type warnLimiter struct {
	last       atomic.Int64 // Unix nanoseconds of the last warning; 0 = never
	suppressed atomic.Int64 // warnings dropped since the last one
}

// allow reports whether a warning may be logged at now and, if so, how
// many were suppressed since the previous one.
func (l *warnLimiter) allow(now time.Time, every time.Duration) (bool, int64) {
	n := now.UnixNano()
	last := l.last.Load()
	if last != 0 && n-last < int64(every) || !l.last.CompareAndSwap(last, n) {
		l.suppressed.Add(1)
		return false, 0
	}
	return true, l.suppressed.Swap(0)
}

// warnf logs a backend failure of event ev, rate-limited per endpoint.
// cause never holds a body, a header or the endpoint's query.
func (p *Proxy) warnf(ev string, cause error) {
	ok, suppressed := p.warn.allow(time.Now(), warnEvery)
	if !ok {
		return
	}
	p.log.Warn("backend call failed", "event", ev, "error", cause.Error(),
		"suppressed", suppressed)
}
