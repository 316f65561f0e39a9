package transport

// broadcast wakes every goroutine waiting for a change of some state
// guarded by a mutex. Both methods are called with that mutex held; waiters
// release it and then receive from the channel wait returned.
type broadcast struct {
	ch chan struct{} // closed on the next signal; nil while nobody waits
}

// wait returns a channel that is closed at the next signal.
func (b *broadcast) wait() <-chan struct{} {
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

// signal wakes every waiter.
func (b *broadcast) signal() {
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}
