//go:build !unix

package wizard

import "time"

var processStart = time.Now()

// cpuTime falls back to the clock where getrusage is missing.
func cpuTime() time.Duration { return time.Since(processStart) }
