// Package pwsh interprets the subset of Windows PowerShell that lynctrust's
// scripts use, for the lab's simulated Lync servers. Anything outside the
// subset fails like a parse error, never silently. docs/lab.md lists the
// subset.
package powershell

import (
	"fmt"
	"strings"
	"unicode"
)

type tokKind int

const (
	tEOF     tokKind = iota
	tNewline         // newline or ';'
	tVar             // $name
	tString          // quoted string; expand says whether it was double-quoted
	tNumber
	tWord  // identifier (expression mode) or bareword (argument mode)
	tParam // -Name in argument mode
	tOp    // -eq, -and, … in expression mode
	tPunct // ( ) { } [ ] @( @{ , . :: | = += ! + - * / % $(
)

type token struct {
	kind   tokKind
	text   string // for tWord/tParam/tOp/tPunct/tNumber: the text; tString: the value; tVar: the name
	expand bool
	pos    int
}

// ParseError is a script outside the subset, or not PowerShell at all.
type ParseError struct {
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("At line:%d char:%d\r\n+ %s", e.Line, e.Col, e.Msg)
}

type lexer struct {
	src []rune
	pos int
}

func (l *lexer) errAt(pos int, format string, a ...any) *ParseError {
	line, col := 1, 1
	for i := 0; i < pos && i < len(l.src); i++ {
		if l.src[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &ParseError{line, col, fmt.Sprintf(format, a...)}
}

func (l *lexer) peekRune(off int) rune {
	if l.pos+off < len(l.src) {
		return l.src[l.pos+off]
	}
	return 0
}

// skipSpace skips blanks, comments and line continuations (a backtick at the
// end of a line), but not newlines, which end statements.
func (l *lexer) skipSpace() {
	for l.pos < len(l.src) {
		r := l.src[l.pos]
		switch {
		case r == ' ' || r == '\t' || r == '\r' || r == '\uFEFF':
			l.pos++
		case r == '`' && l.peekRune(1) == '\n':
			l.pos += 2
		case r == '`' && l.peekRune(1) == '\r' && l.peekRune(2) == '\n':
			l.pos += 3
		case r == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		case r == '<' && l.peekRune(1) == '#':
			end := strings.Index(string(l.src[l.pos:]), "#>")
			if end < 0 {
				l.pos = len(l.src)
				return
			}
			l.pos += len([]rune(string(l.src[l.pos:])[:end+2]))
		default:
			return
		}
	}
}

func isIdentRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'
}

// argument-mode barewords stop at these
func isArgStop(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune("|;(){},", r)
}

var expandEscapes = map[rune]string{'n': "\n", 'r': "\r", 't': "\t", '0': "\x00", 'a': "\a", 'b': "\b", 'f': "\f", 'v': "\v", '`': "`", '"': "\"", '$': "$", '\'': "'"}

func isQuote(r rune) bool {
	return r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201A' || r == '\u201B'
}
func isDQuote(r rune) bool { return r == '"' || r == '\u201C' || r == '\u201D' || r == '\u201E' }

// next returns the next token. In argument mode barewords run to whitespace
// and -Name is a parameter; in expression mode words are identifiers and -eq
// is an operator.
func (l *lexer) next(argMode bool) (token, error) {
	l.skipSpace()
	if l.pos >= len(l.src) {
		return token{kind: tEOF, pos: l.pos}, nil
	}
	start := l.pos
	r := l.src[l.pos]
	switch {
	case r == '\n' || r == ';':
		l.pos++
		return token{kind: tNewline, text: string(r), pos: start}, nil
	case r == '$':
		if l.peekRune(1) == '(' {
			l.pos += 2
			return token{kind: tPunct, text: "$(", pos: start}, nil
		}
		l.pos++
		if l.peekRune(0) == '{' {
			end := strings.IndexRune(string(l.src[l.pos:]), '}')
			if end < 0 {
				return token{}, l.errAt(start, "Missing closing '}' in variable name.")
			}
			name := string(l.src[l.pos+1 : l.pos+end])
			l.pos += end + 1
			return token{kind: tVar, text: name, pos: start}, nil
		}
		s := l.pos
		for l.pos < len(l.src) && (isIdentRune(l.src[l.pos]) || (l.src[l.pos] == ':' && l.pos > s && isIdentRune(l.peekRune(1)))) {
			l.pos++
		}
		if l.pos == s {
			if l.peekRune(0) == '_' || l.peekRune(0) == '?' {
				l.pos++
			} else {
				return token{}, l.errAt(start, "Variable reference is not valid. '$' was not followed by a valid variable name character.")
			}
		}
		return token{kind: tVar, text: string(l.src[s:l.pos]), pos: start}, nil
	case isQuote(r):
		l.pos++
		var b strings.Builder
		for {
			if l.pos >= len(l.src) {
				return token{}, l.errAt(start, "The string is missing the terminator: '.")
			}
			c := l.src[l.pos]
			if isQuote(c) {
				if l.pos+1 < len(l.src) && isQuote(l.src[l.pos+1]) {
					b.WriteRune(c)
					l.pos += 2
					continue
				}
				l.pos++
				break
			}
			b.WriteRune(c)
			l.pos++
		}
		return token{kind: tString, text: b.String(), pos: start}, nil
	case isDQuote(r):
		l.pos++
		var b strings.Builder
		for {
			if l.pos >= len(l.src) {
				return token{}, l.errAt(start, "The string is missing the terminator: \".")
			}
			c := l.src[l.pos]
			if c == '`' && l.pos+1 < len(l.src) {
				n := l.src[l.pos+1]
				if e, ok := expandEscapes[n]; ok && n != '$' {
					b.WriteString(e)
				} else {
					// `$ and any other escaped character stand for themselves;
					// keep the backtick before $ so expansion leaves it alone.
					if n == '$' {
						b.WriteString("`$")
					} else {
						b.WriteRune(n)
					}
				}
				l.pos += 2
				continue
			}
			if isDQuote(c) {
				if l.pos+1 < len(l.src) && isDQuote(l.src[l.pos+1]) {
					b.WriteRune('"')
					l.pos += 2
					continue
				}
				l.pos++
				break
			}
			b.WriteRune(c)
			l.pos++
		}
		return token{kind: tString, text: b.String(), expand: true, pos: start}, nil
	case r == '@' && (l.peekRune(1) == '(' || l.peekRune(1) == '{'):
		l.pos += 2
		return token{kind: tPunct, text: string(l.src[start:l.pos]), pos: start}, nil
	case argMode && strings.HasPrefix(string(l.src[l.pos:min(l.pos+4, len(l.src))]), "2>&1") && (l.pos+4 == len(l.src) || isArgStop(l.src[l.pos+4])):
		// The one redirection in the subset: the error stream into the output.
		l.pos += 4
		return token{kind: tPunct, text: "2>&1", pos: start}, nil
	case unicode.IsDigit(r) && (!argMode || true):
		s := l.pos
		for l.pos < len(l.src) && (unicode.IsDigit(l.src[l.pos]) || l.src[l.pos] == '.') {
			l.pos++
		}
		if argMode && l.pos < len(l.src) && !isArgStop(l.src[l.pos]) {
			for l.pos < len(l.src) && !isArgStop(l.src[l.pos]) {
				l.pos++
			}
			return token{kind: tWord, text: string(l.src[s:l.pos]), pos: start}, nil
		}
		return token{kind: tNumber, text: string(l.src[s:l.pos]), pos: start}, nil
	case r == '-' && argMode && (unicode.IsLetter(l.peekRune(1))):
		l.pos++
		s := l.pos
		for l.pos < len(l.src) && (isIdentRune(l.src[l.pos]) || l.src[l.pos] == '-') {
			l.pos++
		}
		name := string(l.src[s:l.pos])
		if l.peekRune(0) == ':' {
			l.pos++
			return token{kind: tParam, text: name + ":", pos: start}, nil
		}
		return token{kind: tParam, text: name, pos: start}, nil
	case r == '-' && !argMode && unicode.IsLetter(l.peekRune(1)):
		l.pos++
		s := l.pos
		for l.pos < len(l.src) && unicode.IsLetter(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tOp, text: "-" + strings.ToLower(string(l.src[s:l.pos])), pos: start}, nil
	}
	for _, p := range []string{"::", "+=", "-=", "==", "!="} {
		if strings.HasPrefix(string(l.src[l.pos:min(l.pos+2, len(l.src))]), p) {
			if p == "==" || p == "!=" {
				return token{}, l.errAt(start, "'%s' is not a PowerShell operator: use -eq or -ne.", p)
			}
			l.pos += 2
			return token{kind: tPunct, text: p, pos: start}, nil
		}
	}
	if strings.ContainsRune("(){}[],.|=!+-*/%", r) && !(argMode && (r == '.' || r == '-' || r == '/' || r == '*') && !isArgStop(l.peekRune(1)) && l.peekRune(1) != 0) {
		l.pos++
		return token{kind: tPunct, text: string(r), pos: start}, nil
	}
	if argMode {
		for l.pos < len(l.src) && !isArgStop(l.src[l.pos]) {
			if l.src[l.pos] == '$' || isQuote(l.src[l.pos]) || isDQuote(l.src[l.pos]) {
				return token{}, l.errAt(l.pos, "Barewords that mix text and variables or quotes are outside the lab's PowerShell subset; use parentheses and +.")
			}
			l.pos++
		}
		return token{kind: tWord, text: string(l.src[start:l.pos]), pos: start}, nil
	}
	if isIdentRune(r) {
		for l.pos < len(l.src) && (isIdentRune(l.src[l.pos]) || (l.src[l.pos] == '-' && unicode.IsLetter(l.peekRune(1)) && l.pos > start && unicode.IsUpper(l.peekRune(1)))) {
			l.pos++
		}
		return token{kind: tWord, text: string(l.src[start:l.pos]), pos: start}, nil
	}
	return token{}, l.errAt(start, "Unexpected token '%c' in expression or statement.", r)
}
