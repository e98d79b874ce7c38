package loadgen

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal of cols×rows (a new one is 0×0) and
// returns its slave side, which is what the progress writes to, and a
// function that closes the slave and returns everything written to it, read
// from the master.
func openPTY(t *testing.T, cols, rows uint16) (*os.File, func() string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	// ioctls through the raw conn: Fd() would make m blocking, and the
	// reader below could not be stopped by Close.
	var n uint32
	if err := control(m, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return fmt.Errorf("unlock: %w", err)
		}
		n, err = unix.IoctlGetUint32(fd, unix.TIOCGPTN)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if cols > 0 || rows > 0 {
		if err := control(s, func(fd int) error {
			return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows})
		}); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(&out, m) // ends with EIO once the slave is closed and drained
	}()
	t.Cleanup(func() { m.Close(); <-done })
	return s, func() string {
		s.Close()
		<-done
		return out.String()
	}
}

func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// TestProgressZeroSizeTerminal: on a terminal that reports 0×0 (a pty
// nobody sized: some CI runners, `docker run -t`, script(1)) a bar would
// render no row at all for the whole run; the progress falls back to one
// line per interval.
func TestProgressZeroSizeTerminal(t *testing.T) {
	tty, output := openPTY(t, 0, 0)
	p := NewProgress(tty, true, 10*time.Second)
	p.Update(testInterval(time.Second))
	p.Update(testInterval(2 * time.Second))
	p.Close()
	out := output()
	for _, want := range []string{"[1s / 10s] 100/s (target 120/s)", "[2s / 10s] 100/s (target 120/s)", "errors 5.00%"} {
		if !strings.Contains(out, want) {
			t.Errorf("0×0 terminal got %q, want a line with %q", out, want)
		}
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("0×0 terminal got %d lines, want one per interval: %q", n, out)
	}
}

// TestProgressSizedTerminal: a terminal with a size still gets the bar.
func TestProgressSizedTerminal(t *testing.T) {
	tty, output := openPTY(t, 100, 30)
	p := NewProgress(tty, true, 10*time.Second)
	p.Update(testInterval(5 * time.Second))
	p.Close()
	out := output()
	if !strings.Contains(out, "5s / 10s") || !strings.Contains(out, "target 120/s") || strings.Contains(out, "[5s / 10s]") {
		t.Errorf("100×30 terminal got %q, want the bar (not the plain line)", out)
	}
}
