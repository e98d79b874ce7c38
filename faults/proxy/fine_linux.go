//go:build linux

package proxy

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// fineTimer sleeps the last stretch of a delay precisely. The Go runtime's
// timers wake through epoll_wait, whose timeout has millisecond granularity,
// so a plain timer overshoots by up to 1 ms; a timerfd in the same netpoller
// fires with the kernel's hrtimer precision (~50 µs slack) and still parks
// only the goroutine, not the thread.
type fineTimer struct {
	f   *os.File
	buf [8]byte
}

// sleep blocks for d (at most fineWindow); it falls back to a runtime timer
// if a timerfd cannot be had.
func (ft *fineTimer) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	if ft.f == nil {
		fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
		if err != nil {
			time.Sleep(d)
			return
		}
		ft.f = os.NewFile(uintptr(fd), "timerfd")
	}
	rc, err := ft.f.SyscallConn()
	if err != nil {
		time.Sleep(d)
		return
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
		serr = unix.TimerfdSettime(int(fd), 0, &spec, nil)
	}); err != nil || serr != nil {
		time.Sleep(d)
		return
	}
	if _, err := ft.f.Read(ft.buf[:]); err != nil {
		time.Sleep(d)
	}
}

func (ft *fineTimer) close() {
	if ft.f != nil {
		_ = ft.f.Close()
		ft.f = nil
	}
}
