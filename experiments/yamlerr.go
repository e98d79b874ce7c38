package experiments

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// YAML syntax errors and where they are.
//
// gopkg.in/yaml.v3 (v3.0.1, its last release) prints a syntax error as
// "yaml: line N: problem" where N is the *0-based* line of the error's
// context for a parser error (its scanner errors add one), the problem's
// line only when the context sits on line 0, and no line at all when both
// do; it never gives the column. Taken as a 1-based line, that points a line
// too early, or at the start of the enclosing mapping, or nowhere.
//
// The decoder's parser keeps what it knew when it failed (the problem and
// its mark, the context and its mark, the stack of open collections), so
// yamlFailure reads them from the yaml.Decoder after Decode returns (through
// reflect; the fields are unexported but readable) and turns them into one
// 1-based line:col:
//
//   - a construct that must be closed (a flow sequence [...], a flow mapping
//     {...}, a quoted string) or a key without its ':' is reported where it
//     starts, since the parser notices the problem only later, often at the
//     end of the file; the message says where it noticed it;
//   - every other error where the parser noticed it (the offending token or
//     character), the message naming the construct it was in and where that
//     starts.
//
// TestYAMLSyntaxPositions and the testdata/yaml-*.bad.yaml fixtures pin the
// positions; if a new yaml.v3 changed its internals, yamlFailure reports
// false and the library's own message is used (without a position).

// yamlMark is yaml.v3's yaml_mark_t: 0-based byte index, line and column
// (the column counts characters).
type yamlMark struct{ index, line, column int }

func (m yamlMark) pos() Pos { return Pos{Line: m.line + 1, Column: m.column + 1} }

// yamlFailure finds the position and message of the syntax error err that
// dec.Decode just returned for data.
func yamlFailure(dec *yaml.Decoder, data []byte, err error) (Pos, string, bool) {
	p := reflect.ValueOf(dec).Elem().FieldByName("parser")
	if p.Kind() != reflect.Pointer || p.IsNil() {
		return Pos{}, "", false
	}
	p = p.Elem()
	yp := p.FieldByName("parser")
	if yp.Kind() != reflect.Struct {
		return Pos{}, "", false
	}
	kind, ok1 := intField(yp, "error")
	problem, ok2 := stringField(yp, "problem")
	context, ok3 := stringField(yp, "context")
	problemMark, ok4 := markField(yp.FieldByName("problem_mark"))
	contextMark, ok5 := markField(yp.FieldByName("context_mark"))
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return Pos{}, "", false
	}
	const (
		readerError  = 2 // yaml_READER_ERROR
		scannerError = 3 // yaml_SCANNER_ERROR
		parserError  = 4 // yaml_PARSER_ERROR
	)
	switch {
	case kind == readerError:
		off, ok := intField(yp, "problem_offset")
		if !ok {
			return Pos{}, "", false
		}
		return offsetPosition(data, off), "invalid YAML: " + problem, true
	case (kind == scannerError || kind == parserError) && problem != "":
	default:
		// yaml.v3's own checks after parsing (an unknown anchor) fail at
		// the event being composed.
		ev, ok := markField(p.FieldByName("event").FieldByName("start_mark"))
		if !ok || !strings.HasPrefix(err.Error(), "yaml: ") {
			return Pos{}, "", false
		}
		return ev.pos(), "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: "), true
	}

	at := func(m yamlMark) string {
		if m.index >= len(data) || len(bytes.TrimSpace(data[m.index:])) == 0 {
			return "at the end of the file"
		}
		return fmt.Sprintf("at %d:%d", m.line+1, m.column+1)
	}
	opener := func(what string, m yamlMark) (Pos, string, bool) {
		return m.pos(), fmt.Sprintf("invalid YAML: %s (noticed %s) %s that starts here", problem, at(problemMark), what), true
	}
	switch context {
	case "while parsing a flow sequence":
		return opener("in the flow sequence [...]", contextMark)
	case "while parsing a flow mapping":
		return opener("in the flow mapping {...}", contextMark)
	case "while scanning a quoted scalar":
		return opener("in the quoted string", contextMark)
	case "while scanning a simple key":
		return opener("after the key", contextMark)
	case "while parsing a flow node":
		// Inside a flow collection: the innermost open one is the last
		// mark on the parser's stack.
		marks := yp.FieldByName("marks")
		if marks.Kind() == reflect.Slice && marks.Len() > 0 {
			if m, ok := markField(marks.Index(marks.Len() - 1)); ok && m.index < len(data) {
				switch data[m.index] {
				case '[':
					return opener("in the flow sequence [...]", m)
				case '{':
					return opener("in the flow mapping {...}", m)
				}
			}
		}
	}
	msg := "invalid YAML: " + problem
	switch {
	case problemMark.index < len(data) && data[problemMark.index] == '\t':
		msg += " (a tab: YAML indents with spaces)"
	case problem == "mapping values are not allowed in this context":
		msg += " (is a ':' missing at the end of a line above, or does a value with ': ' need quotes?)"
	}
	if context != "" && contextMark != problemMark {
		msg += fmt.Sprintf(" (%s that starts at %d:%d)", context, contextMark.line+1, contextMark.column+1)
	}
	return problemMark.pos(), msg, true
}

// offsetPosition is the 1-based line and column (in characters) of a byte
// offset.
func offsetPosition(data []byte, off int) Pos {
	off = min(max(off, 0), len(data))
	before := data[:off]
	start := bytes.LastIndexByte(before, '\n') + 1
	return Pos{Line: bytes.Count(before, []byte("\n")) + 1, Column: utf8.RuneCount(before[start:]) + 1}
}

func intField(v reflect.Value, name string) (int, bool) {
	f := v.FieldByName(name)
	switch f.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return int(f.Int()), true
	}
	return 0, false
}

func stringField(v reflect.Value, name string) (string, bool) {
	f := v.FieldByName(name)
	if f.Kind() != reflect.String {
		return "", false
	}
	return f.String(), true
}

func markField(v reflect.Value) (yamlMark, bool) {
	if v.Kind() != reflect.Struct {
		return yamlMark{}, false
	}
	i, ok1 := intField(v, "index")
	l, ok2 := intField(v, "line")
	c, ok3 := intField(v, "column")
	return yamlMark{i, l, c}, ok1 && ok2 && ok3
}
