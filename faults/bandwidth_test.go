package faults

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/e2etest"
)

func TestBandwidthLimitsThroughputAndRevertLiftsIt(t *testing.T) {
	b := newLinkBed(t)
	c := &http.Client{Timeout: 10 * time.Second}
	url := b.url("orders", "payment") + "/big" // 64 KiB
	before := e2etest.MedianGet(t, c, url, 5)
	f := mustNew(t, Spec{Name: "thin", Type: "bandwidth", Target: Target{Service: "payment"}, Params: map[string]string{"rate": "256KB"}}, b)
	if err := f.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	during, err := e2etest.TimedGet(c, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Revert(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := e2etest.MedianGet(t, c, url, 5)
	t.Logf("64KiB: before %v, at 256KB/s %v, after %v", before, during, after)
	// 65536 B at 256000 B/s is 256 ms.
	if during < 200*time.Millisecond || during > 600*time.Millisecond {
		t.Errorf("64KiB at 256KB/s took %v, want about 256ms", during)
	}
	if after > before+50*time.Millisecond {
		t.Errorf("after revert %v, before %v", after, before)
	}
}
