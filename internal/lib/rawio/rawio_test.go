package rawio

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// pair returns a wrapped server side (accepted through Listener) and a plain
// client side of one loopback TCP connection.
func pair(t *testing.T) (wrapped, plain net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := Listener{ln}.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	plain, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	wrapped = <-accepted
	if wrapped == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { wrapped.Close(); plain.Close() })
	return wrapped, plain
}

func TestWrapIsRawOnLinux(t *testing.T) {
	w, _ := pair(t)
	_, isRaw := w.(*Conn)
	if isRaw != (runtime.GOOS == "linux") {
		t.Fatalf("accepted %T on %s", w, runtime.GOOS)
	}
}

func TestReadWriteBothWays(t *testing.T) {
	w, p := pair(t)
	big := make([]byte, 4<<20) // beyond the socket buffers: Write must wait for the reader
	for i := range big {
		big[i] = byte(i * 7)
	}
	errc := make(chan error, 1)
	go func() {
		n, err := w.Write(big)
		if err == nil && n != len(big) {
			err = io.ErrShortWrite
		}
		errc <- err
	}()
	got := make([]byte, len(big))
	if _, err := io.ReadFull(p, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	for i := range got {
		if got[i] != big[i] {
			t.Fatalf("byte %d: got %d, want %d", i, got[i], big[i])
		}
	}
	if _, err := p.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, err := io.ReadAtLeast(w, buf, 4)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
}

func TestEOFAfterPeerHalfClose(t *testing.T) {
	w, p := pair(t)
	if err := p.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("read after the peer's FIN: %d, %v (want 0, EOF)", n, err)
	}
	// The wrapper's own CloseWrite is the TCPConn's: the peer sees EOF too.
	if cw, ok := w.(interface{ CloseWrite() error }); !ok {
		t.Fatalf("%T has no CloseWrite", w)
	} else if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("peer read after CloseWrite: %d, %v", n, err)
	}
}

func TestDeadlineIsATimeoutOpError(t *testing.T) {
	w, _ := pair(t)
	if err := w.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, err := w.Read(make([]byte, 8))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v (%T), want a timeout", err, err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "read" {
		t.Fatalf("read past the deadline: %T, want *net.OpError{Op: read}", err)
	}
}

func TestReadAfterCloseIsErrClosed(t *testing.T) {
	w, _ := pair(t)
	done := make(chan error, 1)
	go func() {
		_, err := w.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond) // let the read park; either way it must end with ErrClosed
	w.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read on a closed conn: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a parked read did not end when the conn was closed")
	}
}

// Two goroutines writing at once each get their whole buffer out in one
// piece (the second takes the slow path while the first holds the socket).
func TestConcurrentWritesDoNotInterleave(t *testing.T) {
	w, p := pair(t)
	const size = 1 << 20
	blocks := [][]byte{make([]byte, size), make([]byte, size)}
	for i := range blocks[1] {
		blocks[0][i], blocks[1][i] = 'a', 'b'
	}
	errc := make(chan error, 2)
	for _, b := range blocks {
		go func() { _, err := w.Write(b); errc <- err }()
	}
	got := make([]byte, 2*size)
	if _, err := io.ReadFull(p, got); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	for _, half := range [][]byte{got[:size], got[size:]} {
		for i := range half {
			if half[i] != half[0] {
				t.Fatalf("writes interleaved: byte %d of a block is %q, its first %q", i, half[i], half[0])
			}
		}
	}
}

func TestReadAndWriteDoNotAllocate(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("raw I/O is Linux only")
	}
	w, p := pair(t)
	msg, buf := []byte("0123456789"), make([]byte, 64)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := w.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(p, buf[:len(msg)]); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(w, buf[:len(msg)]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per write and read round, want 0", allocs)
	}
}
