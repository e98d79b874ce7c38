package e2etest

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"
)

// TimedGet sends GET url, reads the whole body and returns how long that
// took; a status other than 200 is an error.
func TimedGet(c *http.Client, url string) (time.Duration, error) {
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return time.Since(start), err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return time.Since(start), err
}

// MedianGet is the median time of n TimedGets of url; any failure ends the
// test.
func MedianGet(t testing.TB, c *http.Client, url string, n int) time.Duration {
	t.Helper()
	ds := make([]time.Duration, n)
	for i := range ds {
		d, err := TimedGet(c, url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		ds[i] = d
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[n/2]
}
