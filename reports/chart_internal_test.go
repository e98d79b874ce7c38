package reports

import (
	"strconv"
	"testing"
)

// TestRatioAxisStopsAtOne: an availability chart's axis ends at 1 (100 %),
// not at 1.005 because the padding above the highest value ran past it.
func TestRatioAxisStopsAtOne(t *testing.T) {
	for _, unit := range []string{UnitRatio, UnitPercent} {
		c := Check{Name: "availability", Bound: ">= 0.99", Unit: unit, WindowStart: 0, WindowEnd: 10,
			Series: []Point{{T: 0, V: 0.991}, {T: 5, V: 1}, {T: 10, V: 0.998}}}
		ch := sliChart(&Run{DurationSeconds: 10}, c, 0)
		if len(ch.YTicks) == 0 {
			t.Fatalf("%s: no y ticks", unit)
		}
		for _, tk := range ch.YTicks {
			v, err := strconv.ParseFloat(tk.Label, 64)
			if err != nil {
				t.Fatalf("%s: tick label %q: %v", unit, tk.Label, err)
			}
			if v > 1 {
				t.Errorf("%s: y axis runs to %s, past 1", unit, tk.Label)
			}
		}
	}
}
