package powershell

import (
	"strconv"
	"strings"
)

// node is any piece of a parsed script.
type node interface{}

type (
	script struct{ stmts []node }
	// statements
	ifStmt struct {
		conds  []node
		blocks []*script
		els    *script
	}
	foreachStmt struct {
		varName string
		in      node
		body    *script
	}
	whileStmt struct {
		cond node
		body *script
	}
	tryStmt struct {
		body, catch, finally *script
	}
	throwStmt struct{ value node }
	exitStmt  struct{ value node }
	breakStmt struct{}
	contStmt  struct{}
	assign    struct {
		target node // *varRef, *member or *index
		op     string
		value  node
	}
	pipeline struct {
		elems []node // first may be an expression; the rest are *command
		pos   int
	}
	command struct {
		name     string
		args     []arg
		pos      int
		mergeErr bool // 2>&1
	}
	arg struct {
		param string // "" for a positional value
		value node   // nil for a bare switch
		colon bool   // -Name:value
	}
	// expressions
	literal   struct{ v Value }
	strExpand struct {
		s   string
		pos int
	}
	varRef struct{ name string }
	member struct {
		target node
		name   string
		static bool
	}
	call struct {
		target node
		name   string
		args   []node
		static bool
	}
	index struct {
		target, idx node
	}
	binary struct {
		op   string
		l, r node
	}
	unary struct {
		op string
		x  node
	}
	arrayLit struct{ items []node }
	arraySub struct{ body *script }
	subExpr  struct{ body *script }
	hashLit  struct {
		keys []string
		vals []node
	}
	blockLit struct{ body *script }
	typeLit  struct{ name string }
	castExpr struct {
		typ string
		x   node
	}
)

type parser struct {
	// noComma is set while parsing a method argument, where a comma
	// separates arguments instead of making an array.
	noComma bool
	lx      *lexer
	tok     token
	arg     bool // lexing mode of tok
	// a token pushed back, lexed in the given mode
	saved   bool
	savePos int
	PS2     bool
}

// mark is a position to come back to, for looking ahead past newlines.
type mark struct {
	pos   int
	saved bool
	tok   token
}

func (p *parser) mark() mark   { return mark{p.lx.pos, p.saved, p.tok} }
func (p *parser) reset(m mark) { p.lx.pos, p.saved, p.tok = m.pos, m.saved, m.tok }

func (p *parser) peek(argMode bool) (token, error) {
	if p.saved && p.arg == argMode {
		return p.tok, nil
	}
	if p.saved {
		p.lx.pos = p.savePos
	}
	p.savePos = p.lx.pos
	t, err := p.lx.next(argMode)
	if err != nil {
		return t, err
	}
	p.tok, p.arg, p.saved = t, argMode, true
	return t, nil
}

func (p *parser) take(argMode bool) (token, error) {
	t, err := p.peek(argMode)
	p.saved = false
	return t, err
}

func (p *parser) expectPunct(s string, argMode bool) error {
	t, err := p.take(argMode)
	if err != nil {
		return err
	}
	if t.kind != tPunct || t.text != s {
		return p.lx.errAt(t.pos, "Missing '%s'.", s)
	}
	return nil
}

func (p *parser) skipNewlines() error {
	for {
		t, err := p.peek(false)
		if err != nil {
			return err
		}
		if t.kind != tNewline {
			return nil
		}
		p.take(false)
	}
}

// Parse parses a whole script.
func Parse(src string) (*script, error) {
	p := &parser{lx: &lexer{src: []rune(src)}}
	s, err := p.statements("")
	if err != nil {
		return nil, err
	}
	t, err := p.peek(false)
	if err != nil {
		return nil, err
	}
	if t.kind != tEOF {
		return nil, p.lx.errAt(t.pos, "Unexpected token '%s' in expression or statement.", t.text)
	}
	return s, nil
}

// statements parses until EOF or the closing punctuation.
func (p *parser) statements(closing string) (*script, error) {
	saved := p.noComma
	p.noComma = false
	defer func() { p.noComma = saved }()
	s := &script{}
	for {
		if err := p.skipNewlines(); err != nil {
			return nil, err
		}
		t, err := p.peek(false)
		if err != nil {
			return nil, err
		}
		if t.kind == tEOF || (closing != "" && t.kind == tPunct && t.text == closing) {
			return s, nil
		}
		st, err := p.statement()
		if err != nil {
			return nil, err
		}
		s.stmts = append(s.stmts, st)
		t, err = p.peek(false)
		if err != nil {
			return nil, err
		}
		if t.kind != tNewline && t.kind != tEOF && !(closing != "" && t.kind == tPunct && t.text == closing) {
			return nil, p.lx.errAt(t.pos, "Unexpected token '%s' in expression or statement.", t.text)
		}
	}
}

func (p *parser) block() (*script, error) {
	if err := p.skipNewlines(); err != nil {
		return nil, err
	}
	if err := p.expectPunct("{", false); err != nil {
		return nil, err
	}
	s, err := p.statements("}")
	if err != nil {
		return nil, err
	}
	return s, p.expectPunct("}", false)
}

func (p *parser) parenPipeline() (node, error) {
	saved := p.noComma
	p.noComma = false
	defer func() { p.noComma = saved }()
	if err := p.expectPunct("(", false); err != nil {
		return nil, err
	}
	p.skipNewlines()
	n, err := p.pipeline()
	if err != nil {
		return nil, err
	}
	p.skipNewlines()
	return n, p.expectPunct(")", false)
}

var keywords = map[string]bool{"if": true, "foreach": true, "try": true, "throw": true, "exit": true, "break": true,
	"continue": true, "function": true, "while": true, "do": true, "for": true, "switch": true, "return": true,
	"param": true, "trap": true, "filter": true, "workflow": true, "class": true, "begin": true, "process": true}

func (p *parser) statement() (node, error) {
	t, err := p.peek(false)
	if err != nil {
		return nil, err
	}
	if t.kind == tWord && keywords[strings.ToLower(t.text)] {
		kw := strings.ToLower(t.text)
		p.take(false)
		switch kw {
		case "if":
			st := &ifStmt{}
			for {
				c, err := p.parenPipeline()
				if err != nil {
					return nil, err
				}
				b, err := p.block()
				if err != nil {
					return nil, err
				}
				st.conds, st.blocks = append(st.conds, c), append(st.blocks, b)
				m := p.mark()
				p.skipNewlines()
				n, err := p.peek(false)
				if err != nil {
					return nil, err
				}
				if n.kind == tWord && strings.EqualFold(n.text, "elseif") {
					p.take(false)
					continue
				}
				if n.kind == tWord && strings.EqualFold(n.text, "else") {
					p.take(false)
					if st.els, err = p.block(); err != nil {
						return nil, err
					}
					return st, nil
				}
				p.reset(m)
				return st, nil
			}
		case "foreach":
			if err := p.expectPunct("(", false); err != nil {
				return nil, err
			}
			v, err := p.take(false)
			if err != nil {
				return nil, err
			}
			in, err := p.take(false)
			if err != nil {
				return nil, err
			}
			if v.kind != tVar || in.kind != tWord || !strings.EqualFold(in.text, "in") {
				return nil, p.lx.errAt(v.pos, "Missing variable name after foreach.")
			}
			coll, err := p.pipeline()
			if err != nil {
				return nil, err
			}
			if err := p.expectPunct(")", false); err != nil {
				return nil, err
			}
			body, err := p.block()
			if err != nil {
				return nil, err
			}
			return &foreachStmt{varName: v.text, in: coll, body: body}, nil
		case "try":
			st := &tryStmt{}
			if st.body, err = p.block(); err != nil {
				return nil, err
			}
			p.skipNewlines()
			n, err := p.peek(false)
			if err != nil {
				return nil, err
			}
			if n.kind == tWord && strings.EqualFold(n.text, "catch") {
				p.take(false)
				if st.catch, err = p.block(); err != nil {
					return nil, err
				}
				m := p.mark()
				p.skipNewlines()
				n, err = p.peek(false)
				if err != nil {
					return nil, err
				}
				if !(n.kind == tWord && strings.EqualFold(n.text, "finally")) {
					p.reset(m)
					return st, nil
				}
			}
			if n.kind == tWord && strings.EqualFold(n.text, "finally") {
				p.take(false)
				if st.finally, err = p.block(); err != nil {
					return nil, err
				}
			}
			if st.catch == nil && st.finally == nil {
				return nil, p.lx.errAt(n.pos, "The Try statement is missing its Catch or Finally block.")
			}
			return st, nil
		case "throw", "exit":
			n, err := p.peek(false)
			if err != nil {
				return nil, err
			}
			var v node
			if n.kind != tNewline && n.kind != tEOF && !(n.kind == tPunct && n.text == "}") {
				if v, err = p.expression(false); err != nil {
					return nil, err
				}
			}
			if kw == "throw" {
				return &throwStmt{v}, nil
			}
			return &exitStmt{v}, nil
		case "while":
			c, err := p.parenPipeline()
			if err != nil {
				return nil, err
			}
			body, err := p.block()
			if err != nil {
				return nil, err
			}
			return &whileStmt{cond: c, body: body}, nil
		case "break":
			return &breakStmt{}, nil
		case "continue":
			return &contStmt{}, nil
		}
		return nil, p.lx.errAt(t.pos, "'%s' is outside the lab's PowerShell subset (see docs/lab.md).", t.text)
	}
	if t.kind == tVar {
		// an assignment, or an expression statement
		m := p.mark()
		target, err := p.postfix(false)
		if err != nil {
			return nil, err
		}
		n, err := p.peek(false)
		if err != nil {
			return nil, err
		}
		if n.kind == tPunct && (n.text == "=" || n.text == "+=" || n.text == "-=") {
			p.take(false)
			p.skipNewlines()
			v, err := p.pipeline()
			if err != nil {
				return nil, err
			}
			return &assign{target: target, op: n.text, value: v}, nil
		}
		p.reset(m)
	}
	return p.pipeline()
}

func (p *parser) pipeline() (node, error) {
	saved := p.noComma
	p.noComma = false
	defer func() { p.noComma = saved }()
	t, err := p.peek(false)
	if err != nil {
		return nil, err
	}
	pl := &pipeline{pos: t.pos}
	var first node
	if t.kind == tWord && !keywords[strings.ToLower(t.text)] {
		p.saved = false
		p.lx.pos = p.savePos
		if first, err = p.command(); err != nil {
			return nil, err
		}
	} else if first, err = p.expression(false); err != nil {
		return nil, err
	}
	rest, err := p.more("|", p.command)
	if err != nil {
		return nil, err
	}
	pl.elems = append([]node{first}, rest...)
	if len(pl.elems) == 1 {
		if _, ok := first.(*command); !ok {
			return first, nil
		}
	}
	return pl, nil
}

func (p *parser) command() (node, error) {
	t, err := p.take(true)
	if err != nil {
		return nil, err
	}
	if t.kind != tWord {
		return nil, p.lx.errAt(t.pos, "Expressions are only allowed as the first element of a pipeline.")
	}
	c := &command{name: t.text, pos: t.pos}
	for {
		n, err := p.peek(true)
		if err != nil {
			return nil, err
		}
		switch {
		case n.kind == tEOF || n.kind == tNewline || (n.kind == tPunct && (n.text == "|" || n.text == ")" || n.text == "}")):
			return c, nil
		case n.kind == tPunct && n.text == "2>&1":
			p.take(true)
			c.mergeErr = true
		case n.kind == tParam:
			p.take(true)
			a := arg{param: strings.TrimSuffix(n.text, ":"), colon: strings.HasSuffix(n.text, ":")}
			nn, err := p.peek(true)
			if err != nil {
				return nil, err
			}
			if a.colon || !(nn.kind == tEOF || nn.kind == tNewline || nn.kind == tParam || (nn.kind == tPunct && (nn.text == "|" || nn.text == ")" || nn.text == "}"))) {
				if a.value, err = p.argValue(); err != nil {
					return nil, err
				}
			}
			c.args = append(c.args, a)
		default:
			v, err := p.argValue()
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, arg{value: v})
		}
	}
}

// argValue parses one argument in argument mode: a bareword, or an
// expression, with commas making an array.
func (p *parser) argValue() (node, error) {
	var items []node
	for {
		t, err := p.peek(true)
		if err != nil {
			return nil, err
		}
		var v node
		if t.kind == tWord {
			p.take(true)
			v = &literal{t.text}
		} else if v, err = p.postfix(true); err != nil {
			return nil, err
		}
		items = append(items, v)
		n, err := p.peek(true)
		if err != nil {
			return nil, err
		}
		if n.kind != tPunct || n.text != "," {
			break
		}
		p.take(true)
	}
	if len(items) == 1 {
		return items[0], nil
	}
	return &arrayLit{items}, nil
}

// precedence levels of binary operators, lowest first
var opLevel = map[string]int{
	"-or": 1, "-and": 1, "-xor": 1,
	"-eq": 2, "-ne": 2, "-gt": 2, "-ge": 2, "-lt": 2, "-le": 2, "-like": 2, "-notlike": 2, "-match": 2,
	"-notmatch": 2, "-contains": 2, "-notcontains": 2, "-in": 2, "-notin": 2, "-replace": 2, "-split": 2, "-join": 2,
	"-ieq": 2, "-ine": 2, "-ceq": 2, "-cne": 2, "-ilike": 2, "-imatch": 2, "-is": 2, "-isnot": 2,
	"+": 3, "-": 3,
	"*": 4, "/": 4, "%": 4,
	"-f": 5,
}

func (p *parser) expression(argMode bool) (node, error) { return p.binaryExpr(1) }

func (p *parser) binaryExpr(level int) (node, error) {
	if level > 5 {
		return p.commaExpr()
	}
	l, err := p.binaryExpr(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.peek(false)
		if err != nil {
			return nil, err
		}
		op := t.text
		if t.kind != tOp && !(t.kind == tPunct && strings.Contains("+-*/%", op) && len(op) == 1) {
			return l, nil
		}
		lv, ok := opLevel[op]
		if !ok {
			if t.kind == tOp {
				return nil, p.lx.errAt(t.pos, "Unexpected token '%s': the operator is outside the lab's PowerShell subset.", op)
			}
			return l, nil
		}
		if lv != level {
			return l, nil
		}
		p.take(false)
		p.skipNewlines()
		r, err := p.binaryExpr(level + 1)
		if err != nil {
			return nil, err
		}
		l = &binary{op: op, l: l, r: r}
	}
}

// more parses the items that follow the first of a list separated by sep
// (a pipeline's "|", an array's ","); a newline may follow a separator.
func (p *parser) more(sep string, item func() (node, error)) ([]node, error) {
	var out []node
	for {
		t, err := p.peek(false)
		if err != nil {
			return nil, err
		}
		if t.kind != tPunct || t.text != sep {
			return out, nil
		}
		p.take(false)
		p.skipNewlines()
		n, err := item()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
}

func (p *parser) commaExpr() (node, error) {
	first, err := p.unaryExpr()
	if err != nil || p.noComma {
		return first, err
	}
	rest, err := p.more(",", p.unaryExpr)
	if err != nil {
		return nil, err
	}
	items := append([]node{first}, rest...)
	if len(items) == 1 {
		return first, nil
	}
	return &arrayLit{items}, nil
}

func (p *parser) unaryExpr() (node, error) {
	t, err := p.peek(false)
	if err != nil {
		return nil, err
	}
	switch {
	case t.kind == tPunct && (t.text == "!" || t.text == "-" || t.text == ","):
		p.take(false)
		x, err := p.unaryExpr()
		if err != nil {
			return nil, err
		}
		op := t.text
		if op == "!" {
			op = "-not"
		}
		return &unary{op: op, x: x}, nil
	case t.kind == tOp && (t.text == "-not" || t.text == "-join" || t.text == "-split"):
		p.take(false)
		x, err := p.unaryExpr()
		if err != nil {
			return nil, err
		}
		return &unary{op: t.text, x: x}, nil
	}
	return p.postfix(false)
}

// postfix parses a primary and its member accesses, method calls and indexes.
func (p *parser) postfix(argMode bool) (node, error) {
	x, err := p.primary(argMode)
	if err != nil {
		return nil, err
	}
	for {
		// member access must touch what precedes it
		if p.saved {
			return x, nil
		}
		if p.lx.pos >= len(p.lx.src) {
			return x, nil
		}
		r := p.lx.src[p.lx.pos]
		switch {
		case r == '.' && p.lx.pos+1 < len(p.lx.src) && isIdentRune(p.lx.src[p.lx.pos+1]):
			p.lx.pos++
			x, err = p.memberTail(x, false)
		case r == ':' && p.lx.peekRune(1) == ':':
			p.lx.pos += 2
			x, err = p.memberTail(x, true)
		case r == '[':
			p.lx.pos++
			p.skipNewlines()
			var idx node
			if idx, err = p.expression(false); err != nil {
				return nil, err
			}
			if err = p.expectPunct("]", false); err != nil {
				return nil, err
			}
			x = &index{target: x, idx: idx}
		default:
			return x, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) memberTail(x node, static bool) (node, error) {
	s := p.lx.pos
	for p.lx.pos < len(p.lx.src) && isIdentRune(p.lx.src[p.lx.pos]) {
		p.lx.pos++
	}
	name := string(p.lx.src[s:p.lx.pos])
	if name == "" {
		return nil, p.lx.errAt(s, "Missing property name after reference operator.")
	}
	if p.lx.pos < len(p.lx.src) && p.lx.src[p.lx.pos] == '(' {
		p.lx.pos++
		var args []node
		p.skipNewlines()
		t, err := p.peek(false)
		if err != nil {
			return nil, err
		}
		if !(t.kind == tPunct && t.text == ")") {
			for {
				// no commas: they separate arguments
				saved := p.noComma
				p.noComma = true
				a, err := p.binaryExpr(2)
				p.noComma = saved
				if err != nil {
					return nil, err
				}
				args = append(args, a)
				t, err := p.take(false)
				if err != nil {
					return nil, err
				}
				if t.kind == tPunct && t.text == ")" {
					break
				}
				if t.kind != tPunct || t.text != "," {
					return nil, p.lx.errAt(t.pos, "Missing ')' in method call.")
				}
			}
		} else {
			p.take(false)
		}
		return &call{target: x, name: name, args: args, static: static}, nil
	}
	return &member{target: x, name: name, static: static}, nil
}

func (p *parser) primary(argMode bool) (node, error) {
	t, err := p.take(argMode)
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tNumber:
		if n, err := strconv.Atoi(t.text); err == nil {
			return &literal{n}, nil
		}
		return nil, p.lx.errAt(t.pos, "Number %s is outside the lab's PowerShell subset (integers only).", t.text)
	case tString:
		if t.expand && strings.ContainsRune(t.text, '$') {
			return &strExpand{s: t.text, pos: t.pos}, nil
		}
		if !t.expand {
			return &literal{t.text}, nil // single quotes: nothing is escaped
		}
		return &literal{strings.ReplaceAll(t.text, "`$", "$")}, nil
	case tVar:
		return &varRef{name: t.text}, nil
	case tPunct:
		switch t.text {
		case "(":
			p.skipNewlines()
			n, err := p.pipeline()
			if err != nil {
				return nil, err
			}
			p.skipNewlines()
			return n, p.expectPunct(")", false)
		case "$(":
			s, err := p.statements(")")
			if err != nil {
				return nil, err
			}
			return &subExpr{s}, p.expectPunct(")", false)
		case "@(":
			s, err := p.statements(")")
			if err != nil {
				return nil, err
			}
			return &arraySub{s}, p.expectPunct(")", false)
		case "@{":
			h := &hashLit{}
			for {
				p.skipNewlines()
				k, err := p.take(false)
				if err != nil {
					return nil, err
				}
				if k.kind == tPunct && k.text == "}" {
					return h, nil
				}
				if k.kind != tWord && k.kind != tString {
					return nil, p.lx.errAt(k.pos, "Missing key before '=' in hash literal.")
				}
				if err := p.expectPunct("=", false); err != nil {
					return nil, err
				}
				p.skipNewlines()
				v, err := p.pipeline()
				if err != nil {
					return nil, err
				}
				h.keys, h.vals = append(h.keys, k.text), append(h.vals, v)
				n, err := p.peek(false)
				if err != nil {
					return nil, err
				}
				if n.kind == tNewline {
					p.take(false)
				}
			}
		case "{":
			s, err := p.statements("}")
			if err != nil {
				return nil, err
			}
			return &blockLit{s}, p.expectPunct("}", false)
		case "[":
			s := p.lx.pos
			end := strings.IndexRune(string(p.lx.src[s:]), ']')
			if end < 0 {
				return nil, p.lx.errAt(t.pos, "Missing ']' after type name.")
			}
			name := strings.TrimSpace(string(p.lx.src[s : s+end]))
			p.lx.pos = s + end + 1
			if p.lx.pos+1 < len(p.lx.src) && p.lx.src[p.lx.pos] == ':' && p.lx.src[p.lx.pos+1] == ':' {
				return &typeLit{name}, nil
			}
			x, err := p.unaryExpr()
			if err != nil {
				return nil, err
			}
			return &castExpr{typ: name, x: x}, nil
		}
	case tWord:
		if !argMode {
			return nil, p.lx.errAt(t.pos, "Unexpected token '%s' in expression or statement.", t.text)
		}
		return &literal{t.text}, nil
	}
	return nil, p.lx.errAt(t.pos, "Unexpected token '%s' in expression or statement.", t.text)
}
