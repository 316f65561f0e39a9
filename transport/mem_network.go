package transport

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
)

// DefaultMemBuffer is the number of bytes each direction of a [MemNetwork]
// connection buffers before a writer blocks.
const DefaultMemBuffer = 256 << 10

// memBacklog is how many dialed connections a MemNetwork listener queues
// before Accept; further dials wait for room.
const memBacklog = 128

// MemNetwork is an in-process network of named listeners, for tests and for
// nodes living in one process.
//
// Its connections behave like TCP on a perfect link: each direction buffers
// up to a fixed number of bytes ([DefaultMemBuffer] unless set with
// [WithMemBuffer]), so Write returns as soon as the bytes fit and blocks
// while the peer is not reading. Deadlines, Close, CloseWrite and CloseRead
// work as on a *net.TCPConn, and no goroutine runs per connection.
//
// The zero value is not usable; create one with [NewMemNetwork]. A
// MemNetwork is safe for concurrent use.
type MemNetwork struct {
	bufSize int

	mu        sync.Mutex
	listeners map[string]*memListener
	links     map[string]map[*memLink]struct{} // by listener name
	seq       uint64                           // numbers client endpoints
}

// MemOption configures a [MemNetwork].
type MemOption func(*MemNetwork)

// WithMemBuffer sets how many bytes each direction of a connection buffers
// before Write blocks. Values below 1 leave the default.
func WithMemBuffer(n int) MemOption {
	return func(m *MemNetwork) {
		if n > 0 {
			m.bufSize = n
		}
	}
}

// NewMemNetwork returns an empty in-memory network.
func NewMemNetwork(opts ...MemOption) *MemNetwork {
	m := &MemNetwork{
		bufSize:   DefaultMemBuffer,
		listeners: make(map[string]*memListener),
		links:     make(map[string]map[*memLink]struct{}),
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Listen starts accepting connections dialed to name. It fails with an error
// wrapping [ErrAddrInUse] if name already has a listener. Closing the
// listener frees the name and fails pending and later Accepts with
// net.ErrClosed; connections it had already accepted stay up.
func (m *MemNetwork) Listen(name string) (net.Listener, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, taken := m.listeners[name]; taken {
		return nil, &net.OpError{Op: "listen", Net: "mem", Addr: memAddr(name),
			Err: fmt.Errorf("%w: %q", ErrAddrInUse, name)}
	}
	l := &memListener{net: m, name: name}
	m.listeners[name] = l
	return l, nil
}

// Dialer returns a Dialer that connects to the listener named name. Dialing
// when no listener has that name fails at once with an error wrapping
// [ErrConnRefused]. Its String method returns "mem:" + name.
func (m *MemNetwork) Dialer(name string) Dialer {
	return &memDialer{net: m, name: name}
}

// Conns returns how many connections to the listener named name are live:
// dialed (accepted or still queued), not cut, and not yet closed at both
// ends.
func (m *MemNetwork) Conns(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.links[name])
}

// CutAll cuts every live connection to the listener named name, as if each
// link had died: bytes already written are still readable, then reads and
// writes at both ends fail with an error wrapping [ErrCut]. It returns how
// many connections it cut. The listener itself keeps accepting.
func (m *MemNetwork) CutAll(name string) int {
	m.mu.Lock()
	links := make([]*memLink, 0, len(m.links[name]))
	for l := range m.links[name] {
		links = append(links, l)
	}
	m.mu.Unlock()
	n := 0
	for _, l := range links {
		if l.cut(ErrCut) {
			n++
		}
	}
	return n
}

// dial connects a new client to the listener named name.
func (m *MemNetwork) dial(ctx context.Context, name string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, dialError(name, err)
	}
	m.mu.Lock()
	l := m.listeners[name]
	m.seq++
	client := memAddr("client-" + strconv.FormatUint(m.seq, 10) + "~" + name)
	m.mu.Unlock()
	if l == nil {
		return nil, dialError(name, fmt.Errorf("%w: no listener named %q", ErrConnRefused, name))
	}
	link := newMemLink(m, name, client, memAddr(name), m.bufSize)
	if err := l.enqueue(ctx, link); err != nil {
		return nil, dialError(name, err)
	}
	return link.client, nil
}

func dialError(name string, err error) error {
	return &net.OpError{Op: "dial", Net: "mem", Addr: memAddr(name), Err: err}
}

// track registers a link as live. It reports false if the listener has
// gone, in which case the link is not registered.
func (m *MemNetwork) track(l *memLink, owner *memListener) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listeners[l.name] != owner {
		return false
	}
	set := m.links[l.name]
	if set == nil {
		set = make(map[*memLink]struct{})
		m.links[l.name] = set
	}
	set[l] = struct{}{}
	return true
}

// forget removes a link from the registry.
func (m *MemNetwork) forget(l *memLink) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if set := m.links[l.name]; set != nil {
		delete(set, l)
		if len(set) == 0 {
			delete(m.links, l.name)
		}
	}
}

// unlisten frees name if l still holds it.
func (m *MemNetwork) unlisten(name string, l *memListener) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listeners[name] == l {
		delete(m.listeners, name)
	}
}

type memDialer struct {
	net  *MemNetwork
	name string
}

// Dial connects to the named listener; ctx bounds the wait when the
// listener's queue is full.
func (d *memDialer) Dial(ctx context.Context) (net.Conn, error) { return d.net.dial(ctx, d.name) }

// String returns "mem:" and the listener's name.
func (d *memDialer) String() string { return "mem:" + d.name }
