package proxy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// everyToxic is one value of each toxic type the proxy has, with every
// field set; a new type must be added here (and to Encode).
var everyToxic = []Toxic{
	Latency{Delay: 50 * time.Millisecond, Jitter: 5 * time.Millisecond, Direction: Upstream},
	Bandwidth{BytesPerSecond: 64 << 10, Direction: Both},
	Loss{Probability: 0.25, Mode: DropConnection},
	Loss{Probability: 0.5, Mode: Blackhole},
	Reset{Probability: 0.1},
	Partition{Mode: Blackhole},
	Partition{Mode: Refuse},
	Corrupt{Probability: 0.01, Direction: Downstream},
}

func TestEveryToxicSurvivesTheWire(t *testing.T) {
	types := map[string]bool{}
	for _, tx := range everyToxic {
		s, err := Encode(tx)
		if err != nil {
			t.Fatalf("encode %#v: %v", tx, err)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Spec
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		got, err := back.Toxic()
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if !reflect.DeepEqual(got, tx) {
			t.Errorf("%s: round trip gave %#v, want %#v", b, got, tx)
		}
		types[tx.Type()] = true
	}
	for _, want := range []string{"latency", "bandwidth", "loss", "reset", "partition", "corrupt"} {
		if !types[want] {
			t.Errorf("no %s in everyToxic", want)
		}
	}
}

func TestABadSpecSaysWhatIsAllowed(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Type: "jam"}, `toxic "jam": unknown type (known: latency, bandwidth, loss, reset, partition, corrupt)`},
		{Spec{Type: "latency", Delay: "50ms"}, `toxic "latency": direction is required (upstream, downstream or both)`},
		{Spec{Type: "latency", Direction: "sideways", Delay: "50ms"}, `toxic "latency": direction "sideways": want upstream, downstream or both`},
		{Spec{Type: "latency", Direction: "both", Delay: "fast"}, `toxic "latency": delay "fast" is not a duration such as 50ms`},
		{Spec{Type: "latency", Direction: "both"}, `latency: delay or jitter must be positive`},
		{Spec{Type: "loss", Probability: 0.1}, `toxic "loss": mode "": want drop-connection or blackhole`},
		{Spec{Type: "partition", Mode: "cut"}, `toxic "partition": mode "cut": want blackhole or refuse`},
		{Spec{Type: "reset", Probability: 2}, `probability 2 not in [0,1]`},
	} {
		_, err := tc.spec.Toxic()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.spec, err, tc.want)
		}
	}
	if _, err := Encode(nil); err == nil {
		t.Error("encoded a nil toxic")
	}
}
