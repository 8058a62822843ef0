package publish

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestMemoOncePerDigest(t *testing.T) {
	t.Parallel()
	var m memo[int]
	var calls atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			v, err := m.do(context.Background(), "sha256:a", func() (int, error) {
				calls.Add(1)
				return 7, nil
			})
			if v != 7 || err != nil {
				t.Errorf("got %d, %v", v, err)
			}
		})
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Errorf("%d calls", calls.Load())
	}
	// A failure is not remembered.
	boom := errors.New("boom")
	if _, err := m.do(context.Background(), "sha256:b", func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if v, err := m.do(context.Background(), "sha256:b", func() (int, error) { return 3, nil }); v != 3 || err != nil {
		t.Errorf("after a failure: %d, %v", v, err)
	}
	m.put("sha256:c", 9)
	if v, _ := m.do(context.Background(), "sha256:c", func() (int, error) { return 0, boom }); v != 9 {
		t.Errorf("put value not used: %d", v)
	}
}
