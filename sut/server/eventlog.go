package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// DefaultSlow is the default threshold above which an inbound request is
// logged as slow (Config.Slow, --slow).
const DefaultSlow = 250 * time.Millisecond

// DefaultLogRate is how many lines of one kind an instance logs per second
// at most; the rest are counted and summed up in one line.
const DefaultLogRate = 10

// Kinds of logged events; each has its own rate limit.
type logKind int

const (
	logServerError logKind = iota // a 5xx answered
	logSlowRequest                // an inbound request slower than the threshold
	logCallFailed                 // an attempt on an outgoing edge that failed (transport error, 5xx)
	logCallTimeout                // an attempt on an outgoing edge that timed out
	logCallerGone                 // the caller gave up before the answer (recorded as 499)
	logSlowStore                  // a store transaction slower than the threshold
	numLogKinds
)

var logKindNames = [numLogKinds]string{"server_error", "slow_request", "call_failed", "call_timeout", "caller_gone", "slow_store"}

// statusCallerGone is the status recorded for a request whose caller went
// away before it was answered (nginx's 499): not the service's error.
const statusCallerGone = 499

// eventLog is an instance's log of what goes wrong: structured (log/slog
// text), rate-limited per kind. Nothing in it runs on the success path of a
// request; the callers compare a duration and a status first. A nil
// *eventLog logs nothing.
type eventLog struct {
	l      *slog.Logger
	perSec int
	now    func() time.Time
	kinds  [numLogKinds]logLimiter
}

type logLimiter struct {
	mu         sync.Mutex
	window     time.Time // start of the current one-second window
	n          int       // lines logged in it
	suppressed int       // lines dropped in it
}

func newEventLog(w io.Writer, service, instance string, perSec int) *eventLog {
	if perSec <= 0 {
		perSec = DefaultLogRate
	}
	l := slog.New(slog.NewTextHandler(w, nil)).With("service", service, "instance", instance)
	return &eventLog{l: l, perSec: perSec, now: time.Now}
}

// info logs a line that is not rate-limited (start, stop).
func (e *eventLog) info(msg string, args ...any) {
	if e != nil {
		e.l.Info(msg, args...)
	}
}

// event logs one event of kind k, unless the kind's limit for the current
// second is reached; the first event of a new window first reports how many
// were suppressed in the last one.
func (e *eventLog) event(k logKind, msg string, args ...any) {
	if e == nil {
		return
	}
	lim := &e.kinds[k]
	now := e.now()
	lim.mu.Lock()
	suppressed := 0
	if now.Sub(lim.window) >= time.Second {
		suppressed = lim.suppressed
		lim.window, lim.n, lim.suppressed = now, 0, 0
	}
	ok := lim.n < e.perSec
	if ok {
		lim.n++
	} else {
		lim.suppressed++
	}
	lim.mu.Unlock()
	if suppressed > 0 {
		e.summary(k, suppressed)
	}
	if ok {
		e.l.Warn(msg, append([]any{"kind", logKindNames[k]}, args...)...)
	}
}

func (e *eventLog) summary(k logKind, n int) {
	e.l.Warn(fmt.Sprintf("suppressed %d similar lines", n), "kind", logKindNames[k], "suppressed", n, "limit", fmt.Sprintf("%d/s", e.perSec))
}

// flush reports the suppressed lines of every window that has ended (all of
// them when final is set), so that the count of a burst is not held back
// until the next event of its kind.
func (e *eventLog) flush(final bool) {
	if e == nil {
		return
	}
	now := e.now()
	for k := range e.kinds {
		lim := &e.kinds[k]
		lim.mu.Lock()
		n := 0
		if lim.suppressed > 0 && (final || now.Sub(lim.window) >= time.Second) {
			n = lim.suppressed
			lim.suppressed = 0
		}
		lim.mu.Unlock()
		if n > 0 {
			e.summary(logKind(k), n)
		}
	}
}

// run flushes every second until ctx is done.
func (e *eventLog) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.flush(false)
		}
	}
}

// errorClass is the class of a failed attempt, for the log.
func errorClass(a attemptResult) string {
	switch {
	case a.outcome == outcomeTimeout:
		return "timeout"
	case a.status >= 500:
		return "5xx"
	}
	return "transport"
}
