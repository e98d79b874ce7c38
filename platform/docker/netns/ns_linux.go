//go:build linux

package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs f on a goroutine of its own whose OS thread is locked and switched
// into n, and returns f's error. The thread is switched back afterwards; if
// that fails, the goroutine ends with the thread still locked, so the Go
// runtime ends the thread instead of reusing it in the wrong namespace. A
// panic in f is raised again in the caller.
//
// Only what f does on its own goroutine happens inside n: goroutines it
// starts run on other threads, in the harness's namespace. A socket, once
// created, stays in the namespace it was created in, whichever thread uses it.
func (n NS) Do(f func() error) error {
	target, err := os.Open(n.Path)
	if err != nil {
		return fmt.Errorf("netns %s: %w", n.Path, err)
	}
	defer target.Close()

	type result struct {
		err      error
		panicked bool
		value    any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		origin, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("netns %s: own namespace: %w", n.Path, err)}
			return
		}
		defer origin.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread() // setns failed: the thread did not move
			done <- result{err: fmt.Errorf("netns %s: setns: %w", n.Path, err)}
			return
		}
		var r result
		func() {
			defer func() {
				if v := recover(); v != nil {
					r.panicked, r.value = true, v
				}
			}()
			r.err = f()
		}()
		if err := unix.Setns(int(origin.Fd()), unix.CLONE_NEWNET); err != nil {
			// Stay locked: the runtime ends this thread with the goroutine.
			r.err = errors.Join(r.err, fmt.Errorf("netns %s: switch back: %w", n.Path, err))
			done <- r
			return
		}
		runtime.UnlockOSThread()
		done <- r
	}()
	r := <-done
	if r.panicked {
		panic(r.value)
	}
	return r.err
}

// Listen opens a TCP listener inside n on addr ("127.0.0.1:0": the
// namespace's own loopback). The host part must be an IP address or empty
// (names would be resolved outside n). The listener is usable from any
// goroutine.
func (n NS) Listen(ctx context.Context, addr string) (net.Listener, error) {
	if err := literal(addr, true); err != nil {
		return nil, fmt.Errorf("netns %s: listen: %w", n.Path, err)
	}
	var ln net.Listener
	err := n.Do(func() error {
		var lc net.ListenConfig
		var err error
		ln, err = lc.Listen(ctx, "tcp", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("netns %s: listen %s: %w", n.Path, addr, err)
	}
	return ln, nil
}

// DialContext connects to addr from inside n (network "tcp", "tcp4" or
// "tcp6"); its signature is that of net.Dialer.DialContext, so it can be
// given to proxy.WithDialer. addr's host must be an IP address. The thread
// stays in n until the dial has returned (Go creates and connects the socket
// on the calling thread, then parks); ctx bounds the dial.
func (n NS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := literal(addr, false); err != nil {
		return nil, fmt.Errorf("netns %s: dial: %w", n.Path, err)
	}
	var c net.Conn
	err := n.Do(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("netns %s: dial %s: %w", n.Path, addr, err)
	}
	return c, nil
}

// same reports whether the files at a and b are the same namespace.
func same(a, b string) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Stat(a, &sa); err != nil {
		return false, err
	}
	if err := unix.Stat(b, &sb); err != nil {
		return false, err
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}
