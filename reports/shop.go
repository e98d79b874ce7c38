package reports

// Shop summarises what the shop's own metrics said during the run (the
// `shop_*` series of docs/metrics.md), for comparisons of variants.
type Shop struct {
	// BreakerOpenSeconds is the time circuit breakers spent open over the
	// run, summed over breakers (two breakers open for 3 s count 6 s).
	BreakerOpenSeconds float64 `json:"breakerOpenSeconds"`
	// Faults has one entry per fault occurrence, in the order of Run.Faults.
	Faults []ShopFault `json:"faults,omitempty"`
}

// ShopFault is the shop's view of one fault occurrence.
type ShopFault struct {
	Fault string `json:"fault"`
	// RetryAmplification is attempts ÷ logical calls over every call edge
	// during the fault (1 = no retries); nil when no call was made.
	RetryAmplification *float64 `json:"retryAmplification"`
	// BreakerOpenSeconds is the breaker-seconds open during the fault.
	BreakerOpenSeconds float64 `json:"breakerOpenSeconds"`
}
