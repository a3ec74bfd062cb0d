package jsonwire

import "unicode/utf8"

// Escape selects the optional escapes of [AppendString]. Quotes,
// backslashes and control characters are always escaped, and invalid UTF-8
// always becomes \ufffd, so that the output is valid JSON in valid UTF-8.
type Escape uint8

const (
	// EscapeHTML escapes '<', '>' and '&' as encoding/json does by default,
	// so that output is byte-identical to it and can be embedded in HTML.
	EscapeHTML Escape = 1 << iota

	// EscapeLineTerminators escapes U+2028 and U+2029, which JavaScript
	// parsers before ES2019 reject raw inside string literals.
	EscapeLineTerminators
)

// plainText and plainHTML mark the ASCII bytes written inside a JSON string
// as they are, without and with [EscapeHTML].
var plainText, plainHTML = plainTables()

func plainTables() (text, html [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		text[c] = c != '"' && c != '\\'
		html[c] = text[c] && c != '<' && c != '>' && c != '&'
	}
	return text, html
}

const hexDigits = "0123456789abcdef"

// AppendString appends s to b as a quoted JSON string, with the optional
// escapes esc selects. It does not allocate beyond growing b.
func AppendString(b []byte, s string, esc Escape) []byte {
	plain := &plainText
	if esc&EscapeHTML != 0 {
		plain = &plainHTML
	}
	lineTerminators := esc&EscapeLineTerminators != 0

	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			b = appendEscape(append(b, s[start:i]...), c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case lineTerminators && (r == '\u2028' || r == '\u2029'):
			b = append(append(b, s[start:i]...), `\u202`...)
			b = append(b, hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendEscape appends the escape sequence of an ASCII byte that is not
// written plain, using the short forms where JSON has them, as
// encoding/json does.
func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}
