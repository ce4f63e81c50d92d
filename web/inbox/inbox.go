// Package inbox is the queue from browser callbacks to the goroutine that
// owns a program's state, used by the page (web/app) and by the sampling
// worker (web/engine): a callback posts and returns at once, the owner takes
// the messages in order.
package inbox

import "sync"

// Inbox is an ordered, unbounded queue from callbacks (DOM listeners, worker
// and window messages) to the goroutine that owns the state. Post never
// blocks, so a browser callback never waits on Go; messages come out in the
// order they were posted.
type Inbox struct {
	mu    sync.Mutex
	items []any
	ready chan struct{}
}

// New returns an empty inbox.
func New() *Inbox { return &Inbox{ready: make(chan struct{}, 1)} }

// Post queues msg.
func (b *Inbox) Post(msg any) {
	b.mu.Lock()
	b.items = append(b.items, msg)
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// Ready receives a value after a Post; then Take returns what is queued.
func (b *Inbox) Ready() <-chan struct{} { return b.ready }

// Take removes and returns every queued message, oldest first.
func (b *Inbox) Take() []any {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := b.items
	b.items = nil
	return items
}
