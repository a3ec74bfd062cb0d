package api

import (
	"fmt"
	"unicode/utf8"

	"github.com/heraldhq/herald/internal/jsonwire"
)

// Request bodies are read by a small hand-written decoder rather than by
// encoding/json, for three reasons:
//   - data and info stay the exact bytes the backend sent; they are
//     validated in the same pass that finds their end and never re-encoded;
//   - the legacy route must tell malformed JSON (the whole request fails
//     with 400) from a well-formed value of the wrong type (only that
//     command fails with 107), and must know both before running anything;
//   - skipped values are checked without recursion, so a deeply nested
//     payload cannot grow the handler's stack.
//
// Keys match field names ASCII-case-insensitively, as encoding/json does for
// the reference server, so {"Channel": "x"} is accepted there and here.
// The lexical part (strings, numbers, skipping values) is package jsonwire,
// shared with the client protocol codec. Every read is bounds-checked;
// FuzzLegacyAPIBody checks that no input panics.

// maxDepth bounds nesting, as in encoding/json, so that Herald accepts the
// bodies the reference server accepts.
const maxDepth = jsonwire.MaxDepth

// maxKeyLen is the longest key that can match a field name; longer keys are
// compared as they are and match nothing.
const maxKeyLen = 32

// jsonError reports why a body could not be decoded. Syntax errors make the
// body unusable; type errors leave a well-formed body whose values do not
// fit the method's parameters.
type jsonError struct {
	syntax bool
	off    int
	what   string
	key    string // the object key whose value failed, cut to maxQuoted+1
}

func (e *jsonError) Error() string {
	kind := "type"
	if e.syntax {
		kind = "syntax"
	}
	return fmt.Sprintf("api: json %s error at offset %d: %s", kind, e.off, e.what)
}

// isSyntax reports whether err is a syntax error of the decoder.
func isSyntax(err error) bool {
	je, ok := err.(*jsonError)
	return ok && je.syntax
}

// decoder reads JSON values from b starting at i. Its methods consume one
// value and leave i just past it; on error i is unspecified.
type decoder struct {
	b     []byte
	i     int
	depth int // containers open around i, for maxDepth

	// key holds the folded form of the last object key; keyRaw and
	// keyEscaped describe it as written.
	key        [maxKeyLen]byte
	keyRaw     []byte
	keyEscaped bool
}

func (d *decoder) syntaxErr(what string) error {
	return &jsonError{syntax: true, off: d.i, what: what}
}

// typeErr records the last key read, so that a 107 can name the parameter
// that did not fit.
func (d *decoder) typeErr(what string) error {
	key := d.keyRaw[:min(len(d.keyRaw), maxQuoted+1)]
	return &jsonError{off: d.i, what: what, key: string(key)}
}

// reason says what did not fit, for an error message: the key and what
// was expected, without offsets, which mean little to a backend.
func (e *jsonError) reason() string {
	if e.key == "" {
		return e.what
	}
	return quoteShort(e.key) + ": " + e.what
}

// ws skips insignificant whitespace.
func (d *decoder) ws() { d.i = jsonwire.SkipSpace(d.b, d.i) }

// more reports whether a value follows, after whitespace.
func (d *decoder) more() bool {
	d.ws()
	return d.i < len(d.b)
}

// consume skips c if it is the next byte.
func (d *decoder) consume(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// literal consumes s if the input continues with it.
func (d *decoder) literal(s string) bool {
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}

// null consumes a null literal after whitespace.
func (d *decoder) null() bool {
	d.ws()
	return d.literal("null")
}

// object decodes an object, calling field for each key with the decoder
// positioned at the value, which field must consume. null is an absent
// object: field is never called. The key passed to field is lower-cased
// ASCII and only valid during the call.
func (d *decoder) object(field func(key []byte) error) error {
	if d.null() {
		return nil
	}
	if !d.consume('{') {
		return d.notA("object")
	}
	if d.depth++; d.depth > maxDepth {
		return d.syntaxErr("nesting too deep")
	}
	d.ws()
	if d.consume('}') {
		d.depth--
		return nil
	}
	for {
		key, err := d.objectKey()
		if err != nil {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
		d.ws()
		if d.consume('}') {
			d.depth--
			return nil
		}
		if !d.consume(',') {
			return d.syntaxErr("expected ',' or '}'")
		}
		d.ws()
	}
}

// array decodes an array, calling elem with the decoder positioned at each
// element. null is an absent array.
func (d *decoder) array(elem func() error) error {
	if d.null() {
		return nil
	}
	if !d.consume('[') {
		return d.notA("array")
	}
	if d.depth++; d.depth > maxDepth {
		return d.syntaxErr("nesting too deep")
	}
	d.ws()
	if d.consume(']') {
		d.depth--
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		d.ws()
		if d.consume(']') {
			d.depth--
			return nil
		}
		if !d.consume(',') {
			return d.syntaxErr("expected ',' or ']'")
		}
	}
}

// objectKey reads a key and the colon after it. It returns the key
// unescaped and lower-cased into d.key, or nil for a key too long to match
// any field name. d.keyRaw keeps the key as written, for maps.
func (d *decoder) objectKey() ([]byte, error) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, d.syntaxErr("expected object key")
	}
	start := d.i + 1
	end, escaped, err := d.scanString()
	if err != nil {
		return nil, err
	}
	d.keyRaw, d.keyEscaped = d.b[start:end], escaped
	d.ws()
	if !d.consume(':') {
		return nil, d.syntaxErr("expected ':'")
	}
	d.ws()

	key := d.keyRaw
	if escaped {
		if len(key) > 6*maxKeyLen {
			return nil, nil
		}
		var tmp [6 * maxKeyLen]byte
		key = jsonwire.AppendUnquoted(tmp[:0], key)
	}
	if len(key) > maxKeyLen {
		return nil, nil
	}
	for i, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		d.key[i] = c
	}
	return d.key[:len(key)], nil
}

// str decodes a string; null is the empty string. Invalid UTF-8 becomes
// U+FFFD, as in encoding/json.
func (d *decoder) str() (string, error) {
	if d.null() {
		return "", nil
	}
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", d.notA("string")
	}
	start := d.i + 1
	end, escaped, err := d.scanString()
	if err != nil {
		return "", err
	}
	s := d.b[start:end]
	if escaped || !utf8.Valid(s) {
		return string(jsonwire.AppendUnquoted(nil, s)), nil
	}
	return string(s), nil
}

// notA returns the error for a value that is not of the wanted kind: a
// type error when a well-formed value of another kind follows, else a
// syntax error.
func (d *decoder) notA(kind string) error {
	start := d.i
	if err := d.skip(); err != nil {
		return err
	}
	d.i = start
	return d.typeErr("expected " + kind)
}

// boolean decodes true or false; null is false.
func (d *decoder) boolean() (bool, error) {
	d.ws()
	switch {
	case d.literal("true"):
		return true, nil
	case d.literal("false"), d.literal("null"):
		return false, nil
	}
	return false, d.notA("boolean")
}

// uint decodes an integer in [0, limit]; null is 0. Fractions and exponents
// are type errors even when the value is whole, as in encoding/json.
func (d *decoder) uint(limit uint64) (uint64, error) {
	if d.null() {
		return 0, nil
	}
	if d.i < len(d.b) && d.b[d.i] == '-' {
		return 0, d.notA("non-negative integer")
	}
	return d.digits(limit)
}

// int decodes an integer in [-limit-1, limit]; null is 0.
func (d *decoder) int(limit int64) (int64, error) {
	if d.null() {
		return 0, nil
	}
	if !d.consume('-') {
		v, err := d.digits(uint64(limit))
		return int64(v), err
	}
	v, err := d.digits(uint64(limit) + 1)
	// -(1<<63) wraps to itself, which is the right answer.
	return -int64(v), err
}

// digits decodes the digits of a non-negative JSON integer up to limit.
func (d *decoder) digits(limit uint64) (uint64, error) {
	v, next, err := jsonwire.ParseUint(d.b, d.i, limit)
	switch err {
	case nil:
		d.i = next
		return v, nil
	case jsonwire.ErrRange:
		return 0, d.notA("integer in range")
	}
	return 0, d.notA("integer")
}

// raw consumes a value of any kind after validating it and returns its
// bytes, which alias the input.
func (d *decoder) raw() ([]byte, error) {
	d.ws()
	start := d.i
	if err := d.skip(); err != nil {
		return nil, err
	}
	return d.b[start:d.i], nil
}

// strings decodes an array of strings; null elements are empty strings.
func (d *decoder) strings() ([]string, error) {
	var out []string
	err := d.array(func() error {
		s, err := d.str()
		out = append(out, s)
		return err
	})
	return out, err
}

// stringMap decodes an object of string values.
func (d *decoder) stringMap() (map[string]string, error) {
	var out map[string]string
	err := d.objectRawKeys(func(key string) error {
		v, err := d.str()
		if out == nil {
			out = make(map[string]string)
		}
		out[key] = v
		return err
	})
	return out, err
}

// objectRawKeys is object for maps: keys keep their case and are passed as
// decoded strings.
func (d *decoder) objectRawKeys(field func(key string) error) error {
	return d.object(func([]byte) error {
		key := d.keyRaw
		if d.keyEscaped || !utf8.Valid(key) {
			return field(string(jsonwire.AppendUnquoted(nil, key)))
		}
		return field(string(key))
	})
}

// skip consumes one value of any kind, checking that it is valid JSON. The
// containers open around it count towards maxDepth.
func (d *decoder) skip() error {
	i, err := jsonwire.Skip(d.b, d.i, d.depth)
	d.i = i
	return d.wireErr(err)
}

// scanString consumes the string starting at d.i (its opening quote) and
// returns the index of the closing quote and whether escapes occur.
func (d *decoder) scanString() (end int, escaped bool, err error) {
	end, escaped, err = jsonwire.ScanString(d.b, d.i)
	if err != nil {
		return 0, false, d.wireErr(err)
	}
	d.i = end + 1
	return end, escaped, nil
}

// wireErr reports a syntax error of the shared scanner as a syntax error
// of this decoder, at the offset where the scanner stopped.
func (d *decoder) wireErr(err error) error {
	if se, ok := err.(*jsonwire.SyntaxError); ok {
		d.i = se.Offset
		return d.syntaxErr(se.Msg)
	}
	return err
}
