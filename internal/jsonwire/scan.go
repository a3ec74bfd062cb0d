package jsonwire

import (
	"errors"
	"fmt"
)

// MaxDepth bounds the nesting of containers: the limit of encoding/json, so
// that Herald accepts the documents it accepts.
const MaxDepth = 10000

// SyntaxError reports malformed JSON text.
type SyntaxError struct {
	// Offset is the index of the byte at which scanning stopped.
	Offset int
	// Msg says what was expected or found there.
	Msg string
}

// Error implements the error interface.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("jsonwire: %s at offset %d", e.Msg, e.Offset)
}

// Errors of [ParseUint].
var (
	ErrNotInteger = errors.New("jsonwire: not an integer")
	ErrRange      = errors.New("jsonwire: integer out of range")
)

// SkipSpace returns the offset of the first byte at or after i that is not
// JSON whitespace.
func SkipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// Skip scans the JSON value that starts at b[i], after any whitespace, and
// returns the offset just past it. depth is the number of containers the
// caller has already opened around i; Skip counts its own on top of them
// and fails beyond [MaxDepth]. On error the offset returned is where
// scanning stopped, and the error is a [*SyntaxError].
func Skip(b []byte, i, depth int) (int, error) {
	s := scanner{b: b, i: i}
	err := s.skip(depth)
	return s.i, err
}

// Valid reports whether b holds exactly one JSON value, with optional
// whitespace around it. Like encoding/json, it does not check UTF-8.
func Valid(b []byte) bool {
	i, err := Skip(b, 0, 0)
	return err == nil && SkipSpace(b, i) == len(b)
}

// ScanString scans the string whose opening quote is at b[i]. It returns
// the offset of the closing quote and whether the body has escapes. Bytes
// from 0x80 up are not checked: a caller that needs valid UTF-8 checks it.
// The error is a [*SyntaxError].
func ScanString(b []byte, i int) (end int, escaped bool, err error) {
	s := scanner{b: b, i: i}
	end, escaped, err = s.str()
	return end, escaped, err
}

// ParseUint reads the JSON integer at b[i]: digits without sign, leading
// zero, fraction or exponent, no greater than limit. It returns the value
// and the offset just past it. The error is [ErrNotInteger] when no such
// integer starts at b[i], even if a valid JSON number does (1.0, 1e3), and
// [ErrRange] when it exceeds limit; the offset is then i.
func ParseUint(b []byte, i int, limit uint64) (uint64, int, error) {
	start := i
	if i >= len(b) || !isDigit(b[i]) {
		return 0, start, ErrNotInteger
	}
	var v uint64
	if b[i] == '0' {
		i++
	} else {
		for ; i < len(b) && isDigit(b[i]); i++ {
			digit := uint64(b[i] - '0')
			if v > (limit-digit)/10 {
				return 0, start, ErrRange
			}
			v = v*10 + digit
		}
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E' || isDigit(b[i])) {
		return 0, start, ErrNotInteger
	}
	return v, i, nil
}

// scanner reads b from i. Its methods consume one token or value and leave
// i just past it; on error i is where scanning stopped.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) err(msg string) error {
	return &SyntaxError{Offset: s.i, Msg: msg}
}

func (s *scanner) ws() { s.i = SkipSpace(s.b, s.i) }

// consume moves past c if it is the next byte.
func (s *scanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// literal moves past lit if it comes next.
func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// skip consumes one value of any kind. It keeps a bit per open container
// (set for an object) instead of recursing, so that a deeply nested value
// cannot grow the stack.
func (s *scanner) skip(outer int) error {
	var small [4]uint64
	open := small[:]
	depth := 0
	for {
		c, err := s.scalarOrOpen()
		if err != nil {
			return err
		}
		if c != 0 {
			if outer+depth >= MaxDepth {
				return s.err("nesting too deep")
			}
			s.ws()
			if !s.consume(c + 2) { // '{'+2 is '}' and '['+2 is ']'
				if depth/64 == len(open) {
					open = append(open, 0)
				}
				open[depth/64] &^= 1 << (depth % 64)
				if c == '{' {
					open[depth/64] |= 1 << (depth % 64)
					if err := s.key(); err != nil {
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
			s.ws()
			inObject := open[(depth-1)/64]&(1<<((depth-1)%64)) != 0
			if s.consume(',') {
				s.ws()
				if inObject {
					if err := s.key(); err != nil {
						return err
					}
				}
				break
			}
			if !inObject && s.consume(']') || inObject && s.consume('}') {
				depth--
				continue
			}
			return s.err("expected ',' or end of container")
		}
	}
}

// key consumes an object key and the colon after it, and the whitespace
// before the value.
func (s *scanner) key() error {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return s.err("expected key")
	}
	if _, _, err := s.str(); err != nil {
		return err
	}
	s.ws()
	if !s.consume(':') {
		return s.err("expected ':'")
	}
	s.ws()
	return nil
}

// scalarOrOpen consumes a scalar value and returns 0, or consumes only the
// opening bracket of a container and returns it.
func (s *scanner) scalarOrOpen() (byte, error) {
	s.ws()
	if s.i >= len(s.b) {
		return 0, s.err("expected value")
	}
	switch c := s.b[s.i]; c {
	case '{', '[':
		s.i++
		return c, nil
	case '"':
		_, _, err := s.str()
		return 0, err
	case 't', 'f', 'n':
		if s.literal("true") || s.literal("false") || s.literal("null") {
			return 0, nil
		}
		return 0, s.err("invalid literal")
	}
	return 0, s.number()
}

// number consumes a JSON number of any form.
func (s *scanner) number() error {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return s.err("invalid value")
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			s.i = j
			return s.err("invalid number")
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			s.i = j
			return s.err("invalid number")
		}
		i = j
	}
	s.i = i
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipDigits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// str consumes the string whose opening quote is at s.i and returns the
// index of its closing quote and whether it has escapes.
func (s *scanner) str() (end int, escaped bool, err error) {
	b := s.b
	for i := s.i + 1; i < len(b); {
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return i, escaped, nil
		case c == '\\':
			escaped = true
			n := escapeLen(b[i:])
			if n == 0 {
				s.i = i
				return 0, false, s.err("invalid escape")
			}
			i += n
		case c < 0x20:
			s.i = i
			return 0, false, s.err("control character in string")
		default:
			i++
		}
	}
	s.i = len(b)
	return 0, false, s.err("unterminated string")
}

// escapeLen returns the length of the valid escape sequence at the start of
// e, or 0 if there is none.
func escapeLen(e []byte) int {
	if len(e) < 2 {
		return 0
	}
	switch e[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if len(e) >= 6 && hex4(e[2:6]) >= 0 {
			return 6
		}
	}
	return 0
}

// hex4 decodes four hex digits, or returns -1.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
