package replikv

import "sync/atomic"

// tableLoader places a load's items in new tables on a goroutine of its
// own, beside the decoding: the loading goroutine reads the RDB, checks
// its CRC and allocates each item, the loader hashes the items and places
// them, so a load keeps two cores busy instead of one. Items go over in
// batches, in order, so that of a duplicated key the last one wins as
// before.
type tableLoader struct {
	tables []table
	shift  uint
	fresh  uint32 // access word of a loaded key (just created)
	// hint is the RESIZEDB count, a hint from an untrusted peer: tables
	// are sized toward it only as keys actually arrive, four times what
	// has arrived at most, so that a lying count costs nothing.
	hint  atomic.Uint64
	keys  atomic.Int64 // distinct keys placed so far
	full  chan []slot  // batches to place
	free  chan []slot  // placed batches, for reuse
	done  chan struct{}
	batch []slot // the batch being filled
	ended bool
}

// loadBatchLen is the number of items a batch carries.
const loadBatchLen = 1024

func newTableLoader(shards int, shift uint, fresh uint32) *tableLoader {
	l := &tableLoader{
		tables: make([]table, shards),
		shift:  shift,
		fresh:  fresh,
		full:   make(chan []slot, 4),
		free:   make(chan []slot, 6),
		done:   make(chan struct{}),
		batch:  make([]slot, 0, loadBatchLen),
	}
	go l.run()
	return l
}

// add queues an item to be placed.
func (l *tableLoader) add(it slot) {
	l.batch = append(l.batch, it)
	if len(l.batch) == loadBatchLen {
		l.send()
	}
}

func (l *tableLoader) send() {
	if len(l.batch) == 0 {
		return
	}
	l.full <- l.batch
	select {
	case b := <-l.free:
		l.batch = b
	default:
		l.batch = make([]slot, 0, loadBatchLen)
	}
}

// finish waits until every item is placed and returns the tables and the
// number of distinct keys.
func (l *tableLoader) finish() ([]table, int) {
	l.send()
	l.stop()
	return l.tables, int(l.keys.Load())
}

// stop ends the loader and waits for it; the tables are then the
// caller's. It may be called more than once (a failed load stops it and
// drops the tables).
func (l *tableLoader) stop() {
	if l.ended {
		return
	}
	l.ended = true
	close(l.full)
	<-l.done
}

func (l *tableLoader) run() {
	defer close(l.done)
	keys, nextReserve := 0, 1024
	for b := range l.full {
		for _, it := range b {
			key := it.key()
			h := hashKey(key)
			t := &l.tables[h>>l.shift]
			if i := t.find(key, h); i >= 0 {
				t.replace(i, it) // a duplicate key: the last one wins
				continue
			}
			t.insertNew(it, h, l.fresh)
			keys++
			if keys == nextReserve {
				nextReserve *= 4
				if target := min(l.hint.Load(), uint64(nextReserve)); target > uint64(keys) {
					per := int(target / uint64(len(l.tables)))
					for i := range l.tables {
						l.tables[i].reserve(per + per/8 + 1)
					}
				}
			}
		}
		l.keys.Store(int64(keys))
		clear(b)
		select {
		case l.free <- b[:0]:
		default:
		}
	}
}
