package experiments

// Validation checks spec.runtime and each fault's support against the
// platform registry; the tests see the runtimes a gameday binary ships.
import _ "github.com/gameday/gameday/platform/runtimes"
