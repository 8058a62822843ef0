package publish

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"
)

// maxFanOut bounds the goroutines of one fan-out: a level of a walk with
// thousands of entries runs that many at a time, not one goroutine each
// waiting for the registry client's request limit.
const maxFanOut = 32

// fanOut runs fn(ctx, i) for each i in [0, n), at most maxFanOut at once.
// The first failure cancels the context the others run with (each stops
// at its next request) and is the error returned: for work where one
// failure fails the whole (copies, writes).
func fanOut(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(min(n, maxFanOut))
	for i := range n {
		g.Go(func() error { return fn(ctx, i) })
	}
	return g.Wait()
}

// fanOutAll runs fn(ctx, i) for each i in [0, n), at most maxFanOut at
// once, and joins every failure in order: for work whose every failure is
// reported (each failing source, each damaged entry), where none stops
// the others.
func fanOutAll(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	errs := make([]error, n)
	var g errgroup.Group
	g.SetLimit(max(1, min(n, maxFanOut)))
	for i := range n {
		g.Go(func() error {
			errs[i] = fn(ctx, i)
			return nil
		})
	}
	_ = g.Wait() // every fn returns nil to the group: the errors are in errs
	return errors.Join(errs...)
}
