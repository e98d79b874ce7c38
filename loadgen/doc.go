package loadgen

// How a request is timed (open model):
//
//	pacer (pure function of the stages) → intended time t₀ of arrival n
//	scheduler sleeps until t₀ (timerfd, ~20 µs precision), records its lag
//	hands {t₀, n, seed, request} to an idle worker (a new one, up to
//	Config.Connections, if none is idle); each worker owns its keep-alive
//	connections and a render buffer
//	worker: start = now; write the request bytes; read the answer; end = now
//	corrected = end − t₀ (includes any queueing in the client)
//	uncorrected = end − start (service time)
//
// Workers record into per-processor shards (a mutex nobody else holds but
// the collector, once per interval); the collector swaps each shard's data
// for an empty one and merges outside the lock, so recording allocates
// nothing and memory grows with intervals × request names only.
