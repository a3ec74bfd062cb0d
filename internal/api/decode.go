package api

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
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
// Every read is bounds-checked; FuzzLegacyAPIBody checks that no input
// panics.

// maxDepth bounds nesting, as in encoding/json, so that Herald accepts the
// bodies the reference server accepts.
const maxDepth = 10000

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

func (d *decoder) typeErr(what string) error {
	return &jsonError{off: d.i, what: what}
}

// ws skips insignificant whitespace.
func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

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
		key = appendUnquoted(tmp[:0], key)
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
		return string(appendUnquoted(nil, s)), nil
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
	i := d.i
	if i >= len(d.b) || !isDigit(d.b[i]) {
		return 0, d.notA("integer")
	}
	var v uint64
	if d.b[i] == '0' {
		i++
	} else {
		for ; i < len(d.b) && isDigit(d.b[i]); i++ {
			digit := uint64(d.b[i] - '0')
			if v > (limit-digit)/10 {
				return 0, d.notA("integer in range")
			}
			v = v*10 + digit
		}
	}
	if i < len(d.b) && (d.b[i] == '.' || d.b[i] == 'e' || d.b[i] == 'E' ||
		isDigit(d.b[i])) {
		return 0, d.notA("integer")
	}
	d.i = i
	return v, nil
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
			return field(string(appendUnquoted(nil, key)))
		}
		return field(string(key))
	})
}

// skip consumes one value of any kind, checking that it is valid JSON. It
// keeps one bit per open container (set for an object) instead of
// recursing.
func (d *decoder) skip() error {
	var small [4]uint64
	open := small[:]
	depth := 0
	for {
		c, err := d.scalarOrOpen()
		if err != nil {
			return err
		}
		if c != 0 {
			if d.depth+depth >= maxDepth {
				return d.syntaxErr("nesting too deep")
			}
			d.ws()
			if !d.consume(c + 2) { // '{'+2 is '}' and '['+2 is ']'
				if depth/64 == len(open) {
					open = append(open, 0)
				}
				open[depth/64] &^= 1 << (depth % 64)
				if c == '{' {
					open[depth/64] |= 1 << (depth % 64)
					if _, err := d.objectKey(); err != nil {
						return err
					}
				}
				depth++
				continue
			}
		}
		// A value ended: close containers until one has another element.
		for {
			if depth == 0 {
				return nil
			}
			d.ws()
			inObject := open[(depth-1)/64]&(1<<((depth-1)%64)) != 0
			if d.consume(',') {
				d.ws()
				if inObject {
					if _, err := d.objectKey(); err != nil {
						return err
					}
				}
				break
			}
			if !inObject && d.consume(']') || inObject && d.consume('}') {
				depth--
				continue
			}
			return d.syntaxErr("expected ',' or end of container")
		}
	}
}

// scalarOrOpen consumes a scalar and returns 0, or consumes the opening
// bracket of a container and returns it.
func (d *decoder) scalarOrOpen() (byte, error) {
	d.ws()
	if d.i >= len(d.b) {
		return 0, d.syntaxErr("unexpected end of input")
	}
	switch c := d.b[d.i]; c {
	case '{', '[':
		d.i++
		return c, nil
	case '"':
		_, _, err := d.scanString()
		return 0, err
	case 't', 'f', 'n':
		if d.literal("true") || d.literal("false") || d.literal("null") {
			return 0, nil
		}
		return 0, d.syntaxErr("invalid literal")
	}
	return 0, d.number()
}

// number consumes a number of any JSON form.
func (d *decoder) number() error {
	b, i := d.b, d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return d.syntaxErr("invalid value")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return d.syntaxErr("invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return d.syntaxErr("invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	d.i = i
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanString consumes the string starting at d.i (its opening quote) and
// returns the index of the closing quote and whether escapes occur.
func (d *decoder) scanString() (end int, escaped bool, err error) {
	b := d.b
	for i := d.i + 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			d.i = i + 1
			return i, escaped, nil
		case c == '\\':
			escaped = true
			i++
			if i >= len(b) {
				break
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) || !isHex4(b[i+1:i+5]) {
					d.i = i
					return 0, false, d.syntaxErr("invalid \\u escape")
				}
				i += 4
			default:
				d.i = i
				return 0, false, d.syntaxErr("invalid escape")
			}
		case c < 0x20:
			d.i = i
			return 0, false, d.syntaxErr("control character in string")
		}
	}
	d.i = len(b)
	return 0, false, d.syntaxErr("unterminated string")
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !isDigit(c) && !('a' <= c && c <= 'f') && !('A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// appendUnquoted appends the text of a scanned string body, resolving
// escapes and replacing invalid UTF-8 and lone surrogates with U+FFFD.
func appendUnquoted(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			dst = utf8.AppendRune(dst, r) // RuneError for invalid bytes
			i += size
			continue
		}
		if c != '\\' || i+1 >= len(s) {
			dst = append(dst, c)
			i++
			continue
		}
		i++
		switch e := s[i]; e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n := unicodeEscape(s[i-1:])
			dst = utf8.AppendRune(dst, r)
			i += n - 2
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
		i++
	}
	return dst
}

// unicodeEscape decodes the \uXXXX escape at the start of s, joining a
// surrogate pair, and returns the rune and the number of bytes used.
func unicodeEscape(s []byte) (rune, int) {
	r1 := hexRune(s[2:])
	if r1 < 0 {
		return utf8.RuneError, 2
	}
	if !utf16.IsSurrogate(r1) {
		return r1, 6
	}
	if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
		if r2 := hexRune(s[8:]); r2 >= 0 {
			if r := utf16.DecodeRune(r1, r2); r != utf8.RuneError {
				return r, 12
			}
		}
	}
	return utf8.RuneError, 6
}

func hexRune(s []byte) rune {
	if len(s) < 4 || !isHex4(s) {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case isDigit(c):
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// validJSON reports whether b holds exactly one JSON value.
func validJSON(b []byte) bool {
	d := decoder{b: b}
	if d.skip() != nil {
		return false
	}
	return !d.more()
}
