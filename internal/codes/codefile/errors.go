package codefile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ParseError reports malformed input: which file, which line (1-based) and
// which field, and what was wrong.
type ParseError struct {
	File  string
	Line  int
	Field string
	Err   error
}

// Error formats the error as "file:line: field: problem".
func (e *ParseError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the underlying problem.
func (e *ParseError) Unwrap() error { return e.Err }

func perr(file string, line int, field, format string, args ...any) error {
	return &ParseError{File: file, Line: line, Field: field, Err: fmt.Errorf(format, args...)}
}

// ErrStop may be returned by a record callback to end a read early without
// an error.
var ErrStop = errors.New("stop reading")

// maxLine is the longest line any reader accepts (the longest official
// lines are about 400 bytes; NCCI rationales are short).
const maxLine = 1 << 20

// lineReader yields lines without their line ending (LF or CRLF) and counts
// them.
type lineReader struct {
	sc   *bufio.Scanner
	line int
}

func newLineReader(r io.Reader) *lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	return &lineReader{sc: sc}
}

// next returns the next line (valid until the following call), or false at
// the end; err reports a read error or an over-long line.
func (lr *lineReader) next() ([]byte, bool) {
	if !lr.sc.Scan() {
		return nil, false
	}
	lr.line++
	return bytes.TrimSuffix(lr.sc.Bytes(), []byte{'\r'}), true
}

func (lr *lineReader) err(file string) error {
	if err := lr.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return perr(file, lr.line+1, "", "line longer than %d bytes", maxLine)
		}
		return fmt.Errorf("reading %s: %w", file, err)
	}
	return nil
}

// field returns columns from..to (1-based, inclusive) of line, clipped to
// the line, with surrounding spaces removed.
func field(line []byte, from, to int) string {
	if from > len(line) {
		return ""
	}
	if to > len(line) {
		to = len(line)
	}
	return string(bytes.TrimSpace(line[from-1 : to]))
}

// callback runs fn and turns ErrStop into a clean end.
func isStop(err error) bool { return errors.Is(err, ErrStop) }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func bufioReader(r io.Reader) *bufio.Reader {
	if br, ok := r.(*bufio.Reader); ok {
		return br
	}
	return bufio.NewReader(r)
}
