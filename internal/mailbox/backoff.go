package mailbox

import (
	"math/rand/v2"
	"time"
)

// backoff computes delays between attempts: exponential from min to max,
// each drawn uniformly from [d/2, d] ("equal jitter") so that several
// pollers that lost the same server do not come back in step.
type backoff struct {
	min, max time.Duration
	attempt  int
}

// next returns the delay before the next attempt and counts the attempt.
// When limited is true (the server refused us for too many connections)
// the delay is at least twice max: coming back quickly would only take a
// slot another client needs.
func (b *backoff) next(limited bool) time.Duration {
	d := b.min
	for i := 0; i < b.attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	b.attempt++
	if limited {
		d = max(d, 2*b.max)
	}
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// reset starts over from min, after a session that worked.
func (b *backoff) reset() { b.attempt = 0 }
