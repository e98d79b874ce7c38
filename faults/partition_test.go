package faults

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/e2etest"
)

func TestPartitionCutsExactlyTheEdgesBetweenGroups(t *testing.T) {
	b := newLinkBed(t)
	c := &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	cases := []struct {
		name   string
		target Target
		cut    []Edge
	}{
		{"groups", Target{Groups: [][]string{{"gateway"}, {"orders", "payment"}}}, []Edge{{"gateway", "orders"}}},
		{"isolate", Target{Service: "orders"}, []Edge{{"gateway", "orders"}, {"orders", "payment"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := mustNew(t, Spec{Name: tc.name, Type: "partition", Target: tc.target}, b)
			if err := f.Inject(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, e := range b.edges {
				_, err := e2etest.TimedGet(c, b.url(e.From, e.To))
				shouldCut := false
				for _, x := range tc.cut {
					shouldCut = shouldCut || x == e
				}
				if shouldCut != (err != nil) {
					t.Errorf("edge %s→%s: error %v, cut %v", e.From, e.To, err, shouldCut)
				}
			}
			if err := f.Revert(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, e := range b.edges {
				if _, err := e2etest.TimedGet(c, b.url(e.From, e.To)); err != nil {
					t.Errorf("after revert %s→%s: %v", e.From, e.To, err)
				}
			}
		})
	}
}
