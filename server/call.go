package server

import (
	"errors"
	"time"
	"unsafe"

	"github.com/replikv/replikv"
)

// keyspace is what commands read and change: the Store itself, or the Tx
// of the Store.Atomic that EXEC runs in. Both implement it with the same
// semantics.
type keyspace interface {
	Get(key string) ([]byte, error)
	View(key string, fn func(value []byte) error) error
	Exists(key string) bool
	ExpireTime(key string) (deadline time.Time, ok bool)
	SetWithOptions(key string, value []byte, opt replikv.SetOptions) (replikv.SetResult, error)
	Delete(keys ...string) (int, error)
	ExpireAt(key string, at time.Time) (bool, error)
	Persist(key string) (bool, error)
	IncrBy(key string, delta int64) (int64, error)
	Append(key string, suffix []byte) (int, error)
	Len() int
	FlushAll() error
	SetRange(key string, offset int64, value []byte) (int, error)
	GetRange(key string, start, end int64) ([]byte, error)
	SetBit(key string, offset int64, bit int) (int, error)
	GetBit(key string, offset int64) (int, error)
	BitCount(key string, r *replikv.BitRange) (int64, error)
	BitPos(key string, bit int, r *replikv.BitRange) (int64, error)
	BitOp(op replikv.BitOp, dest string, srcs ...string) (int, error)
	BitField(key string, ops []replikv.BitFieldOp) ([]replikv.BitFieldResult, error)
	BitFieldRO(key string, ops []replikv.BitFieldOp) ([]replikv.BitFieldResult, error)
	LCS(keyA, keyB string) ([]byte, error)
	LCSLen(keyA, keyB string) (int, error)
	LCSIdx(keyA, keyB string, minMatchLen int) ([]replikv.LCSMatch, int, error)
	IncrByFloatText(key string, incr string) (string, error)
	Rename(src, dst string) error
	RenameNX(src, dst string) (bool, error)
	Copy(src, dst string, replace bool) (bool, error)
	RandomKey() (string, error)
	Touch(keys ...string) int
	Dump(key string) ([]byte, error)
	Restore(key string, payload []byte, opt replikv.RestoreOptions) error
	ObjectEncoding(key string) (string, error)
	IdleTime(key string) (time.Duration, error)
	AccessFrequency(key string) (int, error)
}

var (
	_ keyspace = (*replikv.Store)(nil)
	_ keyspace = (*replikv.Tx)(nil)
)

// call is one command being executed.
type call struct {
	s    *Server
	c    *client
	cmd  *command
	args [][]byte
	db   keyspace
	tx   bool // inside EXEC: db is the transaction's Tx
	r    *reply
}

// key returns argument i as a key.
func (x *call) key(i int) string { return string(x.args[i]) }

// keys returns the arguments from i on as keys.
func (x *call) keys(i int) []string {
	ks := make([]string, 0, len(x.args)-i)
	for _, a := range x.args[i:] {
		ks = append(ks, string(a))
	}
	return ks
}

// atomic runs fn, which touches only keys, with no other command on those
// keys interleaved: inside EXEC directly on the transaction, otherwise in a
// Store.AtomicKeys of its own (which locks only the keys' shards).
// Commands that read and then write (GETDEL, MSETNX, EXPIRE … GT) use it.
func (x *call) atomic(keys []string, fn func(db keyspace) error) error {
	if x.tx {
		return fn(x.db)
	}
	return x.s.store.AtomicKeys(keys, func(tx *replikv.Tx) error { return fn(tx) })
}

// atomicIf runs fn atomically when several operations must not
// interleave with other clients', and directly on x.db otherwise.
func (x *call) atomicIf(several bool, keys []string, fn func(db keyspace) error) error {
	if several {
		return x.atomic(keys, fn)
	}
	return fn(x.db)
}

// pairKeys returns the keys of key-value pairs from argument i on.
func (x *call) pairKeys(i int) []string {
	ks := make([]string, 0, (len(x.args)-i)/2)
	for ; i < len(x.args); i += 2 {
		ks = append(ks, string(x.args[i]))
	}
	return ks
}

// nowMs returns the store's clock in unix milliseconds.
func (x *call) nowMs() int64 { return x.s.now().UnixMilli() }

// get reads key, counting hits and misses. A missing key is (nil, false,
// nil); other errors are the store's.
func (x *call) get(db keyspace, key string) ([]byte, bool, error) {
	v, err := db.Get(key)
	switch {
	case err == nil:
		x.s.stats.hits.Add(1)
		return v, true, nil
	case errors.Is(err, replikv.ErrNotFound):
		x.s.stats.misses.Add(1)
		return nil, false, nil
	}
	return nil, false, err
}

// bulkValue replies key's value as a bulk string, copied from the store
// straight into the reply, or null when there is none; it counts the hit
// or miss and returns the store's error without replying.
func (x *call) bulkValue(db keyspace, key []byte) error {
	found, err := x.view(db, unsafe.String(unsafe.SliceData(key), len(key)), func(v []byte) { x.r.bulk(v) })
	if err == nil && !found {
		x.r.null()
	}
	return err
}

// view calls fn with key's value in place (Store.View, Tx.View) and
// counts the hit or miss; a missing key is no error.
func (x *call) view(db keyspace, key string, fn func(v []byte)) (found bool, err error) {
	err = db.View(key, func(v []byte) error {
		fn(v)
		return nil
	})
	switch {
	case err == nil:
		x.s.stats.hits.Add(1)
		return true, nil
	case errors.Is(err, replikv.ErrNotFound):
		x.s.stats.misses.Add(1)
		return false, nil
	}
	return false, err
}

// fail writes the Redis error reply for an error from the store.
func (x *call) fail(err error) { x.r.err(storeError(err)) }

// storeError maps an error of the Store to the text of Redis's reply.
func storeError(err error) string {
	switch {
	case errors.Is(err, replikv.ErrReadOnly):
		return errReadOnly
	case errors.Is(err, replikv.ErrOOM):
		return errOOM
	case errors.Is(err, replikv.ErrNoReplicas):
		return "NOREPLICAS Not enough good replicas to write."
	case errors.Is(err, replikv.ErrSyncing):
		return errMasterDown
	case errors.Is(err, replikv.ErrNotInteger):
		return errNotInteger
	case errors.Is(err, replikv.ErrOverflow):
		return errOverflow
	case errors.Is(err, replikv.ErrTooLarge):
		return errTooLarge
	case errors.Is(err, replikv.ErrClosed):
		return "ERR server is shutting down"
	}
	return "ERR " + err.Error()
}

// unixMs is a deadline in unix milliseconds, 0 for none (the zero time).
func unixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
