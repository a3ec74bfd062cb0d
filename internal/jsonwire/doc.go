// Package jsonwire holds the JSON wire primitives that Herald's codecs
// share: appending escaped JSON strings, and scanning, validating and
// skipping JSON values without reflection.
//
// The client protocol codec, the server API and the proxy client each
// decode with their own hand-written readers, because each has its own
// rules for keys, types and errors. What they have in common lives here:
// the lexical grammar of JSON (whitespace, strings, numbers, literals and
// nesting), unescaping of string bodies and escaping of Go strings.
//
// Everything works on a byte slice and an offset, with no state kept
// between calls, so that a caller's decoder can embed these functions in
// its own loop. No function recurses on its input, none allocates except to
// report an error, and every read is bounds-checked; FuzzSkip checks that
// no input panics and that [Valid] agrees with encoding/json.
//
// Start reading at [Skip] and [AppendString].
package jsonwire
