// Package metrics is gameday's Prometheus side: an embedded Prometheus (the
// real TSDB, scrape manager, rules manager and PromQL engine used as a
// library), a client for a user's remote Prometheus, the default recording
// rules over the load generator's client metrics, and the SLO semantics every
// verdict depends on (end-of-window and continuous checks, baseline-relative
// bounds, recovery time, abort conditions).
//
// Both the embedded and the remote Prometheus are reached through the small
// Querier interface, so SLO evaluation does not know which one it talks to.
package metrics
