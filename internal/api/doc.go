// Package api serves Herald's server API over HTTP: the calls an
// application backend makes to publish, to manage its users' connections
// and subscriptions, and to read presence, history and node state.
//
// Three routes share one method set (see [NewHandler]):
//
//   - POST /api, the legacy command route: one or more
//     {"method": ..., "params": ..., "id": ...} objects, one reply per line;
//   - POST /api/<method>, the per-method route: the body is the params,
//     the answer {"result": ...} or {"error": ...}, or an HTTP status in
//     transport error mode;
//   - POST /api/batch: several per-method commands in one request.
//
// Requests are authenticated by API key before their body is read. Bodies
// are decoded by a hand-written decoder (decode.go) that keeps data and
// info as the exact bytes sent, and results are appended by hand
// (encode.go). Methods live in publish.go, users.go and channels.go and are
// listed in methods.go.
//
// The package owns no goroutines beyond one request: broadcast and parallel
// batches start bounded goroutines and wait for them before answering.
package api
