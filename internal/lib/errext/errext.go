// Package errext attaches process exit codes to errors, so that any layer can
// say how the CLI must exit without the CLI knowing every error type.
package errext

import (
	"errors"
	"fmt"
)

// ExitCode is a process exit status with a documented meaning.
type ExitCode int

// The exit codes of gameday (see docs/architecture.md).
const (
	OK          ExitCode = 0   // every SLO held
	Failed      ExitCode = 1   // an SLO failed, or the run was aborted by its abort condition
	Invalid     ExitCode = 2   // invalid input or usage
	Platform    ExitCode = 3   // the platform failed: could not deploy, inject or revert
	Interrupted ExitCode = 130 // interrupted by a signal (faults reverted)
)

// HasExitCode is implemented by errors that carry an exit code.
type HasExitCode interface {
	error
	ExitCode() ExitCode
}

type withCode struct {
	err  error
	code ExitCode
}

func (w withCode) Error() string      { return w.err.Error() }
func (w withCode) Unwrap() error      { return w.err }
func (w withCode) ExitCode() ExitCode { return w.code }

// WithExitCode wraps err so that the CLI exits with code. A nil err stays nil.
func WithExitCode(err error, code ExitCode) error {
	if err == nil {
		return nil
	}
	return withCode{err: err, code: code}
}

// Errorf formats an error carrying code.
func Errorf(code ExitCode, format string, args ...any) error {
	return withCode{err: fmt.Errorf(format, args...), code: code}
}

// Code returns the exit code carried by err: 0 for nil, the innermost code set
// by WithExitCode if any (the outermost wins when several are set), else 1.
func Code(err error) ExitCode {
	if err == nil {
		return OK
	}
	var h HasExitCode
	if errors.As(err, &h) {
		return h.ExitCode()
	}
	return Failed
}

// Severity orders exit codes by how much they say went wrong, so that a run
// made of several parts exits with the worst: interrupted over platform
// failure over invalid input over a failed check over success.
func Severity(c ExitCode) int {
	switch c {
	case Interrupted:
		return 4
	case Platform:
		return 3
	case Invalid:
		return 2
	case Failed:
		return 1
	}
	return 0
}
