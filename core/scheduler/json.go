package scheduler

import (
	"encoding/json"
	"fmt"
)

// diffusers writes configs with Python's json module, which emits the bare
// literals NaN, Infinity and -Infinity for non-finite floats (the DPM-Solver
// config has "lambda_min_clipped": -Infinity). encoding/json rejects them, so
// configs are read by the small parser below, which accepts exactly what
// Python's json.loads accepts. Values come out as nil, bool, string,
// jsonNumber, []any and map[string]any; a repeated key keeps its last value,
// as in Python.

// jsonNumber is a number literal as written, so that integers and floats
// stay distinguishable. NaN, Infinity and -Infinity are kept as those words.
type jsonNumber string

// maxJSONDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxJSONDepth = 64

type jsonParser struct {
	s     []byte
	i     int
	depth int
}

// parseJSONObject parses data, which must hold one JSON object.
func parseJSONObject(data []byte) (map[string]any, error) {
	p := &jsonParser{s: data}
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, p.errorf("the config is not a JSON object")
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, p.errorf("unexpected data after the object")
	}
	return v.(map[string]any), nil
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("scheduler: config JSON at byte %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *jsonParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// literal consumes word if the input continues with it.
func (p *jsonParser) literal(word string) bool {
	if len(p.s)-p.i >= len(word) && string(p.s[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

func (p *jsonParser) value() (any, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, p.errorf("unexpected end of input")
	}
	switch c := p.s[p.i]; {
	case c == '{' || c == '[':
		if p.depth++; p.depth > maxJSONDepth {
			return nil, p.errorf("nested deeper than %d", maxJSONDepth)
		}
		defer func() { p.depth-- }()
		if c == '{' {
			return p.object()
		}
		return p.array()
	case c == '"':
		return p.str()
	case p.literal("true"):
		return true, nil
	case p.literal("false"):
		return false, nil
	case p.literal("null"):
		return nil, nil
	case p.literal("NaN"):
		return jsonNumber("NaN"), nil
	case p.literal("Infinity"):
		return jsonNumber("Infinity"), nil
	case p.literal("-Infinity"):
		return jsonNumber("-Infinity"), nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return nil, p.errorf("unexpected character %q", p.s[p.i])
}

func (p *jsonParser) object() (map[string]any, error) {
	p.i++ // '{'
	obj := map[string]any{}
	p.space()
	if p.literal("}") {
		return obj, nil
	}
	for {
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, p.errorf("expected a string key")
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if !p.literal(":") {
			return nil, p.errorf("expected ':' after key %q", key)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		obj[key] = v
		p.space()
		switch {
		case p.literal(","):
		case p.literal("}"):
			return obj, nil
		default:
			return nil, p.errorf("expected ',' or '}' in object")
		}
	}
}

func (p *jsonParser) array() ([]any, error) {
	p.i++ // '['
	arr := []any{}
	p.space()
	if p.literal("]") {
		return arr, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		p.space()
		switch {
		case p.literal(","):
		case p.literal("]"):
			return arr, nil
		default:
			return nil, p.errorf("expected ',' or ']' in array")
		}
	}
}

// str reads a string literal; encoding/json decodes its escapes.
func (p *jsonParser) str() (string, error) {
	start := p.i
	for p.i++; p.i < len(p.s); p.i++ {
		switch p.s[p.i] {
		case '\\':
			p.i++
		case '"':
			p.i++
			var s string
			if err := json.Unmarshal(p.s[start:p.i], &s); err != nil {
				p.i = start
				return "", p.errorf("bad string: %v", err)
			}
			return s, nil
		}
	}
	p.i = start
	return "", p.errorf("unterminated string")
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (p *jsonParser) number() (jsonNumber, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	p.literal("-")
	if p.literal("0") {
		if p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			return "", p.errorf("number with a leading zero")
		}
	} else if digits() == 0 {
		return "", p.errorf("bad number")
	}
	if p.literal(".") && digits() == 0 {
		return "", p.errorf("bad number")
	}
	if p.literal("e") || p.literal("E") {
		if !p.literal("+") {
			p.literal("-")
		}
		if digits() == 0 {
			return "", p.errorf("bad number")
		}
	}
	return jsonNumber(p.s[start:p.i]), nil
}
