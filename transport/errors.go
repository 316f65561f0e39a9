package transport

import "errors"

// ErrConnRefused reports that nothing accepts connections at the dialed
// address: no listener has that name on a [MemNetwork], the TCP peer answered
// with ECONNREFUSED, or a [Faults] controller refuses dials to the target.
// Dial errors from this package wrap it, so callers test with errors.Is.
var ErrConnRefused = errors.New("transport: connection refused")

// ErrAddrInUse reports that [MemNetwork.Listen] was asked for a name that
// already has a listener.
var ErrAddrInUse = errors.New("transport: address already in use")

// ErrCut reports that a connection was cut as if its link had died, by
// [MemNetwork.CutAll] or by a [Faults] controller. Reads and writes on both
// ends fail with an error wrapping it.
var ErrCut = errors.New("transport: connection cut")

// ErrPartitioned reports that a [Faults] controller has partitioned the two
// nodes a dial would connect.
var ErrPartitioned = errors.New("transport: nodes partitioned")
