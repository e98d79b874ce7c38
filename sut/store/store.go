// Package store is the shop's durable state: a bbolt file per service, written
// and fsynced before a service acknowledges. Replicas of one service share the
// file (like replicas sharing a database): in shared mode each commit takes an
// exclusive lock on a sidecar lock file, opens the database, runs, commits and
// closes it again, so that any number of processes can take turns. A process
// killed with SIGKILL loses its lock with its life (the kernel releases a
// flock with the last descriptor); a clean Close also removes the lock file,
// under the lock, and a process that then finds its descriptor no longer
// names the file at the path opens the path again (see lockFile).
//
// Writes are group-committed: the write transactions that arrive while a
// commit is under way are run together in the next one (one fsync for all),
// without any added delay when the store is idle.
package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DB is one service's store.
type DB struct {
	path   string
	shared bool

	mu   sync.Mutex // serialises this process's use of the file in shared mode
	db   *bolt.DB   // held open when not shared
	lock *os.File   // the lock file, shared mode only

	writes chan *write // to the committer
	stop   chan struct{}
	done   chan struct{}
	closed sync.Once
}

type write struct {
	fn  func(tx *bolt.Tx) error
	err chan error
}

// Open opens (creating if needed) the store at path with the given buckets.
// shared says whether other processes (replicas) use the same file.
func Open(path string, shared bool, buckets ...string) (*DB, error) {
	d := &DB{path: path, shared: shared, writes: make(chan *write, 1024), stop: make(chan struct{}), done: make(chan struct{})}
	if shared {
		f, err := openLock(path)
		if err != nil {
			return nil, err
		}
		d.lock = f
	} else {
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
		d.db = db
	}
	go d.committer()
	err := d.Update(context.Background(), func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return fmt.Errorf("bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

// Close stops the committer (after the writes already queued) and closes the store.
func (d *DB) Close() error {
	var errs []error
	d.closed.Do(func() {
		close(d.stop)
		<-d.done
		if d.db != nil {
			errs = append(errs, d.db.Close())
		}
		if d.lock != nil {
			errs = append(errs, d.removeLock())
		}
	})
	return errors.Join(errs...)
}

func openLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store lock %s: %w", path, err)
	}
	return f, nil
}

// removeLock removes the lock file while holding the lock, then closes it.
// Another process that waits on the same file gets the lock next, sees that
// the path no longer names it and opens (creates) the path again, so every
// process still locks one and the same file.
func (d *DB) removeLock() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	if err := d.flock(); err != nil {
		errs = append(errs, err)
	} else if err := os.Remove(d.lock.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove store lock: %w", err))
	}
	errs = append(errs, d.lock.Close())
	return errors.Join(errs...)
}

var errClosed = errors.New("store closed")

// Update runs fn in a read-write transaction and returns once it is
// committed and synced. fn may be run more than once (when a transaction it
// was grouped with fails, the others are run again without it), so it must
// set its results from what it reads each time.
func (d *DB) Update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &write{fn: fn, err: make(chan error, 1)}
	select {
	case d.writes <- w:
	case <-d.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the write is waited for: returning early would leave the
	// caller unsure whether it was committed. A write queued after the
	// committer stopped is never run.
	select {
	case err := <-w.err:
		return err
	case <-d.done:
		select {
		case err := <-w.err:
			return err
		default:
			return errClosed
		}
	}
}

// View runs fn in a read-only transaction.
func (d *DB) View(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.with(func(db *bolt.DB) error { return db.View(fn) })
}

// committer owns the write path: it takes every queued write and commits
// them in one transaction.
func (d *DB) committer() {
	defer close(d.done)
	for {
		var first *write
		select {
		case first = <-d.writes:
		case <-d.stop:
			for {
				select {
				case w := <-d.writes:
					d.commit([]*write{w})
				default:
					return
				}
			}
		}
		batch := []*write{first}
	drain:
		for len(batch) < 256 {
			select {
			case w := <-d.writes:
				batch = append(batch, w)
			default:
				break drain
			}
		}
		d.commit(batch)
	}
}

type batchError struct {
	index int
	err   error
}

func (e *batchError) Error() string { return e.err.Error() }

// commit runs the batch in one transaction; if one write fails, it gets its
// error and the others are committed again without it.
func (d *DB) commit(batch []*write) {
	for len(batch) > 0 {
		err := d.with(func(db *bolt.DB) error {
			return db.Update(func(tx *bolt.Tx) error {
				for i, w := range batch {
					if err := w.fn(tx); err != nil {
						return &batchError{index: i, err: err}
					}
				}
				return nil
			})
		})
		var be *batchError
		if errors.As(err, &be) {
			batch[be.index].err <- be.err
			batch = append(batch[:be.index:be.index], batch[be.index+1:]...)
			continue
		}
		for _, w := range batch {
			w.err <- err
		}
		return
	}
}

func (d *DB) with(fn func(db *bolt.DB) error) error {
	if !d.shared {
		return fn(d.db)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.flock(); err != nil {
		return err
	}
	defer func() { _ = syscall.Flock(int(d.lock.Fd()), syscall.LOCK_UN) }()
	db, err := bolt.Open(d.path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("open store %s: %w", d.path, err)
	}
	ferr := fn(db)
	if cerr := db.Close(); cerr != nil && ferr == nil {
		ferr = fmt.Errorf("close store %s: %w", d.path, cerr)
	}
	return ferr
}

// flock takes the exclusive lock. It blocks in the kernel, which wakes the
// waiters of every process (polling with LOCK_NB lets the process that holds
// the lock starve the others). The wait is bounded by the other processes'
// transactions, which are short. Once locked, the descriptor must still name
// the file at the path: a replica that closed cleanly removed it (holding
// the lock), so a lock on the removed file excludes nobody; then the path is
// opened again (created if need be) and locked instead. The check is one
// fstat and one stat per transaction.
func (d *DB) flock() error {
	for {
		err := syscall.Flock(int(d.lock.Fd()), syscall.LOCK_EX)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("lock store %s: %w", d.path, err)
		}
		same, err := d.lockIsCurrent()
		if err != nil {
			_ = syscall.Flock(int(d.lock.Fd()), syscall.LOCK_UN)
			return err
		}
		if same {
			return nil
		}
		f, err := openLock(d.path)
		if err != nil {
			_ = syscall.Flock(int(d.lock.Fd()), syscall.LOCK_UN)
			return err
		}
		_ = d.lock.Close() // releases the lock on the removed file
		d.lock = f
	}
}

// lockIsCurrent reports whether the held descriptor is the file at the path.
func (d *DB) lockIsCurrent() (bool, error) {
	var held, named syscall.Stat_t
	if err := syscall.Fstat(int(d.lock.Fd()), &held); err != nil {
		return false, fmt.Errorf("lock store %s: %w", d.path, err)
	}
	if err := syscall.Stat(d.lock.Name(), &named); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return false, nil
		}
		return false, fmt.Errorf("lock store %s: %w", d.path, err)
	}
	return held.Dev == named.Dev && held.Ino == named.Ino, nil
}
