package jsonwire

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	tests := []string{
		``, ` `, `1`, `-0`, `-`, `01`, `1.`, `1.5e+3`, `1e`, `.5`, `"x"`, `"\u12"`,
		`"\uD83D\uDE00"`, `"\x"`, "\"\x01\"", `true`, `tru`, `null`, `nul`, `[]`,
		`[1,]`, `[1 2]`, `{}`, `{"a":1,}`, `{"a" 1}`, `{1:2}`, `{"a":[{"b":{}}]}`,
		`[[[]]]`, `]`, `}`, `{"a":1}}`, `1 2`, " [ 1 , { \"k\" : [ ] } ] ",
		"\"\xff\"", `"\`, `"\u00e`, `-01`, `1E+`, `[1,{"a":[2,{"b":null}],"c":{}}]`,
		`{"a":1 "b":2}`, `[}`, `{]`, "\t\r\n1\n",
	}
	for _, in := range tests {
		if got, want := Valid([]byte(in)), json.Valid([]byte(in)); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json says %v", in, got, want)
		}
	}
}

func TestSkip(t *testing.T) {
	tests := []struct {
		in      string
		at      int
		end     int
		errAt   int // -1 when the value is valid
		errWhat string
	}{
		{`  {"a":[1,"x"]} ,`, 0, 15, -1, ""},
		{`[1,2],3`, 0, 5, -1, ""},
		{`x:"str"`, 2, 7, -1, ""},
		{`-12.5e+3]`, 0, 8, -1, ""},
		{`{"a" 1}`, 0, 0, 5, "expected ':'"},
		{`{1:2}`, 0, 0, 1, "expected key"},
		{`[1 2]`, 0, 0, 3, "expected ',' or end of container"},
		{`1.x`, 0, 0, 2, "invalid number"},
		{`"a\qb"`, 0, 0, 2, "invalid escape"},
		{"\"a\x01\"", 0, 0, 2, "control character in string"},
		{`"abc`, 0, 0, 4, "unterminated string"},
		{`nul`, 0, 0, 0, "invalid literal"},
		{`  `, 0, 0, 2, "expected value"},
		{`+1`, 0, 0, 0, "invalid value"},
	}
	for _, tt := range tests {
		end, err := Skip([]byte(tt.in), tt.at, 0)
		if tt.errAt < 0 {
			if err != nil || end != tt.end {
				t.Errorf("Skip(%q, %d) = %d, %v; want %d", tt.in, tt.at, end, err, tt.end)
			}
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset != tt.errAt || se.Msg != tt.errWhat ||
			end != tt.errAt {
			t.Errorf("Skip(%q) = %d, %v; want %q at %d", tt.in, end, err, tt.errWhat,
				tt.errAt)
		}
	}
}

func TestSkipDepth(t *testing.T) {
	nested := func(n int) []byte {
		return []byte(strings.Repeat("[", n) + "1" + strings.Repeat("]", n))
	}
	tests := []struct {
		name         string
		outer, inner int
		ok           bool
	}{
		{"at the limit", 0, MaxDepth, true},
		{"past the limit", 0, MaxDepth + 1, false},
		{"outer levels count", 3, MaxDepth - 3, true},
		{"outer levels count past", 3, MaxDepth - 2, false},
		{"scalar inside the limit", MaxDepth, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Skip(nested(tt.inner), 0, tt.outer)
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	// Deep objects need the same bit per level as arrays.
	obj := strings.Repeat(`{"k":`, 200) + "1" + strings.Repeat("}", 200)
	if end, err := Skip([]byte(obj), 0, 0); err != nil || end != len(obj) {
		t.Errorf("200 nested objects: %d, %v", end, err)
	}
}

func TestScanString(t *testing.T) {
	tests := []struct {
		in      string
		end     int
		escaped bool
		ok      bool
	}{
		{`"abc"`, 4, false, true},
		{`"a\"b"x`, 5, true, true},
		{`"\u00e9"`, 7, true, true},
		{"\"\xff\"", 2, false, true},
		{`"\u00g9"`, 0, false, false},
		{`"\`, 0, false, false},
		{`"abc`, 0, false, false},
		{`"`, 0, false, false},
	}
	for _, tt := range tests {
		end, escaped, err := ScanString([]byte(tt.in), 0)
		if (err == nil) != tt.ok || tt.ok && (end != tt.end || escaped != tt.escaped) {
			t.Errorf("ScanString(%q) = %d, %v, %v", tt.in, end, escaped, err)
		}
	}
}

func TestParseUint(t *testing.T) {
	tests := []struct {
		in    string
		limit uint64
		want  uint64
		end   int
		err   error
	}{
		{`0`, math.MaxUint64, 0, 1, nil},
		{`42,`, math.MaxUint64, 42, 2, nil},
		{`18446744073709551615`, math.MaxUint64, math.MaxUint64, 20, nil},
		{`18446744073709551616`, math.MaxUint64, 0, 0, ErrRange},
		{`2147483647`, math.MaxInt32, math.MaxInt32, 10, nil},
		{`2147483648`, math.MaxInt32, 0, 0, ErrRange},
		{`01`, math.MaxUint64, 0, 0, ErrNotInteger},
		{`1.0`, math.MaxUint64, 0, 0, ErrNotInteger},
		{`1e3`, math.MaxUint64, 0, 0, ErrNotInteger},
		{`-1`, math.MaxUint64, 0, 0, ErrNotInteger},
		{`"1"`, math.MaxUint64, 0, 0, ErrNotInteger},
		{``, math.MaxUint64, 0, 0, ErrNotInteger},
	}
	for _, tt := range tests {
		v, end, err := ParseUint([]byte(tt.in), 0, tt.limit)
		if v != tt.want || end != tt.end || err != tt.err {
			t.Errorf("ParseUint(%s, %d) = %d, %d, %v; want %d, %d, %v", tt.in, tt.limit,
				v, end, err, tt.want, tt.end, tt.err)
		}
	}
}

func TestAppendUnquoted(t *testing.T) {
	tests := map[string]string{
		`abc`:                  "abc",
		`a\"b\\c\/d\b\f\n\r\t`: "a\"b\\c/d\b\f\n\r\t",
		`\u00e9\u20AC`:         "é€",
		`\ud83d\ude00`:         "😀",
		`\ud83d`:               "\ufffd",
		`\ud83dx`:              "\ufffdx",
		`\ude00\ud83d`:         "\ufffd\ufffd",
		`\ud83d\u0041`:         "\ufffdA",
		`\ud83d\ud83d\ude00`:   "\ufffd😀",
		"\xff":                 "\ufffd",
		"a\xc3\\n\xe2\x82":     "a\ufffd\n\ufffd\ufffd",
		"\ufffd":               "\ufffd",
		`\q`:                   `\q`,
		`\`:                    `\`,
		`\u12`:                 `\u12`,
	}
	for in, want := range tests {
		if got := string(AppendUnquoted([]byte("x"), []byte(in))); got != "x"+want {
			t.Errorf("AppendUnquoted(%q) = %q, want %q", in, got[1:], want)
		}
	}
}
