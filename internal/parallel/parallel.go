// Package parallel runs work on many items with a bound on how many run at
// once: fleets, the store checks of every web server, doctor's clocks.
package parallel

import (
	"context"
	"sync"
)

// ForEach runs f for every item with at most n at once; each item costs only
// its own time.
func ForEach[T any](ctx context.Context, items []T, n int, f func(context.Context, T)) {
	if n < 1 {
		n = 1
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func(it T) {
			defer wg.Done()
			defer func() { <-sem }()
			f(ctx, it)
		}(it)
	}
	wg.Wait()
}
