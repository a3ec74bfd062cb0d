// Package proxy is Herald's HTTP client for the application backend: it
// asks the backend about connect, refresh, subscribe, publish, rpc and
// sub_refresh events, following the proxy contract in spec/proxy.md, so
// that backends written for Centrifugo answer Herald unchanged.
//
// Start reading at [New] and [Proxy.Connect]. A [Proxy] is one configured
// endpoint. Each event method builds the request body with a hand-written
// encoder (encode.go) that keeps the order and omission rules of the
// contract and embeds raw JSON payloads verbatim, posts it (post.go) with
// the forwarded headers (headers.go), and decodes the answer (decode.go).
//
// Answers reach the caller in three shapes:
//   - a result value on success;
//   - a [*protocol.Error] or [*protocol.Disconnect] when the backend
//     answered error or disconnect, or when an http.status_to_code_transforms
//     entry matched a non-200 status;
//   - an error wrapping [ErrUnavailable] when no usable answer came back.
//
// The session decides what each shape means for the client (spec §2.1);
// the event methods document the mapping. When the caller's context ends
// before the answer (the client went away), the error wraps both
// [ErrUnavailable] and the context's error, and nothing is logged; the
// caller drops the result.
//
// A Proxy starts no goroutines of its own. Its [http.Transport] keeps
// idle keep-alive connections, each served by the transport's goroutines;
// [Proxy.Close] releases them. Every method is safe for concurrent use.
//
// Failures are logged as one warning per endpoint at most every ten
// seconds, with a count of the failures suppressed in between, so that a
// backend outage under load does not flood the log. Warnings name the
// endpoint without its query or credentials and never include bodies or
// headers, which may carry session cookies and tokens.
package proxy
