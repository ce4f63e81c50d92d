package inbox

import (
	"slices"
	"sync"
	"testing"
)

// Posts from many goroutines never block, and each poster's messages come
// out in its order.
func TestInboxOrder(t *testing.T) {
	b := New()
	const posters, each = 4, 1000
	var wg sync.WaitGroup
	for p := range posters {
		wg.Go(func() {
			for i := range each {
				b.Post([2]int{p, i})
			}
		})
	}
	wg.Wait()
	<-b.Ready()
	got := b.Take()
	if len(got) != posters*each {
		t.Fatalf("took %d messages, want %d", len(got), posters*each)
	}
	next := make([]int, posters)
	for _, m := range got {
		pi := m.([2]int)
		if pi[1] != next[pi[0]] {
			t.Fatalf("poster %d: got message %d, want %d", pi[0], pi[1], next[pi[0]])
		}
		next[pi[0]]++
	}
	if b.Take() != nil {
		t.Error("second Take not empty")
	}
	b.Post("x")
	<-b.Ready()
	if got := b.Take(); !slices.Equal(got, []any{"x"}) {
		t.Errorf("Take = %v", got)
	}
}
