package client

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestAdminFaultJSON(t *testing.T) {
	f := AdminFault{Kind: KindDelay, Edge: "payment", Delay: 800 * time.Millisecond, Jitter: 100 * time.Millisecond, Percent: 50}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"delay":"800ms"`) || !strings.Contains(string(data), `"jitter":"100ms"`) {
		t.Fatalf("durations not written as strings: %s", data)
	}
	var back AdminFault
	if err := json.Unmarshal(data, &back); err != nil || back != f {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	if err := json.Unmarshal([]byte(`{"kind":"delay","edge":"x","delay":"soon"}`), &back); err == nil {
		t.Fatal("bad duration accepted")
	}
	if err := json.Unmarshal([]byte(`{"kind":"delay","edge":"x","delay":"1s","typo":1}`), &back); err == nil {
		t.Fatal("unknown field accepted")
	}
}

func TestAdminFaultValidate(t *testing.T) {
	for _, tc := range []struct {
		f    AdminFault
		want string
	}{
		{AdminFault{Kind: "drop", Operation: "charge"}, "fault kind"},
		{AdminFault{Kind: KindAbort}, "exactly one"},
		{AdminFault{Kind: KindAbort, Operation: "a", Edge: "b"}, "exactly one"},
		{AdminFault{Kind: KindAbort, Operation: "a", Percent: 150}, "percent"},
		{AdminFault{Kind: KindAbort, Operation: "a", Status: 42}, "status"},
		{AdminFault{Kind: KindDelay, Operation: "a"}, "positive delay"},
	} {
		if err := tc.f.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.f, err, tc.want)
		}
	}
	if err := (AdminFault{Kind: KindError, Operation: "charge", Percent: 30}).Validate(); err != nil {
		t.Errorf("valid fault refused: %v", err)
	}
}
