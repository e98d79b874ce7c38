package plantext

// The experiments name runtimes: validation asks the registry for them.
import _ "github.com/gameday/gameday/platform/runtimes"
