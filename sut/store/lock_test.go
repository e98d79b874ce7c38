package store

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A clean Close leaves no lock file behind, whichever replica closes last.
func TestCloseRemovesTheLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	a, err := Open(path, true, "c")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(path, true, "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".lock"); err != nil {
		t.Fatalf("lock file while open: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// b goes on working: it locks the path again, recreating the file.
	if err := b.Update(context.Background(), incr); err != nil {
		t.Fatal(err)
	}
	if got := read(t, b); got != 1 {
		t.Fatalf("counter %d, want 1", got)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after Close: lock file still there (stat: %v)", err)
	}
}

// A replica that keeps its descriptor on a lock file another replica
// removed must not lock the removed file: it would exclude nobody, and a
// replica started afterwards (locking the new file) would run at the same
// time. Here b waits while c is in a transaction; without the check b's
// lock on the removed file succeeds at once and bbolt's own lock on the
// database refuses it after its one-second timeout.
func TestARemovedLockFileIsNotLockedAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	a, err := Open(path, true, "c")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(path, true, "c")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Close(); err != nil { // removes the file b still holds open
		t.Fatal(err)
	}
	c, err := Open(path, true, "c") // creates a new lock file
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inTx, release := make(chan struct{}), make(chan struct{})
	cDone := make(chan error, 1)
	go func() {
		cDone <- c.Update(context.Background(), func(tx *bolt.Tx) error {
			select {
			case <-inTx:
			default:
				close(inTx)
			}
			<-release
			return incr(tx)
		})
	}()
	<-inTx
	bDone := make(chan error, 1)
	go func() { bDone <- b.Update(context.Background(), incr) }()
	select {
	case err := <-bDone:
		close(release)
		t.Fatalf("b's write ended while c held the lock: %v", err)
	case <-time.After(1500 * time.Millisecond): // longer than bbolt's own 1 s lock timeout
	}
	close(release)
	if err := <-cDone; err != nil {
		t.Fatal(err)
	}
	if err := <-bDone; err != nil {
		t.Fatalf("b after c: %v", err)
	}
	if got := read(t, b); got != 2 {
		t.Fatalf("counter %d, want 2", got)
	}
}

// The child of TestAKilledReplicasLockIsReleased: it opens the store shared
// and stays inside a write transaction (holding the lock) until killed.
func TestHelperHoldLock(t *testing.T) {
	path := os.Getenv("STORE_TEST_HOLD_LOCK")
	if path == "" {
		t.Skip("helper process only")
	}
	d, err := Open(path, true, "c")
	if err != nil {
		t.Fatal(err)
	}
	_ = d.Update(context.Background(), func(tx *bolt.Tx) error {
		os.Stdout.WriteString("locked\n")
		time.Sleep(10 * time.Minute) // until SIGKILL (a bare select{} could read as a deadlock)
		return nil
	})
}

// A replica killed with SIGKILL in the middle of a transaction leaves its
// lock file, but the kernel releases the lock: the next replica opens the
// store and writes.
func TestAKilledReplicasLockIsReleased(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$", "-test.v")
	cmd.Env = append(os.Environ(), "STORE_TEST_HOLD_LOCK="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	locked := false
	for !locked && sc.Scan() {
		locked = strings.HasPrefix(sc.Text(), "locked")
	}
	if !locked {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the child never took the lock: %v", sc.Err())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if _, err := os.Stat(path + ".lock"); err != nil {
		t.Fatalf("a killed replica's lock file: %v (it cannot remove it)", err)
	}
	d, err := Open(path, true, "c")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Update(ctx, incr); err != nil {
		t.Fatalf("write after the kill: %v", err)
	}
	if got := read(t, d); got != 1 {
		t.Fatalf("counter %d, want 1 (the killed transaction must not have committed)", got)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after Close: lock file still there (stat: %v)", err)
	}
}
