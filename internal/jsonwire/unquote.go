package jsonwire

import (
	"bytes"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// AppendUnquoted appends the text of a string body that [ScanString]
// accepted, without its quotes. Like encoding/json, it joins surrogate
// pairs and turns a lone surrogate, and each byte of invalid UTF-8, into
// U+FFFD. A malformed escape, which ScanString rejects, is copied as it is.
func AppendUnquoted(dst, s []byte) []byte {
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\\')
		if i < 0 {
			return appendValidUTF8(dst, s)
		}
		dst = appendValidUTF8(dst, s[:i])
		s = s[i:]
		n := escapeLen(s)
		if n == 0 {
			dst = append(dst, '\\')
			s = s[1:]
			continue
		}
		switch c := s[1]; c {
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
			var r rune
			r, n = unicodeEscape(s)
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\' and '/' stand for themselves
			dst = append(dst, c)
		}
		s = s[n:]
	}
	return dst
}

// unicodeEscape decodes the valid \uXXXX escape at the start of s, joining
// it with a second one that completes a surrogate pair, and returns the
// rune and the number of bytes used.
func unicodeEscape(s []byte) (rune, int) {
	r := hex4(s[2:6])
	if !utf16.IsSurrogate(r) {
		return r, 6
	}
	if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
		if r2 := hex4(s[8:12]); r2 >= 0 {
			if r = utf16.DecodeRune(r, r2); r != unicode.ReplacementChar {
				return r, 12
			}
		}
	}
	return unicode.ReplacementChar, 6
}

// appendValidUTF8 appends s with each byte of invalid UTF-8 replaced by
// U+FFFD, as encoding/json decodes it.
func appendValidUTF8(dst, s []byte) []byte {
	if utf8.Valid(s) {
		return append(dst, s...)
	}
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		dst = utf8.AppendRune(dst, r)
		s = s[size:]
	}
	return dst
}
