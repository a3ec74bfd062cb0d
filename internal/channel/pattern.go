package channel

import (
	"errors"
	"unicode/utf8"
)

// A Pattern selects channels by the glob syntax backends already use with
// the server API's channels method: '*' matches any run of characters, '?' one
// character, "[abc]", "[a-z]" and "[!abc]" one character of (or not of) a
// class, "{a,b}" any of the alternatives, which may hold globs themselves,
// and '\' escapes the next character. Channel names have no separators, so
// "**" is the same as '*'.
//
// Braces are expanded when the pattern is compiled, into at most
// maxGlobAlternatives brace-free patterns. Each of those is matched with
// the usual single-backtrack algorithm, which takes time proportional to
// the product of pattern and name lengths at worst: a pattern cannot make
// the server backtrack exponentially.

// maxGlobAlternatives bounds brace expansion: {a,b}{c,d} is 4 alternatives.
const maxGlobAlternatives = 256

var (
	errGlobSyntax  = errors.New("malformed channels pattern")
	errGlobComplex = errors.New("channels pattern has too many alternatives")
)

type globKind uint8

const (
	globLiteral globKind = iota
	globOne              // ?
	globStar             // *
	globClass            // [...]
)

// globToken matches one character, or any run of them for globStar.
type globToken struct {
	kind   globKind
	r      rune
	negate bool
	ranges []rune // pairs of inclusive bounds
}

func (t *globToken) matches(r rune) bool {
	switch t.kind {
	case globLiteral:
		return r == t.r
	case globClass:
		in := false
		for i := 0; i+1 < len(t.ranges); i += 2 {
			if t.ranges[i] <= r && r <= t.ranges[i+1] {
				in = true
				break
			}
		}
		return in != t.negate
	}
	return true
}

// Pattern is a compiled channels pattern: a name matches when any
// alternative does. It is safe for concurrent use.
type Pattern struct {
	alts [][]globToken
}

// CompilePattern parses a channels pattern.
func CompilePattern(pattern string) (*Pattern, error) {
	p := globParser{s: pattern}
	alts, err := p.sequence(0)
	if err != nil {
		return nil, err
	}
	return &Pattern{alts: alts}, nil
}

// Match reports whether the channel name s matches.
func (g *Pattern) Match(s string) bool {
	for _, alt := range g.alts {
		if matchTokens(alt, s) {
			return true
		}
	}
	return false
}

// matchTokens matches s against brace-free tokens. Every token but a star
// consumes exactly one character, so on a mismatch it is enough to let the
// most recent star take one more character and retry from there.
func matchTokens(toks []globToken, s string) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for si < len(s) {
		if ti < len(toks) {
			if toks[ti].kind == globStar {
				starT, starS = ti, si
				ti++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[si:])
			if toks[ti].matches(r) {
				ti++
				si += size
				continue
			}
		}
		if starT < 0 {
			return false
		}
		_, size := utf8.DecodeRuneInString(s[starS:])
		starS += size
		si, ti = starS, starT+1
	}
	for ti < len(toks) && toks[ti].kind == globStar {
		ti++
	}
	return ti == len(toks)
}

type globParser struct {
	s string
	i int
}

// sequence parses until the end of the pattern or, inside braces (depth >
// 0), until an unconsumed ',' or '}'. It returns the expanded alternatives.
func (p *globParser) sequence(depth int) ([][]globToken, error) {
	alts := [][]globToken{nil}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if depth > 0 && (c == ',' || c == '}') {
			return alts, nil
		}
		var tok globToken
		switch c {
		case '{':
			options, err := p.braces(depth)
			if err != nil {
				return nil, err
			}
			if alts, err = product(alts, options); err != nil {
				return nil, err
			}
			continue
		case '*':
			for p.i < len(p.s) && p.s[p.i] == '*' {
				p.i++
			}
			tok.kind = globStar
		case '?':
			p.i++
			tok.kind = globOne
		case '[':
			var err error
			if tok, err = p.class(); err != nil {
				return nil, err
			}
		default:
			r, err := p.char()
			if err != nil {
				return nil, err
			}
			tok = globToken{kind: globLiteral, r: r}
		}
		for i := range alts {
			alts[i] = append(alts[i], tok)
		}
	}
	if depth > 0 {
		return nil, errGlobSyntax // unclosed '{'
	}
	return alts, nil
}

// braces parses "{a,b,...}" and returns the alternatives of all options.
func (p *globParser) braces(depth int) ([][]globToken, error) {
	p.i++ // '{'
	var options [][]globToken
	for {
		sub, err := p.sequence(depth + 1)
		if err != nil {
			return nil, err
		}
		if options = append(options, sub...); len(options) > maxGlobAlternatives {
			return nil, errGlobComplex
		}
		c := p.s[p.i] // sequence stopped at ',' or '}'
		p.i++
		if c == '}' {
			return options, nil
		}
	}
}

// product appends every option to every alternative, copying so that no
// two alternatives share a backing array.
func product(alts, options [][]globToken) ([][]globToken, error) {
	if len(alts)*len(options) > maxGlobAlternatives {
		return nil, errGlobComplex
	}
	out := make([][]globToken, 0, len(alts)*len(options))
	for _, a := range alts {
		for _, o := range options {
			n := make([]globToken, 0, len(a)+len(o))
			out = append(out, append(append(n, a...), o...))
		}
	}
	return out, nil
}

// class parses "[...]".
func (p *globParser) class() (globToken, error) {
	p.i++ // '['
	tok := globToken{kind: globClass}
	if p.i < len(p.s) && p.s[p.i] == '!' {
		tok.negate = true
		p.i++
	}
	for {
		if p.i >= len(p.s) {
			return tok, errGlobSyntax
		}
		if p.s[p.i] == ']' {
			p.i++
			if len(tok.ranges) == 0 {
				return tok, errGlobSyntax
			}
			return tok, nil
		}
		lo, err := p.char()
		if err != nil {
			return tok, err
		}
		hi := lo
		if p.i+1 < len(p.s) && p.s[p.i] == '-' && p.s[p.i+1] != ']' {
			p.i++
			if hi, err = p.char(); err != nil {
				return tok, err
			}
			if hi < lo {
				return tok, errGlobSyntax
			}
		}
		tok.ranges = append(tok.ranges, lo, hi)
	}
}

// char reads one possibly escaped character.
func (p *globParser) char() (rune, error) {
	if p.s[p.i] == '\\' {
		p.i++
		if p.i >= len(p.s) {
			return 0, errGlobSyntax
		}
	}
	r, size := utf8.DecodeRuneInString(p.s[p.i:])
	p.i += size
	return r, nil
}
