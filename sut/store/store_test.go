package store

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func incr(tx *bolt.Tx) error {
	b := tx.Bucket([]byte("c"))
	var n uint64
	if v := b.Get([]byte("n")); v != nil {
		n = binary.BigEndian.Uint64(v)
	}
	return b.Put([]byte("n"), binary.BigEndian.AppendUint64(nil, n+1))
}

func read(t *testing.T, d *DB) uint64 {
	t.Helper()
	var n uint64
	if err := d.View(context.Background(), func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte("c")).Get([]byte("n")); v != nil {
			n = binary.BigEndian.Uint64(v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// Two handles on one file stand for two replica processes (flock locks
// conflict between open file descriptions, in one process or not).
func TestSharedStoreSerialisesWritersAndSurvivesReopen(t *testing.T) {
	for _, shared := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "s.db")
		handles := 1
		if shared {
			handles = 2
		}
		var dbs []*DB
		for i := 0; i < handles; i++ {
			d, err := Open(path, shared, "c")
			if err != nil {
				t.Fatal(err)
			}
			dbs = append(dbs, d)
		}
		var wg sync.WaitGroup
		for _, d := range dbs {
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 25; i++ {
						if err := d.Update(context.Background(), incr); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
		}
		wg.Wait()
		want := uint64(handles * 8 * 25)
		for _, d := range dbs {
			if got := read(t, d); got != want {
				t.Fatalf("shared=%v: counter %d, want %d (lost updates)", shared, got, want)
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
		}
		d, err := Open(path, false, "c")
		if err != nil {
			t.Fatal(err)
		}
		if got := read(t, d); got != want {
			t.Fatalf("after reopen: %d, want %d", got, want)
		}
		d.Close()
	}
}

func TestGroupCommitIsolatesAFailingWrite(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "s.db"), true, "c")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.Update(context.Background(), func(tx *bolt.Tx) error {
				if err := incr(tx); err != nil {
					return err
				}
				if i%10 == 0 {
					return boom // after writing: its write must be rolled back
				}
				return nil
			})
		}()
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if (i%10 == 0) != errors.Is(err, boom) {
			t.Fatalf("write %d: err %v", i, err)
		}
		if err != nil {
			failed++
		}
	}
	if got := read(t, d); got != uint64(40-failed) {
		t.Fatalf("counter %d, want %d: a failed write leaked or a good one was lost", got, 40-failed)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Update(context.Background(), incr); !errors.Is(err, errClosed) {
		t.Fatalf("update after close: %v", err)
	}
}
