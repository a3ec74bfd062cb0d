// Package httpstream serves the client transports that carry the server's
// side of a connection in one long HTTP response:
//
//   - bidirectional HTTP-streaming (/connection/http_stream, [NewStream])
//     and SSE (/connection/sse, [NewSSE]), whose clients send every command
//     after the first through the emulation endpoint (/emulation,
//     [NewEmulation]);
//   - unidirectional SSE (/connection/uni_sse, [NewUniSSE]) and
//     HTTP-streaming (/connection/uni_http_stream, [NewUniStream]), whose
//     clients send one connect request and then only listen.
//
// Goroutines: the handler goroutine of a stream stays in ServeHTTP for the
// life of the connection, waiting until the session closes the stream or the
// client goes away. Replies are written by the session's outbound queue
// goroutine; the stream's mutex serialises those writes with the close and
// with the handler's return, after which nothing touches the response.
//
// Start reading at [NewStream] and the stream type in stream.go.
package httpstream
