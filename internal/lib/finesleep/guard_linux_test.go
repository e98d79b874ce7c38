package finesleep

import (
	"testing"
	"time"
)

// If the netpoller never delivers the timer's wake-up, a sleep still ends
// shortly after its deadline (the read-deadline safety net), instead of
// hanging. The wake-up is made to go missing by arming another timerfd than
// the one the sleep waits on.
func TestALostWakeUpEndsTheSleepSoonAfterItsDeadline(t *testing.T) {
	tm, err := New()
	if err != nil {
		t.Fatal(err)
	}
	other, err := New()
	if err != nil {
		t.Fatal(err)
	}
	own := tm.fd
	tm.fd = other.fd // arm() now sets a timer nobody waits on
	defer func() { tm.fd = own; tm.Close(); other.Close() }()

	const d = time.Millisecond
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		if err := tm.Sleep(d); err != nil {
			t.Error(err)
		}
		done <- time.Since(start)
	}()
	select {
	case took := <-done:
		if took < d {
			t.Fatalf("the sleep of %v ended after %v", d, took)
		}
		t.Logf("a sleep of %v whose wake-up was lost took %v", d, took)
	case <-time.After(10 * time.Second):
		t.Fatal("a sleep whose wake-up was lost did not end")
	}
}
