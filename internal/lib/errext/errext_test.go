package errext

import (
	"errors"
	"fmt"
	"testing"
)

func TestCode(t *testing.T) {
	base := errors.New("boom")
	cases := []struct {
		name string
		err  error
		want ExitCode
	}{
		{"nil", nil, OK},
		{"plain error is a failure", base, Failed},
		{"tagged", WithExitCode(base, Invalid), Invalid},
		{"wrapped keeps code", fmt.Errorf("load: %w", WithExitCode(base, Platform)), Platform},
		{"outermost wins", WithExitCode(fmt.Errorf("x: %w", WithExitCode(base, Platform)), Interrupted), Interrupted},
		{"errorf", Errorf(Invalid, "bad %s", "x"), Invalid},
	}
	for _, c := range cases {
		if got := Code(c.err); got != c.want {
			t.Errorf("%s: Code() = %d, want %d", c.name, got, c.want)
		}
	}
	if WithExitCode(nil, Platform) != nil {
		t.Error("WithExitCode(nil) must stay nil")
	}
	if !errors.Is(WithExitCode(base, Invalid), base) {
		t.Error("wrapped error must unwrap to its cause")
	}
}

func TestSeverityOrdersTheCodes(t *testing.T) {
	order := []ExitCode{OK, Failed, Invalid, Platform, Interrupted}
	for i := 1; i < len(order); i++ {
		if Severity(order[i]) <= Severity(order[i-1]) {
			t.Errorf("Severity(%d) must exceed Severity(%d)", order[i], order[i-1])
		}
	}
}
